"""``BatchedTensor``: what a function under ``vmap`` sees — one sample's (logical) view of a tensor whose
array holds the whole batch.

A batched tensor wraps a plain tensor, its *physical* tensor ``_inner``, whose leading dims are the
batch dims of the vmap levels in ``_levels`` (ascending: the outermost vmap first); the rest is the
logical shape. Its own ``_data`` is a read-only stand-in of the logical shape and dtype (NaN, or 0 for
integers and booleans), so that shape checks see one sample; its values are never one sample's. Ops never see a batched
tensor: ``run`` hands an op with batched inputs to its batching rule (``batching.py``), which applies
ops to the physical tensors, so the autograd graph and forward-mode tangents live on the physical
tensors and every rule of every op stays valid there.

Levels: vmap number k (counted from the outermost, 1 …) has batch size ``_mode.vmap_sizes[k - 1]``.
"""
from __future__ import annotations

from .. import _mode
from ..backend import xp
from ..ops.shape import broadcast_to, permute, reshape
from ..tensor import Tensor


class BatchedTensor(Tensor):
    """One sample's view of the batch in ``_inner`` (batch dims first, one per level in ``_levels``)."""

    __slots__ = ("_inner", "_levels")
    _inner: Tensor
    _levels: tuple

    def __repr__(self):
        return f"BatchedTensor(levels={self._levels}, shape={self.shape}, physical={self._inner!r})"

    def _refuse(self, *args, **kwargs):
        raise RuntimeError(f"vmap: a batched tensor of shape {self.shape} has no single value (item(), bool(), "
                           "numpy(), tolist()): data-dependent control flow is not supported inside vmap")

    item = tolist = numpy = __bool__ = __float__ = __int__ = __index__ = __array__ = _refuse

    def backward(self, *args, **kwargs):
        raise RuntimeError("vmap: backward() of a batched tensor is not supported inside vmap; use "
                           "lamina.func.grad or vjp inside the vmapped function")

    def _no_inplace(self, *args, **kwargs):
        raise RuntimeError(f"vmap: in-place changes of a batched tensor (shape {tuple(self.shape)}) are not supported "
                           "inside vmap; use the out-of-place op")

    _assign = _inplace_binary = __setitem__ = _no_inplace

    def detach(self) -> Tensor:
        return wrap(self._inner.detach(), self._levels)

    def contiguous(self) -> Tensor:
        return self


def wrap(inner: Tensor, levels: tuple) -> Tensor:
    """The batched view of ``inner`` whose leading dims are ``levels`` (``inner`` itself when there are none)."""
    if not levels:
        return inner
    t = object.__new__(BatchedTensor)
    t._data = _stand_in(inner._data, len(levels))
    t.requires_grad = inner.requires_grad
    t.grad = None
    t._node = None
    t._tangent = None
    t._hooks = None
    t._version = 0
    t._inner = inner
    t._levels = levels
    return t


_STAND_INS: dict = {}


def _stand_in(physical, k: int):
    """A read-only array of the logical shape and dtype (no memory of its own; shared, by shape and dtype)."""
    key = (physical.shape[k:], physical.dtype)
    a = _STAND_INS.get(key)
    if a is None:
        if len(_STAND_INS) > 4096:
            _STAND_INS.clear()
        fill = xp.full((), xp.nan if physical.dtype.kind in "fc" else 0, dtype=physical.dtype)
        a = _STAND_INS[key] = xp.broadcast_to(fill, key[0])
    return a


def levels_of(t) -> tuple:
    return t._levels if type(t) is BatchedTensor else ()


def inner_of(t: Tensor) -> Tensor:
    return t._inner if type(t) is BatchedTensor else t


def union(tensors) -> tuple:
    """The sorted levels at which any of ``tensors`` is batched."""
    first = None
    for t in tensors:
        if type(t) is BatchedTensor:
            if first is None:
                first = t._levels
            elif t._levels != first:
                break
    else:
        return first or ()
    levels: set = set()
    for t in tensors:
        if type(t) is BatchedTensor:
            levels.update(t._levels)
    return tuple(sorted(levels))


def batch_shape(levels: tuple) -> tuple:
    sizes = _mode.vmap_sizes
    return tuple(sizes[lv - 1] for lv in levels)


def align(t: Tensor, levels: tuple, nd: int, full: bool = False) -> Tensor:
    """The physical tensor of ``t`` with one leading dim per level of ``levels`` (size 1 where ``t`` is not
    batched, or the batch size when ``full``) and its logical shape padded with 1s on the left to ``nd``
    dims: ready to broadcast against the others."""
    own = levels_of(t)
    x = inner_of(t)
    if own == levels and t.ndim == nd:
        return x
    logical = tuple(t.shape)
    lead = tuple(x.shape[own.index(lv)] if lv in own else 1 for lv in levels)
    shape = lead + (1,) * (nd - len(logical)) + logical
    if tuple(x.shape) != shape:
        x = reshape(x, shape)
    if full and own != levels:
        x = broadcast_to(x, batch_shape(levels) + shape[len(levels):])
    return x


def materialize(t: Tensor, levels: tuple) -> Tensor:
    """``t`` batched at every level of ``levels`` (copies of one sample broadcast where it was not)."""
    if levels_of(t) == levels:
        return t
    return wrap(align(t, levels, t.ndim, full=True), levels)


def split_levels(t: Tensor, keep: tuple) -> Tensor:
    """``t`` reread as batched at ``keep`` only: the dims of its other levels become its leading logical dims."""
    own = levels_of(t)
    x = inner_of(t)
    kept = [own.index(lv) for lv in keep]
    rest = [i for i, lv in enumerate(own) if lv not in keep]
    order = kept + rest + list(range(len(own), x.ndim))
    return wrap(permute(x, order) if order != list(range(x.ndim)) else x, keep)


def join_levels(t: Tensor, outer: tuple) -> Tensor:
    """The inverse of ``split_levels``: the leading logical dims of ``t`` are the levels ``outer``."""
    own = levels_of(t)
    x = inner_of(t)
    levels = tuple(sorted(own + outer))
    # x's dims: own levels, then outer levels, then the logical dims
    pos = {lv: i for i, lv in enumerate(own + outer)}
    order = [pos[lv] for lv in levels] + list(range(len(levels), x.ndim))
    return wrap(permute(x, order) if order != list(range(x.ndim)) else x, levels)
