"""Word sampling for word2vec: subsampling of frequent words and the negative-sampling distribution.

Mikolov et al. 2013, "Distributed Representations of Words and Phrases and their
Compositionality": frequent words are randomly dropped from the corpus (subsampling), and
negative words are drawn from the unigram distribution raised to the 3/4 power.
"""
from __future__ import annotations

import math

import numpy as np

from ._util import as_index_array, check_int, make_rng

_VARIANTS = ("word2vec", "paper")


def _check_counts(counts, op: str) -> np.ndarray:
    c = np.asarray(counts)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"{op}: counts must be a non-empty 1-D array (one count per word), got shape {tuple(c.shape)}")
    if c.dtype.kind not in "iuf":
        raise TypeError(f"{op}: counts must be numbers, got dtype {c.dtype}")
    c = c.astype(np.float64)
    if not np.all(np.isfinite(c)) or c.min() < 0:
        raise ValueError(f"{op}: counts must be finite and >= 0")
    if not c.any():
        raise ValueError(f"{op}: counts are all zero; at least one word must have a positive count")
    return c


def keep_probabilities(counts, t: float = 1e-5, variant: str = "word2vec") -> np.ndarray:
    """Probability of keeping each word when subsampling, with ``f = counts / counts.sum()``.

    - ``"word2vec"`` (default; the reference C tool and gensim): ``keep = sqrt(t/f) + t/f``.
    - ``"paper"`` (Mikolov et al. 2013, eq. 5, discard with ``1 - sqrt(t/f)``): ``keep = sqrt(t/f)``.

    Both are capped at 1; words with count 0 get 1. ``t = 0`` turns subsampling off (all 1).
    """
    op = "keep_probabilities"
    c = _check_counts(counts, op)
    if not isinstance(t, (int, float, np.floating, np.integer)) or not math.isfinite(t) or t < 0:
        raise ValueError(f"{op}: t must be a finite number >= 0, got {t!r}")
    if variant not in _VARIANTS:
        raise ValueError(f"{op}: variant must be one of {_VARIANTS}, got {variant!r}")
    if t == 0:
        return np.ones_like(c)
    f = c / c.sum()
    with np.errstate(divide="ignore"):
        ratio = np.where(f > 0, t / np.where(f > 0, f, 1.0), np.inf)
    keep = np.sqrt(ratio) + ratio if variant == "word2vec" else np.sqrt(ratio)
    return np.minimum(keep, 1.0)


def subsample(data, counts, t: float = 1e-5, seed=None, variant: str = "word2vec") -> np.ndarray:
    """``data`` (word indices) with each occurrence of word ``w`` kept with probability ``keep[w]``.

    ``keep`` is :func:`keep_probabilities` of ``counts`` (index-aligned with the vocabulary, e.g.
    ``vocab.counts``). Returns a new int64 array; the order of the kept words is unchanged.
    """
    op = "subsample"
    arr = as_index_array(data, op)
    keep = keep_probabilities(counts, t, variant)
    if arr.size and int(arr.max()) >= keep.size:
        raise ValueError(f"{op}: data holds index {int(arr.max())} but counts has only {keep.size} entries")
    rng = make_rng(seed, op)
    return arr[rng.random(arr.size) < keep[arr]]


def unigram_table(counts, power: float = 0.75) -> np.ndarray:
    """Negative-sampling distribution ``P(w) = counts[w]**power / sum(counts**power)`` (float64, sums to 1).

    Words with count 0 get probability 0. Set ``counts[0] = 0`` to never draw ``UNK``.
    """
    op = "unigram_table"
    c = _check_counts(counts, op)
    if not isinstance(power, (int, float, np.floating, np.integer)) or not math.isfinite(power):
        raise ValueError(f"{op}: power must be a finite number, got {power!r}")
    w = np.zeros_like(c)
    pos = c > 0
    w[pos] = c[pos] ** power
    return w / w.sum()


class NegativeSampler:
    """Draws word indices from :func:`unigram_table` ``(counts, power)``, vectorised.

    Exact (default): ``sample(shape)`` draws uniform numbers ``u`` and returns
    ``searchsorted(cdf, u, 'right')``, the first word whose cumulative probability exceeds ``u``
    (so words with probability 0 are never drawn); about 13 M draws/s for 50,000 words.

    ``table_size=M`` (word2vec C uses 1e8): precompute the ``M`` quantiles of the distribution
    once (word ``w`` fills about ``M * P(w)`` slots), then a draw is one random slot, about 5x
    faster. The distribution is then rounded to multiples of ``1/M``: a word with ``P(w) < 1/M``
    may get no slot.

    >>> NegativeSampler([0, 5, 1], seed=0).sample((2, 3)).shape
    (2, 3)
    """

    def __init__(self, counts, power: float = 0.75, seed=None, table_size: int | None = None):
        self.probs = unigram_table(counts, power)
        self.power = power
        self._cdf = np.cumsum(self.probs)
        self._last = int(np.flatnonzero(self.probs)[-1])  # guards against u*total rounding up to total
        self._rng = make_rng(seed, "NegativeSampler")
        self.table = None
        if table_size is not None:
            m = check_int(table_size, "table_size", "NegativeSampler")
            quantiles = (np.arange(m, dtype=np.float64) + 0.5) * (self._cdf[-1] / m)
            idx = np.minimum(np.searchsorted(self._cdf, quantiles, side="right"), self._last)
            self.table = idx.astype(np.int32 if self._last < 2**31 else np.int64)

    def __len__(self) -> int:
        return self.probs.size

    def sample(self, shape) -> np.ndarray:
        """An int64 array of the given shape (int or tuple) of independently drawn word indices."""
        if self.table is not None:
            slots = self._rng.integers(0, self.table.size, size=shape)
            return np.asarray(self.table[slots], dtype=np.int64)
        u = np.asarray(self._rng.random(shape)) * self._cdf[-1]
        idx = np.asarray(np.searchsorted(self._cdf, u, side="right"), dtype=np.int64)
        return np.minimum(idx, self._last, out=idx)

    __call__ = sample

    def __repr__(self) -> str:
        table = "" if self.table is None else f", table_size={self.table.size}"
        return f"NegativeSampler(num_words={self.probs.size}, power={self.power}{table})"
