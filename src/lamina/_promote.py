"""Type promotion as PyTorch states it: the dtype of ``a ⊕ b`` and what may be cast to what.

Categories order the dtypes: bool < integer < floating < complex. Two dtypes of the same
category promote to the wider one (uint8 with int8 gives int16); across categories the higher
category wins and keeps its own width (int64 with float32 gives float32, not float64).

Operands of one op take part by their kind, in three groups: tensors with dims, 0-d tensors,
Python scalars. The dims group sets the dtype; a later group changes it only when it is of a
higher category (``float32 tensor * 2.5 → float32``, ``int64 tensor * 2.5 → float32``,
``float32 tensor + float64 0-d tensor → float32``). A Python float counts as the default
dtype (``get_default_dtype()``), a Python int as int64, a complex as the default complex dtype.
An operation whose result must be floating (true division, ``exp``, ``sqrt`` …) turns an
integer or bool result into the default dtype (``float_result``).

This module is the one place that states the rule; the ops call it.
"""
from __future__ import annotations

import numbers

import numpy as np

from .backend import as_dtype, get_default_dtype

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def category(dtype) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return _CATEGORY[dtype.kind]


def _complex_of(dtype: np.dtype) -> np.dtype:
    """The complex dtype whose parts are ``dtype`` (float16 has none here: complex64)."""
    return np.dtype(np.complex128) if dtype.itemsize == 8 else np.dtype(np.complex64)


def promote_types(type1, type2) -> np.dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to without leaving their category:
    same category → the wider one; otherwise the higher category's dtype (a floating dtype paired
    with a complex one gives the complex dtype of the wider parts)."""
    d1, d2 = _dtype(type1), _dtype(type2)
    if d1 is d2 or d1 == d2:
        return d1
    c1, c2 = _CATEGORY[d1.kind], _CATEGORY[d2.kind]
    if c1 == c2 or min(c1, c2) >= 2:
        return np.promote_types(d1, d2)
    return d1 if c1 > c2 else d2


def _combine(higher, lower):
    """The dtype of a group of operands (``higher``) joined by a later group (``lower``): the later
    group counts only when it is of a higher category (None: the group is empty)."""
    if lower is None:
        return higher
    if higher is None:
        return lower
    ch, cl = _CATEGORY[higher.kind], _CATEGORY[lower.kind]
    if cl <= ch:
        return higher
    return _complex_of(higher) if cl == 3 and ch == 2 else lower


def scalar_dtype(value) -> np.dtype:
    """The dtype a Python scalar takes part with: bool, int64, the default float, the default complex."""
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, complex):
        return _complex_of(get_default_dtype())
    return get_default_dtype()


def _join(group, dtype):
    return dtype if group is None else promote_types(group, dtype)


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise op on ``operands`` (tensors, arrays or Python scalars), by the rule above."""
    dims = zero = scalars = None
    for x in operands:
        arr = getattr(x, "_data", x)
        if isinstance(arr, np.ndarray):
            if arr.ndim:
                dims = _join(dims, arr.dtype)
            else:
                zero = _join(zero, arr.dtype)
        elif isinstance(arr, np.generic):  # a NumPy scalar counts as a Python one
            scalars = _join(scalars, scalar_dtype(arr.item()))
        elif isinstance(arr, numbers.Number):
            scalars = _join(scalars, scalar_dtype(arr))
        else:
            raise TypeError(f"result_type: expected tensors or numbers, got {type(x).__name__}")
    out = _combine(dims, _combine(zero, scalars))
    if out is None:
        raise TypeError("result_type: expected at least one operand")
    return out


def float_result(dtype) -> np.dtype:
    """``dtype`` if floating or complex, else the default dtype (the result of true division, exp …)."""
    return dtype if dtype.kind in "fc" else get_default_dtype()


def can_cast(from_, to) -> bool:
    """Whether PyTorch's casting rules let a result of dtype ``from_`` be written into ``to``: not to a
    lower category (floating to integer, integer to bool, complex to floating); any width goes."""
    return _CATEGORY[_dtype(from_).kind] <= _CATEGORY[_dtype(to).kind]


def _dtype(d) -> np.dtype:
    out = as_dtype(d)
    if out is None:
        raise TypeError("expected a dtype, got None")
    return out
