import numpy as np
import pytest

import lamina as L
from lamina.utils.data import DataLoader, Dataset, TensorDataset, random_split


def _ds(n=10):
    return TensorDataset(L.arange(n).float().unsqueeze(1), L.arange(n))


def test_batches_cover_dataset_in_order_without_shuffle():
    batches = list(DataLoader(_ds(), batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 1) and len(DataLoader(_ds(), batch_size=4)) == 3


def test_drop_last_and_len():
    dl = DataLoader(_ds(), batch_size=4, drop_last=True)
    assert len(dl) == 2 and [len(b[1]) for b in dl] == [4, 4]


def test_shuffle_with_seed_is_reproducible_and_a_permutation():
    a = [b[1].tolist() for b in DataLoader(_ds(), batch_size=3, shuffle=True, seed=7)]
    b = [b[1].tolist() for b in DataLoader(_ds(), batch_size=3, shuffle=True, seed=7)]
    assert a == b and sorted(sum(a, [])) == list(range(10)) and sum(a, []) != list(range(10))


def test_shuffle_follows_manual_seed_and_changes_each_epoch():
    L.manual_seed(1)
    dl = DataLoader(_ds(), batch_size=10, shuffle=True)
    e1, e2 = next(iter(dl))[1].tolist(), next(iter(dl))[1].tolist()
    L.manual_seed(1)
    assert next(iter(dl))[1].tolist() == e1 and e1 != e2


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i


def test_per_sample_dataset_is_collated():
    (x, y), *_ = DataLoader(Squares(), batch_size=5)
    assert x.shape == (5, 2) and y.tolist() == [0, 1, 2, 3, 4] and y.dtype == L.int64


def test_workers_prefetch_gives_same_batches():
    a = [b[1].tolist() for b in DataLoader(_ds(50), batch_size=7, shuffle=True, seed=3)]
    b = [b[1].tolist() for b in DataLoader(_ds(50), batch_size=7, shuffle=True, seed=3, num_workers=2)]
    assert a == b


def test_random_split_fractions_and_errors():
    tr, va = random_split(_ds(), [0.8, 0.2], generator=L.Generator().manual_seed(0))
    assert len(tr) == 8 and len(va) == 2
    assert sorted(tr[np.arange(8)][1].tolist() + va[np.arange(2)][1].tolist()) == list(range(10))
    with pytest.raises(ValueError, match="sum to 9 but the dataset has 10"):
        random_split(_ds(), [4, 5])


def test_tensor_dataset_checks_sizes():
    with pytest.raises(ValueError, match="tensor 1 has shape \\(3,\\) but tensor 0 has 10 rows"):
        TensorDataset(L.zeros(10, 2), L.zeros(3))
