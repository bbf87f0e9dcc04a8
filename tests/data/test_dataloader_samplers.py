"""DataLoader with sampler=, batch_sampler=, collate_fn= as torch's: the same batches for the same index order,
the same lengths, torch's errors for the mutually exclusive arguments; batch-indexable datasets keep their
one-call fast path; random_split with fractional lengths gives torch's lengths."""
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import lamina
import lamina.utils.data as lud


class Records:
    """A per-sample dataset of dicts (works with both libraries: NumPy values only)."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "y": i}


def _as_lists(batches):
    return [{k: v.tolist() for k, v in b.items()} if isinstance(b, dict) else [t.tolist() for t in b]
            for b in batches]


@pytest.mark.parametrize("kw", [
    dict(batch_size=3),
    dict(batch_size=4, drop_last=True),
    dict(sampler=[9, 2, 4, 4, 0], batch_size=2),
    dict(batch_sampler=[[1, 2], [7], [3, 3, 0]]),
    dict(batch_size=None),
    dict(batch_size=3, collate_fn=lambda b: [s["y"] for s in b]),
], ids=lambda kw: ",".join(kw))
def test_batches_equal_torch(kw):
    ours = list(lud.DataLoader(Records(), **kw))
    ref = list(tud.DataLoader(Records(), **kw))
    assert len(lud.DataLoader(Records(), **kw)) == len(tud.DataLoader(Records(), **kw)) == len(ours)
    if "collate_fn" in kw:
        assert ours == ref
    elif kw.get("batch_size", 1) is None:
        assert [{k: np.asarray(v).tolist() for k, v in s.items()} for s in ours] == \
            [{k: np.asarray(v).tolist() for k, v in s.items()} for s in ref]
    else:
        assert _as_lists(ours) == _as_lists(ref)


def test_lamina_samplers_drive_the_loader():
    lamina.manual_seed(0)
    g = lamina.Generator().manual_seed(1)
    dl = lud.DataLoader(Records(12), batch_sampler=lud.BatchSampler(lud.RandomSampler(range(12), generator=g),
                                                                     5, drop_last=True))
    ys = [b["y"].tolist() for b in dl]
    assert [len(y) for y in ys] == [5, 5] and len(set(sum(ys, []))) == 10 and len(dl) == 2
    w = lud.WeightedRandomSampler([0.0] * 6 + [1.0] * 6, 30, generator=g)
    dl = lud.DataLoader(Records(12), batch_size=7, sampler=w)
    ys = np.concatenate([b["y"].numpy() for b in dl])
    assert len(ys) == 30 and ys.min() >= 6 and len(dl) == 5


@pytest.mark.parametrize("kw", [
    dict(sampler=[0, 1], shuffle=True),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_size=None, drop_last=True),
], ids=lambda kw: ",".join(kw))
def test_mutually_exclusive_arguments_raise_torchs_error(kw):
    with pytest.raises(ValueError) as ref:
        tud.DataLoader(Records(), **kw)
    with pytest.raises(ValueError) as ours:
        lud.DataLoader(Records(), **kw)
    assert str(ours.value) == "DataLoader: " + str(ref.value)


class CountingDataset(lud.TensorDataset):
    calls = 0

    def __getitem__(self, index):
        CountingDataset.calls += 1
        return super().__getitem__(index)


@pytest.mark.parametrize("kw", [dict(batch_size=4), dict(batch_size=4, shuffle=True, seed=0),
                                dict(batch_size=4, sampler=lud.SubsetRandomSampler(range(8))),
                                dict(batch_sampler=lud.BatchSampler(lud.SequentialSampler(range(10)), 5, False))],
                         ids=lambda kw: ",".join(kw))
def test_tensor_dataset_keeps_one_indexing_call_per_batch(kw):
    ds = CountingDataset(lamina.arange(10).float().unsqueeze(1), lamina.arange(10))
    CountingDataset.calls = 0
    batches = list(lud.DataLoader(ds, **kw))
    assert CountingDataset.calls == len(batches)
    assert isinstance(batches[0], list) and batches[0][0].shape[1:] == (1,)   # torch yields a list too


@pytest.mark.parametrize("n,lengths", [(10, [0.8, 0.2]), (11, [0.5, 0.3, 0.2]), (7, [0.25, 0.25, 0.25, 0.25]),
                                       (5, [1.0, 0.0]), (9, [4, 5])])
def test_random_split_lengths_equal_torch(n, lengths):
    with pytest.warns(UserWarning) if 0.0 in lengths else _nothing():
        ref = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match="split at index 1 is 0") if 0.0 in lengths else _nothing():
        ours = lud.random_split(lud.TensorDataset(lamina.arange(n)), lengths,
                                generator=lamina.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in ref]
    drawn = sorted(int(i) for s in ours for i in s.indices)
    assert drawn == list(range(n))


def test_random_split_errors():
    with pytest.raises(ValueError, match="sum to 9 but the dataset has 10"):
        lud.random_split(range(10), [4, 5])
    with pytest.raises(ValueError, match="fraction 1.5 at index 0 is not between 0 and 1"):
        lud.random_split(range(10), [1.5, -0.5])


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
