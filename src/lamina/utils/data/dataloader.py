"""``DataLoader``: batches from a dataset, in a sampler's order, optionally prefetched by workers.

As in PyTorch, the order comes from ``sampler`` (default: ``SequentialSampler``, or ``RandomSampler``
with ``shuffle=True``) and the batches from ``batch_sampler`` (default: ``BatchSampler(sampler,
batch_size, drop_last)``); ``batch_size=None`` turns batching off (each sample is converted by
``default_convert``).  ``sampler`` excludes ``shuffle``; ``batch_sampler`` excludes ``batch_size``,
``shuffle``, ``sampler`` and ``drop_last``.

For batch-indexable datasets (``TensorDataset``, its subsets, arrays) and the default collation a
batch is one fancy-indexing call, and lamina's samplers draw the whole order as one array. Other
datasets are read sample by sample and collated by ``collate_fn`` (default ``default_collate``).
"""
from __future__ import annotations

import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...backend import Generator
from ...tensor import Tensor
from .collate import default_collate, default_convert
from .dataset import TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, vector_order

__all__ = ["DataLoader"]


def _as_dataset(dataset):
    """A tuple or list of arrays/tensors becomes their ``TensorDataset``; anything else is the dataset."""
    if isinstance(dataset, (tuple, list)) and dataset and isinstance(dataset[0], (np.ndarray, Tensor)):
        return TensorDataset(*dataset)
    return dataset


def _check_options(batch_size, shuffle, sampler, batch_sampler, drop_last) -> None:
    """PyTorch's rules for the mutually exclusive arguments."""
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last")
    elif batch_size is None:
        if drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
    else:
        _check_batch_size(batch_size)


def _check_batch_size(batch_size) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
        raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")


def _samplers(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last, generator) -> tuple:
    """(batch_size, drop_last, sampler, batch_sampler) with PyTorch's defaults filled in: a sequential or
    random sampler, and a BatchSampler over it unless batching is off or a batch_sampler is given."""
    if batch_sampler is not None:
        batch_size, drop_last = None, False
    if sampler is None:
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    if batch_size is not None and batch_sampler is None:
        batch_sampler = BatchSampler(sampler, batch_size, drop_last)
    return batch_size, drop_last, sampler, batch_sampler


class DataLoader:
    """Iterate over a dataset in batches.

    ``shuffle`` draws a new order each epoch from ``generator`` (a ``lamina.Generator``), or, without
    one, from a generator seeded by ``seed`` or by lamina's global generator, so ``lamina.manual_seed``
    makes the order reproducible. ``num_workers > 0`` prefetches batches on threads."""

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", seed: int | None = None):
        _check_options(batch_size, shuffle, sampler, batch_sampler, drop_last)
        self.dataset = _as_dataset(dataset)
        if generator is None and seed is not None:
            generator = Generator().manual_seed(seed)
        self.generator = generator
        batch_size, drop_last, sampler, batch_sampler = _samplers(self.dataset, batch_size, shuffle, sampler,
                                                                  batch_sampler, drop_last, generator)
        self.batch_size, self.drop_last, self.shuffle = batch_size, drop_last, bool(shuffle)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn if collate_fn is not None else \
            (default_collate if batch_sampler is not None else default_convert)
        self.num_workers = int(num_workers)
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.pin_memory, self.timeout, self.worker_init_fn = pin_memory, timeout, worker_init_fn
        self.persistent_workers = persistent_workers

    def _batches(self) -> list:
        """This epoch's index batches (arrays), or single indices when batching is off."""
        if self.batch_sampler is None:
            order = vector_order(self.sampler)
            return list(iter(self.sampler)) if order is None else list(order)
        if isinstance(self.batch_sampler, BatchSampler):
            return self.batch_sampler._batches()
        return [list(b) for b in self.batch_sampler]

    def _fetch(self, idx):
        if self.batch_sampler is None:
            return self.collate_fn(self.dataset[idx.item() if isinstance(idx, np.generic) else idx])
        if getattr(self.dataset, "batch_indexable", False) and self.collate_fn is default_collate:
            batch = self.dataset[idx if isinstance(idx, np.ndarray) else np.asarray(idx, dtype=np.int64)]
            return list(batch) if type(batch) is tuple else batch    # a collated tuple is a list, as in PyTorch
        samples = [self.dataset[i.item() if isinstance(i, np.generic) else i] for i in idx]
        return self.collate_fn(samples)

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
        return len(self.sampler) if self.batch_sampler is None else len(self.batch_sampler)
