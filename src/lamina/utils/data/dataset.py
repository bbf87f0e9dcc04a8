"""``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset`` and ``random_split``.

A dataset maps an index to a sample. Datasets held in memory (``TensorDataset`` and
subsets of it) also accept an integer *array* of indices and return the whole batch
at once, so a DataLoader gathers a batch with one fancy-indexing call instead of a
Python loop over samples.
"""
from __future__ import annotations

import bisect
import math
import warnings

import numpy as np

from ...backend import Generator, rng
from ...tensor import Tensor, as_tensor


class Dataset:
    """Base class: override ``__getitem__`` and ``__len__``.

    Set ``batch_indexable = True`` when ``__getitem__`` also accepts an int array and returns
    the collated batch (the DataLoader then skips per-sample collation)."""

    batch_indexable = False

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the i-th rows of each tensor (arrays are wrapped without copying)."""

    batch_indexable = True

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else as_tensor(np.asarray(t)) for t in tensors)
        n = len(self.tensors[0])
        for i, t in enumerate(self.tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(f"TensorDataset: tensor {i} has shape {tuple(t.shape)} but tensor 0 has {n} rows; "
                                 "every tensor needs the same size in dim 0")

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index._data
        return tuple(Tensor._make(t._data[index]) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_indexable = getattr(dataset, "batch_indexable", False)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index._data
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[self.indices[np.asarray(index)]]
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self):
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for length {len(self)}")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][int(index - start)]


def _fraction_counts(n: int, fractions: list) -> list:
    """Counts floor(n·f) for each fraction, the samples left over given one each from the first part on."""
    for i, f in enumerate(fractions):
        if not 0 <= f <= 1:
            raise ValueError(f"random_split: fraction {f} at index {i} is not between 0 and 1")
    counts = [int(math.floor(n * f)) for f in fractions]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    for i, c in enumerate(counts):
        if c == 0:
            warnings.warn(f"random_split: length of split at index {i} is 0; this split will be empty",
                          stacklevel=3)
    return counts


def random_split(dataset, lengths, generator: Generator | None = None):
    """Split into non-overlapping random subsets; ``lengths`` are counts summing to len(dataset), or fractions
    summing to 1 (each part gets floor(n·f) samples, the remainder going one each to the first parts)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _fraction_counts(n, lengths)
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)} but the dataset has {n} samples")
    perm = rng(generator).permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + k]))
        start += k
    return out
