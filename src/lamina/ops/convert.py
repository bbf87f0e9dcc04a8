"""Dtype conversions as tensor methods: ``to``, ``type``, ``float``, ``double``, ``half``, ``long``, ``int``, ``bool``.

A change of floating dtype is the ``Cast`` op, so gradients flow through it (back in the
input's dtype); integer and boolean results carry no gradient.
"""
from __future__ import annotations

from typing import Any

from ..autograd.op import cast
from ..backend import as_dtype, check_device, device, xp
from ..tensor import Tensor


def to(x: Tensor, *args, dtype=None, device=None, copy: bool = False, non_blocking: bool = False) -> Tensor:
    """``to(dtype)``, ``to('cpu')``, ``to(device, dtype)`` or ``to(other_tensor)``."""
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, _Device)):
            check_device(a)
        else:
            dtype = a
    check_device(device)
    dtype = as_dtype(dtype)
    if dtype is None or dtype == x.dtype:
        return x.clone() if copy else x
    return cast(x, dtype)


_Device = device


def type_(x: Tensor, dtype=None) -> Any:
    """The dtype's name (``'lamina.float32'``) without an argument, else ``to(dtype)``."""
    if dtype is None:
        return f"lamina.{x.dtype}"
    return to(x, dtype)


def to_float(x: Tensor) -> Tensor:
    return cast(x, xp.float32)


def to_double(x: Tensor) -> Tensor:
    return cast(x, xp.float64)


def to_half(x: Tensor) -> Tensor:
    return cast(x, xp.float16)


def to_long(x: Tensor) -> Tensor:
    return cast(x, xp.int64)


def to_int(x: Tensor) -> Tensor:
    return cast(x, xp.int32)


def to_bool(x: Tensor) -> Tensor:
    return cast(x, xp.bool_)
