"""``lamina.Size``: the type of ``Tensor.shape`` and ``Tensor.size()``, PyTorch's ``torch.Size``.

A tuple of ints (equal to, and hashing like, the plain tuple) with ``numel()`` and the repr
``lamina.Size([2, 3])``.  Concatenating with a tuple (either side), repeating, and slicing
give a Size, as in PyTorch; indexing gives an int.
"""
from __future__ import annotations

import math
import operator

__all__ = ["Size"]

_new = tuple.__new__
_getitem = tuple.__getitem__


class Size(tuple):
    """``Size(iterable of ints)``; ``numel()`` is their product (1 for ``Size([])``)."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        items = tuple(sizes)
        for i, s in enumerate(items):
            try:
                operator.index(s)
            except TypeError:
                raise TypeError(f"lamina.Size() takes an iterable of 'int' (item {i} is "
                                f"'{type(s).__name__}')") from None
        return _new(cls, (operator.index(s) for s in items))

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __repr__(self) -> str:
        return f"lamina.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, index):
        item = _getitem(self, index)
        return _new(Size, item) if index.__class__ is slice else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _new(Size, tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _new(Size, tuple.__add__(other, self))

    def __mul__(self, n):
        return _new(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))


def size_of(shape: tuple) -> Size:
    """A Size from a tuple of ints known to be valid (an array's shape): no checks."""
    return _new(Size, shape)
