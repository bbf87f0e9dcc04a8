"""lamina.utils.data splits (60/20/20, 80/10/10), k-fold splitters vs scikit-learn, cross_validate."""

import warnings

import numpy as np
import pytest
import torch
from sklearn import model_selection as sk_ms

import lamina
from lamina.datasets import digits
from lamina.utils.data import (
    CVResult,
    KFold,
    StratifiedKFold,
    cross_validate,
    split_sizes,
    train_val_test_indices,
    train_val_test_split,
)


# ----------------------------------------------------------------------------- sizes
@pytest.mark.parametrize("ratios", [(0.6, 0.2, 0.2), (0.8, 0.1, 0.1)])
@pytest.mark.parametrize("n", [0, 1, 7, 10, 99, 1797, 60000])
def test_split_sizes_follow_the_ratios(ratios, n):
    sizes = split_sizes(n, ratios)
    assert sizes.sum() == n
    assert np.all(np.abs(sizes - np.asarray(ratios) * n) < 1)


def test_split_sizes_exact_cases_and_errors():
    np.testing.assert_array_equal(split_sizes(100, (0.6, 0.2, 0.2)), [60, 20, 20])
    np.testing.assert_array_equal(split_sizes(1000, (0.8, 0.1, 0.1)), [800, 100, 100])
    np.testing.assert_array_equal(split_sizes(1797, (0.6, 0.2, 0.2)), [1078, 360, 359])
    np.testing.assert_array_equal(split_sizes(100, (0.29, 0.36, 0.35)), [29, 36, 35])
    with pytest.raises(ValueError, match="sum to 1"):
        split_sizes(10, (0.6, 0.2, 0.1))
    with pytest.raises(ValueError, match="non-negative"):
        split_sizes(10, (1.2, -0.2, 0.0))
    with pytest.raises(ValueError, match="3 entries"):
        train_val_test_indices(10, (0.5, 0.5))


# ----------------------------------------------------------------------------- indices
def test_indices_partition_and_reproducibility():
    tr, va, te = train_val_test_indices(1000, (0.8, 0.1, 0.1), seed=0)
    assert (len(tr), len(va), len(te)) == (800, 100, 100)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(1000))
    assert tr.dtype == np.int64
    again = train_val_test_indices(1000, (0.8, 0.1, 0.1), seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    other = train_val_test_indices(1000, (0.8, 0.1, 0.1), seed=1)
    assert not np.array_equal(tr, other[0])
    assert not np.all(np.diff(tr) > 0)  # shuffled parts come in random order


def test_indices_without_shuffle_cut_in_order():
    tr, va, te = train_val_test_indices(10, shuffle=False)
    np.testing.assert_array_equal(tr, np.arange(6))
    np.testing.assert_array_equal(va, [6, 7])
    np.testing.assert_array_equal(te, [8, 9])


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("ratios", [(0.6, 0.2, 0.2), (0.8, 0.1, 0.1)])
def test_stratified_parts_keep_class_shares(shuffle, ratios):
    y = np.repeat([0, 1, 2, 3], [500, 300, 150, 50])[np.random.default_rng(0).permutation(1000)]
    parts = train_val_test_indices(1000, ratios, stratify=y, seed=3, shuffle=shuffle)
    counts = np.bincount(y)
    for part, ratio in zip(parts, ratios):
        assert np.all(np.abs(np.bincount(y[part], minlength=4) - ratio * counts) <= 1.0)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(1000))


def test_stratify_accepts_one_hot_rows():
    y = np.random.default_rng(1).integers(0, 3, 90)
    a = train_val_test_indices(90, stratify=y, seed=5)
    b = train_val_test_indices(90, stratify=np.eye(3)[y], seed=5)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    with pytest.raises(ValueError, match="labels have 3 entries but there are 90 samples"):
        train_val_test_indices(90, stratify=[0, 1, 2])


