"""lamina.preprocessing against scikit-learn (a test-only dependency), plus the defining properties: zero mean,
unit variance, [lo, hi] ranges, one 1 per one-hot block, diagonal (PCA) or identity (whitened) covariance."""

import numpy as np
import pytest
import sklearn.decomposition as sk_dec
import sklearn.preprocessing as sk_pre
import torch

import lamina
import lamina.preprocessing as P


def _data(n=60, d=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d))
    return (rng.normal(size=(n, d)) @ mix * rng.uniform(0.5, 4, d) + rng.normal(0, 5, d)).astype(dtype)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------- StandardScaler
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_mean,with_std", [(True, True), (False, True), (True, False)])
def test_standard_scaler_matches_sklearn(dtype, with_mean, with_std):
    X, X_new = _data(dtype=dtype), _data(n=7, seed=1, dtype=dtype)
    ours = P.StandardScaler(with_mean=with_mean, with_std=with_std).fit(X)
    ref = sk_pre.StandardScaler(with_mean=with_mean, with_std=with_std).fit(X)
    out = ours.transform(X_new)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref.transform(X_new), **_tol(dtype))
    np.testing.assert_allclose(ours.inverse_transform(out), ref.inverse_transform(ref.transform(X_new)), **_tol(dtype))
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=1e-6)
    if with_std:
        np.testing.assert_allclose(ours.var_, ref.var_, rtol=1e-6)
        np.testing.assert_allclose(ours.scale_, ref.scale_, rtol=1e-6)
    else:
        assert ours.scale_ is None and ref.scale_ is None
    assert ours.n_samples_seen_ == ref.n_samples_seen_ == 60 and ours.n_features_in_ == 5


def test_standard_scaler_zero_centres_and_scales_training_data():
    Z = P.StandardScaler().fit_transform(_data())
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-12)
    centred = P.StandardScaler(with_std=False).fit_transform(_data())
    np.testing.assert_allclose(centred.mean(axis=0), 0, atol=1e-12)


def test_standard_scaler_constant_feature_and_integers():
    X = np.array([[1, 5], [2, 5], [3, 5]])
    ours, ref = P.StandardScaler().fit(X), sk_pre.StandardScaler().fit(X)
    np.testing.assert_array_equal(ours.scale_, ref.scale_)
    assert ours.scale_[1] == 1.0
    out = ours.transform(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref.transform(X))
    X = np.full((4, 1), 0.1)
    assert P.StandardScaler().fit(X).scale_[0] == sk_pre.StandardScaler().fit(X).scale_[0] == 1.0


def test_standard_scaler_ignores_nan_like_sklearn():
    X = _data(n=20)
    X[[1, 5, 7], 2] = np.nan
    ours, ref = P.StandardScaler().fit(X), sk_pre.StandardScaler().fit(X)
    np.testing.assert_allclose(ours.mean_, ref.mean_)
    np.testing.assert_allclose(ours.var_, ref.var_)
    np.testing.assert_array_equal(ours.n_samples_seen_, ref.n_samples_seen_)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X))


def test_standard_scaler_partial_fit_streams_like_one_fit():
    X = _data(n=103)
    ours, ref = P.StandardScaler(), sk_pre.StandardScaler()
    for batch in np.array_split(X, 7):
        ours.partial_fit(batch)
        ref.partial_fit(batch)
    full = P.StandardScaler().fit(X)
    np.testing.assert_allclose(ours.mean_, full.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.var_, full.var_, rtol=1e-10)
    np.testing.assert_allclose(ours.var_, ref.var_, rtol=1e-10)
    assert ours.n_samples_seen_ == 103


# ----------------------------------------------------------------------------- MinMaxScaler
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("feature_range,clip", [((0, 1), False), ((-1, 1), True), ((2, 5), False)])
def test_min_max_scaler_matches_sklearn(dtype, feature_range, clip):
    X, X_new = _data(dtype=dtype), _data(n=9, seed=2, dtype=dtype) * 1.5
    ours = P.MinMaxScaler(feature_range, clip=clip).fit(X)
    ref = sk_pre.MinMaxScaler(feature_range=feature_range, clip=clip).fit(X)
    out = ours.transform(X_new)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref.transform(X_new), **_tol(dtype))
    np.testing.assert_allclose(ours.inverse_transform(out), ref.inverse_transform(ref.transform(X_new)), **_tol(dtype))
    for attr in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
        np.testing.assert_allclose(getattr(ours, attr), getattr(ref, attr), **_tol(dtype))
    train = ours.transform(X)
    np.testing.assert_allclose(train.min(axis=0), feature_range[0], atol=1e-5)
    np.testing.assert_allclose(train.max(axis=0), feature_range[1], atol=1e-5)


