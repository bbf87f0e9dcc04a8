"""Samplers: the order in which a ``DataLoader`` reads a dataset, as in ``torch.utils.data``.

A sampler is an iterable of dataset indices with a length; ``BatchSampler`` groups one into
lists of indices.  lamina's samplers also draw their whole order at once as an int64 array
(``_indices()``), so a DataLoader over a batch-indexable dataset never loops over samples in
Python; ``__iter__`` yields the same indices as ints.

Random draws come from ``generator`` (a ``lamina.Generator``).  Without one, ``RandomSampler``
takes a fresh seed from lamina's global generator each epoch (as PyTorch does), so
``lamina.manual_seed`` makes the order reproducible; the other samplers draw from the global
generator directly.
"""
from __future__ import annotations

import numbers

import numpy as np

from ...backend import Generator, rng

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


def _positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _boolean(owner: str, name: str, value, error=ValueError) -> bool:
    if not isinstance(value, bool):
        raise error(f"{owner}: {name} should be a boolean value, but got {name}={value!r}")
    return value


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``.  lamina's own samplers
    define ``_indices()`` instead (all indices as an int64 array), which ``__iter__`` yields."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        order = vector_order(self)
        if order is None:
            raise TypeError(f"{type(self).__name__} must define __iter__ (Sampler is a base class)")
        return iter(order.tolist())


def vector_order(sampler) -> np.ndarray | None:
    """The sampler's whole order as an int64 array when it draws one at once (``_indices`` and the base
    ``__iter__``: a subclass that overrides ``__iter__`` is iterated), else None."""
    indices = getattr(sampler, "_indices", None)
    if indices is None or type(sampler).__iter__ is not Sampler.__iter__:
        return None
    return indices()


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices (``num_samples`` > len: whole permutations, then part of one), or,
    with ``replacement``, ``num_samples`` indices drawn uniformly."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None):
        self.data_source = data_source
        self.replacement = _boolean("RandomSampler", "replacement", replacement, TypeError)
        self._num_samples = num_samples
        self.generator = generator
        _positive_int("RandomSampler", "num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        g = rng(self.generator) if self.generator is not None else \
            np.random.default_rng(int(rng().integers(0, 2**63 - 1)))
        if self.replacement:
            return g.integers(0, n, size=k, dtype=np.int64)
        parts = [g.permutation(n) for _ in range(k // n)] + ([g.permutation(n)[:k % n]] if k % n else [])
        return np.concatenate(parts).astype(np.int64)

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order."""

    def __init__(self, indices, generator: Generator | None = None):
        self.indices, self.generator = indices, generator

    def _indices(self) -> np.ndarray:
        indices = np.asarray(self.indices, dtype=np.int64)
        return indices[rng(self.generator).permutation(len(indices))]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices i drawn with probability weights[i] / Σ weights (with replacement by default;
    without it each draw renormalises over the indices not drawn yet, like ``torch.multinomial``)."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator: Generator | None = None):
        self.num_samples = _positive_int("WeightedRandomSampler", "num_samples", num_samples)
        self.replacement = _boolean("WeightedRandomSampler", "replacement", replacement)
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                             f"from {np.count_nonzero(w)} indices of non-zero weight")
        self.weights, self.generator = w, generator

    def _indices(self) -> np.ndarray:
        return rng(self.generator).choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                                          p=self.weights / self.weights.sum()).astype(np.int64)

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (any iterable of indices); the last one shorter, or
    dropped with ``drop_last``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.sampler = sampler
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        self.drop_last = _boolean("BatchSampler", "drop_last", drop_last)

    def _batches(self) -> list:
        """The batches as index arrays (one draw of the sampler's order when it has ``_indices``)."""
        order = vector_order(self.sampler)
        if order is None:
            return [np.asarray(b) for b in self._chunks(iter(self.sampler))]
        bs = self.batch_size
        stop = len(order) - (len(order) % bs if self.drop_last else 0)
        return [order[i:i + bs] for i in range(0, stop, bs)]

    def _chunks(self, it):
        batch = []
        for i in it:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __iter__(self):
        return iter([b.tolist() for b in self._batches()])

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