# ----------------------------------------------------------------------------- arrays
def test_split_arrays_keep_rows_aligned_in_sklearn_order():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100) * 10
    names = [f"s{i}" for i in range(100)]
    X_tr, X_va, X_te, y_tr, y_va, y_te, n_tr, n_va, n_te = train_val_test_split(X, y, names, seed=4)
    assert (len(X_tr), len(X_va), len(X_te)) == (60, 20, 20)
    for Xp, yp, npart in ((X_tr, y_tr, n_tr), (X_va, y_va, n_va), (X_te, y_te, n_te)):
        np.testing.assert_array_equal(Xp[:, 0] * 5, yp)
        assert [f"s{v // 10}" for v in yp] == list(npart)


def test_split_digits_stratified_60_20_20():
    X, y = digits()
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(X, y, stratify=y, seed=0)
    assert (len(y_tr), len(y_va), len(y_te)) == (1078, 360, 359)
    for part, ratio in ((y_tr, 0.6), (y_va, 0.2), (y_te, 0.2)):
        assert np.all(np.abs(np.bincount(part, minlength=10) - ratio * np.bincount(y)) <= 1.0)
    assert X_tr.dtype == np.float32 and X_tr.shape == (1078, 64)


def test_split_tensors_stay_tensors_and_errors():
    t = torch.arange(20.0).reshape(10, 2)
    tr, va, te = train_val_test_split(t, ratios=(0.8, 0.1, 0.1), seed=0)
    assert isinstance(tr, torch.Tensor) and tr.shape == (8, 2) and te.shape == (1, 2)
    lt = lamina.tensor(np.arange(20.0).reshape(10, 2))
    ltr, _, _, ytr, _, _ = train_val_test_split(lt, np.arange(10), seed=0)
    assert type(ltr).__name__ == "Tensor" and ltr.shape == (6, 2)
    np.testing.assert_array_equal(ltr.numpy()[:, 0], 2 * ytr)
    with pytest.raises(ValueError, match=r"different numbers of samples \[10, 3\]"):
        train_val_test_split(t, np.arange(3))
    with pytest.raises(ValueError, match="at least one array"):
        train_val_test_split()


# ----------------------------------------------------------------------------- KFold
@pytest.mark.parametrize("n", [10, 17, 101])
@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_kfold_equals_sklearn_without_shuffle(n, k):
    ours = list(KFold(k).split(np.zeros((n, 3))))
    ref = list(sk_ms.KFold(k).split(np.zeros((n, 3))))
    assert len(ours) == len(ref) == k
    for (tr, va), (rtr, rva) in zip(ours, ref):
        np.testing.assert_array_equal(tr, rtr)
        np.testing.assert_array_equal(va, rva)


def test_kfold_shuffle_partitions_and_is_seeded():
    folds = list(KFold(4, shuffle=True, seed=0).split(103))
    val = np.concatenate([va for _, va in folds])
    np.testing.assert_array_equal(np.sort(val), np.arange(103))  # each sample validated exactly once
    assert [len(va) for _, va in folds] == [len(va) for _, va in sk_ms.KFold(4).split(np.zeros(103))]
    for tr, va in folds:
        assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 103
    same = list(KFold(4, shuffle=True, seed=0).split(103))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, same))
    assert not np.array_equal(folds[0][1], np.arange(26))
    assert all(np.array_equal(a[1], b[1])
               for a, b in zip(folds, KFold(4, shuffle=True, random_state=0).split(103)))


def test_kfold_errors():
    with pytest.raises(ValueError, match="n_splits must be an int >= 2"):
        KFold(1)
    with pytest.raises(ValueError, match="no effect with shuffle=False"):
        KFold(3, seed=0)
    with pytest.raises(ValueError, match="n_splits=5 is greater than the number of samples 3"):
        list(KFold(5).split(np.zeros(3)))
    assert KFold(7).get_n_splits() == 7 and "n_splits=7" in repr(KFold(7))


# ----------------------------------------------------------------------------- StratifiedKFold
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3, 5])
def test_stratified_kfold_equals_sklearn_without_shuffle(seed, k):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 120))
    y = rng.choice(np.array(["cat", "dog", "emu", "yak"]), size=n, p=[0.5, 0.3, 0.15, 0.05])
    y[: 4 * k] = np.repeat(["cat", "dog", "emu", "yak"], k)[rng.permutation(4 * k)]
    ours = list(StratifiedKFold(k).split(np.zeros(n), y))
    ref = list(sk_ms.StratifiedKFold(k).split(np.zeros(n), y))
    for (tr, va), (rtr, rva) in zip(ours, ref):
        np.testing.assert_array_equal(tr, rtr)
        np.testing.assert_array_equal(va, rva)


