"""``DataLoader``: batches from a dataset, shuffled with a seed, optionally prefetched by workers.

For batch-indexable datasets (``TensorDataset``, its subsets, arrays) a batch is one
fancy-indexing call. Other datasets are read sample by sample and stacked by ``default_collate``.
"""
from __future__ import annotations

import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...backend import Generator, rng
from ...tensor import Tensor
from .dataset import TensorDataset

# number types of a sample -> dtype of their batch (bool first: a bool is also an Integral)
_NUMBER_DTYPES = ((bool, np.bool_), (numbers.Integral, np.int64), (numbers.Real, np.float32))


def _stack(samples) -> Tensor | None:
    """Tensors, arrays or numbers stacked along a new dim 0; None for other samples."""
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor._make(np.stack([s._data for s in samples]))
    if isinstance(first, np.ndarray):
        return Tensor._make(np.stack(samples))
    for kind, dtype in _NUMBER_DTYPES:
        if isinstance(first, kind):
            return Tensor._make(np.asarray(samples, dtype=dtype))
    return None


def default_collate(samples):
    """Stack a list of samples: tensors/arrays/numbers are stacked along a new dim 0,
    tuples and dicts are collated field by field."""
    stacked = _stack(samples)
    if stacked is not None:
        return stacked
    first = samples[0]
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple):
        return type(first)(default_collate(list(field)) for field in zip(*samples))
    if isinstance(first, list):
        return [default_collate(list(field)) for field in zip(*samples)]
    return samples


def _as_dataset(dataset):
    """A tuple or list of arrays/tensors becomes their ``TensorDataset``; anything else is the dataset."""
    if isinstance(dataset, (tuple, list)) and dataset and isinstance(dataset[0], (np.ndarray, Tensor)):
        return TensorDataset(*dataset)
    return dataset


class DataLoader:
    """Iterate over a dataset in batches.

    ``shuffle`` draws a new order each epoch from ``generator`` (a ``lamina.Generator``), or, without
    one, from a generator seeded by ``seed`` or by lamina's global generator, so ``lamina.manual_seed``
    makes the order reproducible. ``num_workers > 0`` prefetches batches on threads."""

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn=None, generator: Generator | None = None, seed: int | None = None,
                 num_workers: int = 0, sampler=None, prefetch_factor: int = 2, pin_memory: bool = False,
                 persistent_workers: bool = False):
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive")
        self.dataset = _as_dataset(dataset)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.sampler = sampler
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        if generator is None and seed is not None:
            generator = Generator().manual_seed(seed)
        self.generator = generator

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if self.sampler is not None:
            return np.asarray(list(iter(self.sampler)), dtype=np.int64)
        if not self.shuffle:
            return np.arange(n)
        if self.generator is not None:
            return rng(self.generator).permutation(n)
        # like PyTorch: a fresh seed from the global generator each epoch
        seed = int(rng().integers(0, 2**63 - 1))
        return np.random.default_rng(seed).permutation(n)

    def _batches(self):
        order = self._order()
        if self.batch_size is None:
            return [i for i in order]
        bs = self.batch_size
        stop = len(order) - (len(order) % bs if self.drop_last else 0)
        return [order[i:i + bs] for i in range(0, stop, bs)]

    def _fetch(self, idx):
        if self.batch_size is None:
            sample = self.dataset[int(idx)]
            return self.collate_fn(sample) if self.collate_fn else sample
        if getattr(self.dataset, "batch_indexable", False) and self.collate_fn is None:
            return self.dataset[idx]
        samples = [self.dataset[int(i)] for i in idx]
        return (self.collate_fn or default_collate)(samples)

    def __iter__(self):
        batches = self._batches()
        if self.num_workers <= 0:
            for idx in batches:
                yield self._fetch(idx)
            return
        ahead = max(1, self.num_workers * self.prefetch_factor)
        with ThreadPoolExecutor(self.num_workers) as pool:
            futures = [pool.submit(self._fetch, idx) for idx in batches[:ahead]]
            for k in range(len(batches)):
                batch = futures[k].result()
                if k + ahead < len(batches):
                    futures.append(pool.submit(self._fetch, batches[k + ahead]))
                futures[k] = None
                yield batch

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class SequentialSampler:
    def __init__(self, data_source):
        self.n = len(data_source)

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class RandomSampler:
    def __init__(self, data_source, generator: Generator | None = None):
        self.n, self.generator = len(data_source), generator

    def __iter__(self):
        return iter(rng(self.generator).permutation(self.n).tolist())

    def __len__(self):
        return self.n


class SubsetRandomSampler:
    def __init__(self, indices, generator: Generator | None = None):
        self.indices, self.generator = np.asarray(indices), generator

    def __iter__(self):
        return iter(self.indices[rng(self.generator).permutation(len(self.indices))].tolist())

    def __len__(self):
        return len(self.indices)