def test_min_max_scaler_partial_fit_constant_feature_and_bad_range():
    X = np.c_[_data(n=30)[:, :2], np.full(30, 3.0)]
    ours, ref = P.MinMaxScaler(), sk_pre.MinMaxScaler()
    for batch in np.array_split(X, 4):
        ours.partial_fit(batch)
        ref.partial_fit(batch)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X))
    assert ours.n_samples_seen_ == 30 and ours.scale_[2] == 1.0
    with pytest.raises(ValueError, match="min < max"):
        P.MinMaxScaler((1, 1))


# ----------------------------------------------------------------------------- OneHotEncoder
def test_one_hot_seven_samples_of_four_categories():
    """7 samples belonging to 4 categories -> one 4-vector per sample, a 7×4 matrix."""
    samples = np.array([["red"], ["green"], ["blue"], ["yellow"], ["green"], ["red"], ["blue"]])
    enc = P.OneHotEncoder()
    onehot = enc.fit_transform(samples)
    expected = np.array([
        [0, 0, 1, 0],   # red     (categories sorted: blue, green, red, yellow)
        [0, 1, 0, 0],   # green
        [1, 0, 0, 0],   # blue
        [0, 0, 0, 1],   # yellow
        [0, 1, 0, 0],   # green
        [0, 0, 1, 0],   # red
        [1, 0, 0, 0],   # blue
    ], dtype=np.float64)
    assert onehot.shape == (7, 4)
    np.testing.assert_array_equal(onehot, expected)
    np.testing.assert_array_equal(onehot.sum(axis=1), np.ones(7))
    np.testing.assert_array_equal(onehot, sk_pre.OneHotEncoder(sparse_output=False).fit_transform(samples))
    np.testing.assert_array_equal(enc.inverse_transform(onehot), samples)
    np.testing.assert_array_equal(enc.get_feature_names_out(["colour"]),
                                  ["colour_blue", "colour_green", "colour_red", "colour_yellow"])
    np.testing.assert_array_equal(P.OneHotEncoder().fit_transform(samples.ravel()), expected)  # 1-D: one feature


def test_one_hot_several_features_match_sklearn():
    X = np.array([[3, "a"], [1, "b"], [2, "a"], [3, "c"]], dtype=object)
    ours = P.OneHotEncoder(dtype=np.float32).fit(X)
    ref = sk_pre.OneHotEncoder(sparse_output=False, dtype=np.float32).fit(X)
    out = ours.transform(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref.transform(X))
    for a, b in zip(ours.categories_, ref.categories_):
        assert list(a) == list(b)
    np.testing.assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())
    np.testing.assert_array_equal(ours.inverse_transform(out), ref.inverse_transform(out))


def test_one_hot_integer_labels_and_given_categories():
    y = np.array([[2], [0], [1], [2]])
    np.testing.assert_array_equal(P.OneHotEncoder().fit_transform(y), np.eye(3)[[2, 0, 1, 2]])
    cats = [["z", "a", "m"]]
    ours = P.OneHotEncoder(categories=cats).fit([["a"], ["z"]])
    ref = sk_pre.OneHotEncoder(categories=cats, sparse_output=False).fit([["a"], ["z"]])
    np.testing.assert_array_equal(ours.transform([["m"], ["a"]]), ref.transform([["m"], ["a"]]))
    with pytest.raises(ValueError, match=r"unknown categories \['q'\] in column 0"):
        P.OneHotEncoder(categories=cats).fit([["q"]])
    with pytest.raises(ValueError, match="duplicate"):
        P.OneHotEncoder(categories=[["a", "a"]]).fit([["a"]])
    with pytest.raises(ValueError, match="categories has 2 entries but X has 1 features"):
        P.OneHotEncoder(categories=[["a"], ["b"]]).fit([["a"]])