def test_stratified_kfold_shuffle_keeps_fold_class_counts():
    y = np.repeat([0, 1, 2], [40, 25, 10])[np.random.default_rng(2).permutation(75)]
    plain = list(StratifiedKFold(5).split(75, y))
    mixed = list(StratifiedKFold(5, shuffle=True, seed=1).split(75, y))
    for (_, va), (_, vb) in zip(plain, mixed):
        np.testing.assert_array_equal(np.bincount(y[va], minlength=3), np.bincount(y[vb], minlength=3))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(plain, mixed))
    np.testing.assert_array_equal(np.sort(np.concatenate([v for _, v in mixed])), np.arange(75))


def test_stratified_kfold_errors_and_warning():
    with pytest.raises(ValueError, match="y \\(the class labels\\) is required"):
        list(StratifiedKFold(3).split(np.zeros(10)))
    with pytest.raises(ValueError, match="greater than the number of members of every class"):
        list(StratifiedKFold(4).split(6, [0, 0, 0, 1, 1, 1]))
    with pytest.warns(UserWarning, match="smallest class has only 2 members"):
        list(StratifiedKFold(3).split(8, [0, 0, 0, 0, 0, 0, 1, 1]))


# ----------------------------------------------------------------------------- cross_validate
def _nearest_centroid_accuracy(X, y):
    def fit_score(train_idx, val_idx):
        centroids = np.stack([X[train_idx][y[train_idx] == c].mean(axis=0) for c in range(10)])
        dist = ((X[val_idx][:, None, :] - centroids[None]) ** 2).sum(-1)
        return float((dist.argmin(axis=1) == y[val_idx]).mean())
    return fit_score


def test_cross_validate_real_model_on_digits():
    X, y = digits()
    result = cross_validate(_nearest_centroid_accuracy(X, y), X, y, k=5, seed=0)
    assert isinstance(result, CVResult) and result.scores.shape == (5,)
    assert 0.85 < result.mean < 1.0 and 0 <= result.std < 0.05
    assert result.mean == pytest.approx(result.scores.mean()) and result.std == pytest.approx(result.scores.std())
    assert "over 5 folds" in str(result)
    again = cross_validate(_nearest_centroid_accuracy(X, y), X, y, k=5, seed=0)
    np.testing.assert_array_equal(result.scores, again.scores)


def test_cross_validate_calls_user_function_with_each_fold():
    seen = []

    def fit_score(train_idx, val_idx):
        seen.append((train_idx, val_idx))
        return len(val_idx)

    y = np.repeat([0, 1], [12, 8])
    result = cross_validate(fit_score, np.zeros((20, 2)), y, k=4, shuffle=False)
    expected = list(StratifiedKFold(4).split(20, y))
    assert len(seen) == 4
    for (tr, va), (etr, eva) in zip(seen, expected):
        np.testing.assert_array_equal(tr, etr)
        np.testing.assert_array_equal(va, eva)
    np.testing.assert_array_equal(result.scores, [5, 5, 5, 5])
    seen.clear()
    cross_validate(fit_score, 20, k=4, shuffle=False)  # no y: plain KFold, X may be a count
    np.testing.assert_array_equal(seen[0][1], np.arange(5))
    seen.clear()
    cross_validate(fit_score, np.zeros(20), cv=sk_ms.KFold(2))
    assert len(seen) == 2


def test_cross_validate_errors_name_the_fold():
    def failing(train_idx, val_idx):
        if val_idx[0] >= 5:
            raise RuntimeError("diverged")
        return 1.0

    with pytest.raises(RuntimeError, match="diverged") as err:
        cross_validate(failing, 20, k=4, shuffle=False)
    assert "fold 2 of 4" in "".join(getattr(err.value, "__notes__", []))
    with pytest.raises(TypeError, match="fold 1 returned str"):
        cross_validate(lambda tr, va: "good", 20, k=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cross_validate(lambda tr, va: np.float32(0.5), 20, k=2).mean == 0.5
