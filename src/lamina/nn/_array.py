"""The two array helpers the code of ``lamina.nn`` shares."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor, bump_version


def _array_of(x: object) -> xp.ndarray:
    """The array behind ``x``: a tensor's data, or ``xp.asarray(x)`` for arrays, lists and numbers."""
    return x._data if isinstance(x, Tensor) else xp.asarray(x)


def _writable_array(t: Tensor) -> xp.ndarray:
    """``t``'s array, ready for an in-place update: copied first when it is read-only (a broadcast view);
    ``t._version`` goes up by one."""
    if not t._data.flags.writeable:
        t._data = t._data.copy()
    bump_version(t)  # an in-place change, counted as Tensor.add_ counts it
    return t._data
