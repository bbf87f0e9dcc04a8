"""Samplers against torch.utils.data: the same orders where no randomness is involved, the same lengths,
structures and errors, and the same distributions where it is."""
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import lamina
import lamina.utils.data as lud


def _both(name, *args, **kw):
    return getattr(lud, name)(*args, **kw), getattr(tud, name)(*args, **kw)


def test_sequential_and_batch_samplers_equal_torch():
    data = list(range(11))
    ours, ref = _both("SequentialSampler", data)
    assert list(ours) == list(ref) and len(ours) == len(ref)
    for bs, drop in [(3, False), (3, True), (11, False), (20, True), (1, False)]:
        for source in (range(11), [5, 3, 8, 1]):
            a, b = lud.BatchSampler(source, bs, drop), tud.BatchSampler(source, bs, drop)
            assert list(a) == list(b) and len(a) == len(b), (bs, drop, source)
        a = lud.BatchSampler(lud.SequentialSampler(data), bs, drop)
        b = tud.BatchSampler(tud.SequentialSampler(data), bs, drop)
        assert list(a) == list(b) and len(a) == len(b)
        assert all(type(i) is int for batch in a for i in batch)


@pytest.mark.parametrize("kw", [dict(), dict(num_samples=12), dict(num_samples=3), dict(replacement=True),
                                dict(replacement=True, num_samples=40)], ids=str)
def test_random_sampler_lengths_and_counts_match_torch(kw):
    data = list(range(5))
    ours, ref = _both("RandomSampler", data, **kw)
    a, b = list(ours), list(ref)
    assert len(a) == len(b) == len(ours) == len(ref) and set(a) <= set(range(5))
    if not kw.get("replacement"):
        # whole permutations first, then distinct indices: the count of each index is the same as torch's
        assert sorted(np.bincount(a, minlength=5)) == sorted(np.bincount(b, minlength=5))
        assert sorted(a[:5]) == list(range(5)) or len(a) < 5


def test_random_sampler_generator_and_global_seed():
    data = range(20)
    g1, g2 = lamina.Generator().manual_seed(3), lamina.Generator().manual_seed(3)
    assert list(lud.RandomSampler(data, generator=g1)) == list(lud.RandomSampler(data, generator=g2))
    s = lud.RandomSampler(data)
    lamina.manual_seed(0)
    e1, e2 = list(s), list(s)
    lamina.manual_seed(0)
    assert list(s) == e1 and e1 != e2 and sorted(e1) == list(range(20))


def test_random_sampler_with_replacement_is_uniform():
    counts = np.bincount(list(lud.RandomSampler(range(4), replacement=True, num_samples=8000,
                                                generator=lamina.Generator().manual_seed(0))), minlength=4)
    np.testing.assert_allclose(counts / 8000, 0.25, atol=0.02)


def test_subset_random_sampler():
    idx = [7, 3, 9, 1]
    ours, ref = _both("SubsetRandomSampler", idx)
    assert sorted(ours) == sorted(ref) == sorted(idx) and len(ours) == len(ref) == 4


def test_weighted_random_sampler_distribution_matches_torch():
    w = [0.1, 0.0, 0.6, 0.3]
    n = 20000
    ours = np.bincount(list(lud.WeightedRandomSampler(w, n, generator=lamina.Generator().manual_seed(0))),
                       minlength=4) / n
    ref = np.bincount(list(tud.WeightedRandomSampler(w, n, generator=torch.Generator().manual_seed(0))),
                      minlength=4) / n
    np.testing.assert_allclose(ours, w, atol=0.015)
    np.testing.assert_allclose(ours, ref, atol=0.02)
    assert ours[1] == 0 and len(lud.WeightedRandomSampler(w, n)) == n
    # without replacement every index is drawn at most once; heavy ones come first more often
    firsts = [list(lud.WeightedRandomSampler(torch.tensor([1.0, 1.0, 8.0]), 3, replacement=False))
              for _ in range(300)]
    assert all(sorted(f) == [0, 1, 2] for f in firsts)
    assert np.mean([f[0] == 2 for f in firsts]) > 0.65


@pytest.mark.parametrize("name,args,error", [
    ("RandomSampler", (range(3),), None),
    ("RandomSampler", (range(3), "yes"), TypeError),
    ("RandomSampler", (range(3), False, 0), ValueError),
    ("WeightedRandomSampler", ([1.0, 2.0], 0), ValueError),
    ("WeightedRandomSampler", ([1.0, 2.0], 2, "no"), ValueError),
    ("WeightedRandomSampler", ([[1.0, 2.0]], 2), ValueError),
    ("BatchSampler", (range(3), 0, False), ValueError),
    ("BatchSampler", (range(3), True, False), ValueError),
    ("BatchSampler", (range(3), 2, None), ValueError),
])
def test_argument_errors_are_torchs(name, args, error):
    if error is None:
        _both(name, *args)
        return
    with pytest.raises(error):
        getattr(tud, name)(*args)
    with pytest.raises(error, match=name):
        getattr(lud, name)(*args)


def test_weighted_without_replacement_asks_for_too_many():
    with pytest.raises(ValueError, match="cannot draw 3 samples without replacement from 2 indices"):
        lud.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False)


def test_a_user_sampler_subclass_is_iterated():
    class Evens(lud.Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(0, self.n, 2))

        def __len__(self):
            return (self.n + 1) // 2

    assert list(lud.BatchSampler(Evens(9), 2, False)) == [[0, 2], [4, 6], [8]]
    with pytest.raises(TypeError, match="Sampler must define __iter__"):
        iter(lud.Sampler())
