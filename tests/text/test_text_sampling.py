"""Subsampling of frequent words and the unigram^0.75 negative sampler (Mikolov et al. 2013)."""
import numpy as np
import pytest

from lamina.text import NegativeSampler, keep_probabilities, subsample, unigram_table


def test_unigram_table_is_counts_to_the_power():
    counts = np.array([0, 100, 10, 1, 0, 5])
    p = unigram_table(counts)
    w = counts.astype(float) ** 0.75
    np.testing.assert_allclose(p, w / w.sum())
    assert p.dtype == np.float64 and p[0] == 0 and p[4] == 0
    np.testing.assert_allclose(unigram_table(counts, power=1.0), counts / counts.sum())
    np.testing.assert_allclose(unigram_table(counts, power=0), (counts > 0) / 4)  # 0**0 is not 1 here


@pytest.mark.parametrize(
    "counts,match", [([], "non-empty 1-D"), ([[1, 2]], "non-empty 1-D"), ([0, 0], "all zero"), ([1, -1], ">= 0")]
)
def test_counts_errors(counts, match):
    with pytest.raises(ValueError, match=match):
        unigram_table(counts)


def test_negative_sampler_matches_distribution():
    counts = np.array([0, 1000, 300, 50, 0, 7, 1, 0])
    s = NegativeSampler(counts, seed=0)
    draws = s.sample((400, 1000))
    assert draws.shape == (400, 1000) and draws.dtype == np.int64
    freq = np.bincount(draws.ravel(), minlength=counts.size) / draws.size
    assert np.all(freq[counts == 0] == 0)  # zero-count words (first, middle, last) never drawn
    np.testing.assert_allclose(freq, s.probs, atol=0.003)
    assert s(5).shape == (5,) and s.sample(()).shape == () and len(s) == counts.size


def test_negative_sampler_seeding():
    a = NegativeSampler([3, 2, 1], seed=1).sample(50)
    b = NegativeSampler([3, 2, 1], seed=1).sample(50)
    c = NegativeSampler([3, 2, 1], seed=2).sample(50)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_keep_probabilities_formulas():
    counts = np.array([0, 1_000_000, 1000, 10, 1])
    t = 1e-4
    f = counts / counts.sum()
    k = keep_probabilities(counts, t)  # word2vec C tool / gensim
    kp = keep_probabilities(counts, t, variant="paper")  # paper: discard with 1 - sqrt(t/f)
    np.testing.assert_allclose(k[1], np.sqrt(t / f[1]) + t / f[1])
    np.testing.assert_allclose(kp[1], np.sqrt(t / f[1]))
    assert k[0] == kp[0] == 1 and np.all(k[3:] == 1) and np.all(k <= 1) and np.all(kp <= k)
    assert np.all(keep_probabilities(counts, 0) == 1)
    with pytest.raises(ValueError, match="variant"):
        keep_probabilities(counts, t, variant="nope")
    with pytest.raises(ValueError, match="t must be"):
        keep_probabilities(counts, -1)


def test_subsample_drops_frequent_words():
    rng = np.random.default_rng(12345)  # not the subsampling seed: the same stream would correlate
    data = rng.choice(4, size=200_000, p=[0.9, 0.09, 0.0099, 0.0001])
    counts = np.bincount(data, minlength=4)
    out = subsample(data, counts, t=1e-3, seed=0)
    keep = keep_probabilities(counts, 1e-3)
    got = np.bincount(out, minlength=4) / counts
    np.testing.assert_allclose(got, keep, atol=0.01)
    assert got[3] == 1.0 and out.dtype == np.int64
    # the kept words keep their corpus order: out is a subsequence of data
    small = data[:3000]
    sub = subsample(small, counts, t=1e-3, seed=2)
    it = iter(small.tolist())
    assert 0 < sub.size < small.size and all(any(x == y for y in it) for x in sub.tolist())
    assert np.array_equal(subsample(data, counts, t=1e-3, seed=0), out)
    assert not np.array_equal(subsample(data, counts, t=1e-3, seed=1), out)
    assert np.array_equal(subsample(data, counts, t=0, seed=1), data)


def test_subsample_errors():
    with pytest.raises(ValueError, match="index 5 but counts has only 3"):
        subsample([0, 5], [1, 1, 1])
    with pytest.raises(TypeError, match="Vocabulary.encode"):
        subsample(["a"], [1])


def test_negative_sampler_table_mode():
    counts = np.array([0, 1000, 300, 50, 0, 7, 1, 0])
    s = NegativeSampler(counts, seed=0, table_size=100_000)
    probs = unigram_table(counts)
    table_freq = np.bincount(s.table, minlength=counts.size) / s.table.size
    np.testing.assert_allclose(table_freq, probs, atol=2e-5)  # quantised to 1/table_size
    draws = s.sample((200, 1000))
    assert draws.shape == (200, 1000) and draws.dtype == np.int64
    freq = np.bincount(draws.ravel(), minlength=counts.size) / draws.size
    assert np.all(freq[counts == 0] == 0)
    np.testing.assert_allclose(freq, probs, atol=0.004)
    assert "table_size=100000" in repr(s)
    with pytest.raises(ValueError, match="table_size must be >= 1"):
        NegativeSampler(counts, table_size=0)
