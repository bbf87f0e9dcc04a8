"""``default_collate`` (a list of samples → one batch) and ``default_convert`` (one sample → tensors), as PyTorch.

A batch keeps the structure of its samples, field by field:

=================================  ==========================================================
sample                              batch
=================================  ==========================================================
Tensor / NumPy array                Tensor stacked along a new dim 0 (dtype kept)
NumPy scalar                        1-D Tensor of its dtype
bool / int / float                  1-D Tensor, bool / int64 / float64
str, bytes                          the list of samples
dict (any mapping)                  the same mapping type, each key collated
namedtuple                          the same namedtuple, each field collated
tuple                               a list, one collated entry per position
list (any sequence)                 the same sequence type, one entry per position
=================================  ==========================================================

Sequences in one batch must have the same length; anything else (an array of strings or
objects, an arbitrary object) raises TypeError.
"""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_NOT_NUMERIC = "SaUO"   # NumPy dtype kinds that make no tensor: bytes, strings, objects


def _error(elem) -> TypeError:
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                     f"found {type(elem)}")


def _numpy_batch(batch):
    elem = batch[0]
    if elem.dtype.kind in _NOT_NUMERIC:
        raise _error(elem)
    return Tensor._make(np.stack(batch) if isinstance(elem, np.ndarray) else np.asarray(batch))


def _leaf(batch):
    """The batch of tensors, arrays or numbers (None when the samples are none of these)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._make(np.stack([s._data for s in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        return _numpy_batch(batch)
    if isinstance(elem, float):
        return Tensor._make(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):          # bool too (a bool batch stays bool)
        return Tensor._make(np.asarray(batch, dtype=np.bool_ if isinstance(elem, bool) else np.int64))
    return None


def _rebuild(elem, values):
    """A container of ``elem``'s type holding ``values`` (a plain dict / list when the type can't be built)."""
    if isinstance(elem, collections.abc.Mapping):
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        try:
            return type(elem)(values)
        except TypeError:
            return dict(values)
    if isinstance(elem, tuple):
        return type(elem)(*values) if hasattr(elem, "_fields") else list(values)
    if isinstance(elem, collections.abc.MutableSequence):
        clone = copy.copy(elem)
        clone[:] = values
        return clone
    try:
        return type(elem)(values)
    except TypeError:
        return list(values)


def default_collate(batch):
    """Collate a list of samples into a batch (the table in the module docstring)."""
    leaf = _leaf(batch)
    if leaf is not None:
        return leaf
    elem = batch[0]
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild(elem, {key: default_collate([s[key] for s in batch]) for key in elem})
    if isinstance(elem, collections.abc.Sequence):
        return _collate_fields(elem, batch)
    raise _error(elem)


def _collate_fields(elem, batch):
    """Sequences of equal length collated field by field, rebuilt as ``elem``'s kind of sequence."""
    size = len(elem)
    if any(len(s) != size for s in batch):
        raise RuntimeError("default_collate: each element in list of batch should be of equal size, got "
                           f"lengths {sorted({len(s) for s in batch})}")
    return _rebuild(elem, [default_collate(list(field)) for field in zip(*batch)])


def default_convert(data):
    """One sample with its NumPy arrays and scalars made Tensors (numeric ones), structure kept; tuples become
    lists (the DataLoader's conversion when ``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        return data if data.dtype.kind in _NOT_NUMERIC else Tensor._make(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data