def test_one_hot_unknown_categories_raise_or_ignore():
    train = np.array([["cat"], ["dog"], ["bird"]])
    with pytest.raises(ValueError, match=r"unknown categories \['cow'\] in column 0.*handle_unknown='ignore'"):
        P.OneHotEncoder().fit(train).transform([["cow"], ["dog"]])
    ours = P.OneHotEncoder(handle_unknown="ignore").fit(train)
    ref = sk_pre.OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train)
    out = ours.transform([["cow"], ["dog"]])
    np.testing.assert_array_equal(out, [[0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(out, ref.transform([["cow"], ["dog"]]))
    back = ours.inverse_transform(out)
    assert back[0, 0] is None and back[1, 0] == "dog"
    with pytest.raises(ValueError, match="all-zero block"):
        P.OneHotEncoder().fit(train).inverse_transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="handle_unknown must be"):
        P.OneHotEncoder(handle_unknown="skip")


def test_one_hot_missing_values_and_shapes():
    with pytest.raises(ValueError, match="missing value.*row 1, column 0"):
        P.OneHotEncoder().fit(np.array([["a"], [None]], dtype=object))
    with pytest.raises(ValueError, match="missing value"):
        P.OneHotEncoder().fit(np.array([[1.0], [np.nan]]))
    enc = P.OneHotEncoder().fit([["a", "x"], ["b", "y"]])
    with pytest.raises(ValueError, match="X has 1 features, but OneHotEncoder was fitted with 2 features"):
        enc.transform([["a"]])
    with pytest.raises(ValueError, match=r"expected shape \(n, 4\)"):
        enc.inverse_transform(np.zeros((2, 3)))


# ----------------------------------------------------------------------------- PCA
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_components", [None, 3, 0.9])
@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("n", [40, 400])  # 400 >= 10 * d takes the covariance (eigh) path
def test_pca_matches_sklearn(dtype, n_components, whiten, n):
    X, X_new = _data(n=n, dtype=dtype), _data(n=8, seed=5, dtype=dtype)
    ours = P.PCA(n_components, whiten=whiten).fit(X)
    ref = sk_dec.PCA(n_components, whiten=whiten, svd_solver="full").fit(X)
    assert ours.n_components_ == ref.n_components_
    for attr in ("components_", "explained_variance_", "explained_variance_ratio_", "singular_values_", "mean_"):
        np.testing.assert_allclose(getattr(ours, attr), getattr(ref, attr), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-4, atol=1e-8)
    out = ours.transform(X_new)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref.transform(X_new), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.inverse_transform(out), ref.inverse_transform(ref.transform(X_new)),
                               rtol=1e-4, atol=1e-3)


def test_pca_decorrelates_and_whitens_training_data():
    X = _data(n=500)
    Z = P.PCA().fit_transform(X)
    cov = np.cov(Z.T)
    np.testing.assert_allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-9)  # decorrelated: off-diagonal covariance 0
    assert np.all(np.diff(np.diag(cov)) <= 0)  # by decreasing variance
    W = P.PCA(whiten=True).fit_transform(X)
    np.testing.assert_allclose(np.cov(W.T), np.eye(5), atol=1e-9)  # whitened: identity covariance
    pca = P.PCA().fit(X)
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(X)), X, atol=1e-9)  # all components: exact


def test_pca_errors():
    with pytest.raises(ValueError, match=r"n_components=9 must be.*min\(n_samples, n_features\)=5"):
        P.PCA(9).fit(_data())
    with pytest.raises(ValueError, match="at least 2 samples"):
        P.PCA().fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"expected shape \(n, 2\)"):
        P.PCA(2).fit(_data()).inverse_transform(np.zeros((3, 5)))


# ----------------------------------------------------------------------------- ZCA
def test_zca_whitens_and_equals_rotated_pca_whitening():
    X, X_new = _data(n=300), _data(n=6, seed=9)
    zca = P.ZCA(eps=0).fit(X)
    np.testing.assert_allclose(np.cov(zca.transform(X).T), np.eye(5), atol=1e-9)
    np.testing.assert_allclose(zca.whitening_, zca.whitening_.T, atol=1e-12)  # symmetric W
    ref = sk_dec.PCA(whiten=True, svd_solver="full").fit(X)
    np.testing.assert_allclose(zca.transform(X_new), ref.transform(X_new) @ ref.components_, atol=1e-9)
    np.testing.assert_allclose(zca.inverse_transform(zca.transform(X_new)), X_new, atol=1e-9)
    # ZCA changes the data least among whitenings: closer to the centred data than PCA whitening
    centred = X - X.mean(axis=0)
    assert np.linalg.norm(zca.transform(X) - centred) < np.linalg.norm(ref.transform(X) - centred)


def test_zca_eps_regularises_and_singular_needs_eps():
    X = _data(n=100)
    plain, soft = P.ZCA(eps=0).fit(X), P.ZCA(eps=1.0).fit(X)
    assert np.all(np.var(soft.transform(X), axis=0, ddof=1) < 1)
    np.testing.assert_allclose(soft.inverse_transform(soft.transform(X)), X, atol=1e-9)
    np.testing.assert_allclose(plain.explained_variance_, sk_dec.PCA().fit(X).explained_variance_, rtol=1e-9)
    rank_deficient = np.c_[X[:, :2], X[:, 0] + X[:, 1]]
    with pytest.raises(ValueError, match="singular.*use eps > 0"):
        P.ZCA(eps=0).fit(rank_deficient)
    assert np.isfinite(P.ZCA(eps=1e-3).fit_transform(rank_deficient)).all()
    out32 = P.ZCA().fit(X.astype(np.float32)).transform(X.astype(np.float32))
    assert out32.dtype == np.float32
    with pytest.raises(ValueError, match="eps must be >= 0"):
        P.ZCA(eps=-1)


# ----------------------------------------------------------------------------- common behaviour
ALL = [P.StandardScaler, P.MinMaxScaler, P.OneHotEncoder, P.PCA, P.ZCA]


@pytest.mark.parametrize("cls", ALL)
def test_transform_before_fit_is_a_clear_error(cls):
    with pytest.raises(P.NotFittedError, match=rf"{cls.__name__}.transform: .*not fitted yet.*fit\(X_train\)"):
        cls().transform(np.ones((2, 3)))


@pytest.mark.parametrize("cls", [P.StandardScaler, P.MinMaxScaler, P.PCA, P.ZCA])
def test_wrong_feature_count_names_both_numbers(cls):
    model = cls().fit(_data())
    with pytest.raises(ValueError, match=rf"X has 3 features, but {cls.__name__} was fitted with 5 features"):
        model.transform(np.ones((2, 3)))


def test_input_validation_messages():
    with pytest.raises(ValueError, match=r"expected a 2-D array.*shape \(4,\).*reshape\(-1, 1\)"):
        P.StandardScaler().fit(np.arange(4.0))
    with pytest.raises(ValueError, match="infinity"):
        P.MinMaxScaler().fit(np.array([[1.0], [np.inf]]))
    with pytest.raises(TypeError, match="must be numeric"):
        P.StandardScaler().fit(np.array([["a"]]))
    with pytest.raises(ValueError, match="0 samples"):
        P.StandardScaler().fit(np.zeros((0, 2)))


@pytest.mark.parametrize("cls", ALL)
def test_state_dict_roundtrip(cls):
    X = _data() if cls is not P.OneHotEncoder else np.array([["a", 1], ["b", 2], ["a", 3]], dtype=object)
    fitted = cls().fit(X)
    clone = cls().load_state_dict(fitted.state_dict())
    np.testing.assert_array_equal(clone.transform(X), fitted.transform(X))
    assert repr(clone) == repr(fitted)
    with pytest.raises(KeyError, match="unexpected keys"):
        cls().load_state_dict({"bogus": 1})


def test_loaded_standard_scaler_keeps_streaming():
    X = _data(n=50)
    a = P.StandardScaler().partial_fit(X[:20])
    b = P.StandardScaler().load_state_dict(a.state_dict())
    a.partial_fit(X[20:])
    b.partial_fit(X[20:])
    np.testing.assert_allclose(b.var_, a.var_, rtol=1e-12)


def test_accepts_tensors():
    X = _data(dtype=np.float32)
    t = torch.tensor(X, requires_grad=True)
    np.testing.assert_array_equal(P.StandardScaler().fit_transform(t), P.StandardScaler().fit_transform(X))
    lt = lamina.tensor(X, requires_grad=True)
    out = P.PCA(2).fit(lt).transform(lt)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, P.PCA(2).fit_transform(X), rtol=1e-5, atol=1e-5)
