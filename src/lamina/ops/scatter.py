"""scatter, index_add and masked_select, composed from the indexing ops of ``shape``.

    scatter(x, d, index, src)[…, index[i], …] = src[i]   (every other entry: x)
    index_add(x, d, index, s)[…, index[k], …] += α s[…, k, …]
    masked_select(x, m) = x[m] (1-D, in row-major order)

Each is a composition of ``ScatterAdd`` (the adjoint of ``gather``), ``IndexAddInto`` (the adjoint of
``index_select``), ``GetItem`` and ``where``, so their gradients are those ops' adjoints.
"""
from __future__ import annotations

import numbers

from .. import _mode
from ..autograd.op import run1
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor
from .elementwise import _const, where
from .shape import ScatterAdd, _axis, broadcast_to, getitem, index_add_into

__all__ = ["scatter", "index_add", "masked_select"]


def _index_array(index, op: str):
    idx = index._data if isinstance(index, Tensor) else xp.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {idx.dtype}")
    return idx.astype(xp.int64, copy=False)


def _check_scatter_index(x: Tensor, d: int, idx, op: str) -> None:
    if idx.ndim != x.ndim:
        raise ShapeError(f"{op}: index has {idx.ndim} dims but the input has {x.ndim} "
                         f"(shapes {idx.shape} and {tuple(x.shape)})")
    too_big = [k for k in range(x.ndim) if k != d and idx.shape[k] > x.shape[k]]
    if too_big:
        raise ShapeError(f"{op}: index shape {idx.shape} exceeds the input shape {tuple(x.shape)} in dim {too_big[0]}")
    if idx.size and (idx.min() < -x.shape[d] or idx.max() >= x.shape[d]):
        raise IndexError(f"{op}: index values must lie in [{-x.shape[d]}, {x.shape[d] - 1}] along dim {d}, "
                         f"got min {idx.min()} and max {idx.max()}")


def _targets(idx, d: int):
    """The full coordinates (one array per dim) that index ``idx`` writes to along ``d``."""
    coords = list(xp.indices(idx.shape, sparse=True))
    coords[d] = idx
    return tuple(coords)


def _last_writer(idx, d: int, shape) -> xp.ndarray:
    """True where position k of ``idx`` is the last one writing its target (the one a plain assignment keeps)."""
    order = xp.arange(idx.size).reshape(idx.shape)
    owner = xp.full(shape, -1, dtype=xp.int64)
    owner[_targets(idx, d)] = order
    return owner[_targets(idx, d)] == order


def _scatter_reduce(x: Tensor, d: int, idx, src, reduce: str) -> Tensor:
    if reduce == "add":
        return x + run1(ScatterAdd(d, idx, x.shape), src)
    if reduce != "multiply":
        raise ValueError(f"scatter: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    if _mode.grad_enabled and (x.requires_grad or src.requires_grad):
        raise RuntimeError("scatter: reduce='multiply' has no gradient (as in PyTorch); use it under no_grad()")
    out = x._data.copy()
    xp.multiply.at(out, _targets(idx, d), src._data)
    return Tensor._make(out)


def _scatter_source(src, idx, dtype) -> Tensor:
    """The values ``scatter`` writes, shaped like ``idx``: a number filled out, or the leading corner of src."""
    if isinstance(src, numbers.Number):
        return _const(xp.full(idx.shape, src, dtype=dtype))
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter: src must be a Tensor or a number, got {type(src).__name__}")
    if any(s < i for s, i in zip(src.shape, idx.shape)) or src.ndim != idx.ndim:
        raise ShapeError(f"scatter: src of shape {tuple(src.shape)} is smaller than index {idx.shape}")
    return getitem(src, tuple(slice(0, n) for n in idx.shape))


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce: str | None = None) -> Tensor:
    """out = input, then out[…, index[i], …] = src[i] along ``dim`` (or the scalar ``value``).

    With repeated indices the last write wins (PyTorch leaves the choice unspecified); ``reduce='add'`` or
    ``'multiply'`` combines the written values with the input instead. ∂out/∂input is 0 where written;
    ∂out/∂src routes each written entry's gradient back to the src entry that wrote it."""
    if src is None:
        src, value = value, None
    if src is None or value is not None:
        raise TypeError("scatter: give exactly one of src (a tensor) or value (a number)")
    d = _axis(dim, input.ndim, "scatter")
    idx = _index_array(index, "scatter")
    _check_scatter_index(input, d, idx, "scatter")
    idx = idx % input.shape[d] if idx.size else idx
    src = _scatter_source(src, idx, input.dtype)
    if reduce is not None:
        return _scatter_reduce(input, d, idx, src, reduce)
    written = xp.zeros(input.shape, dtype=bool)
    written[_targets(idx, d)] = True
    kept = where(_last_writer(idx, d, input.shape), src, 0.0)
    return where(written, run1(ScatterAdd(d, idx, input.shape), kept), input)


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """out = input, then out[…, index[k], …] += alpha · source[…, k, …] along ``dim`` (repeats accumulate)."""
    d = _axis(dim, input.ndim, "index_add")
    idx = _index_array(index, "index_add")
    if idx.ndim > 1:
        raise ShapeError(f"index_add: index must be 1-D, got shape {idx.shape}")
    want = input.shape[:d] + (idx.size,) + input.shape[d + 1:]
    if tuple(source.shape) != tuple(want):
        raise ShapeError(f"index_add: source must have shape {tuple(want)} (input {tuple(input.shape)} with dim "
                         f"{d} of size len(index) = {idx.size}), got {tuple(source.shape)}")
    if idx.size and (idx.min() < -input.shape[d] or idx.max() >= input.shape[d]):
        raise IndexError(f"index_add: index values must lie in [0, {input.shape[d] - 1}], "
                         f"got min {idx.min()} and max {idx.max()}")
    scaled = source if alpha == 1 else source * alpha
    return input + index_add_into(scaled, (slice(None),) * d + (idx.reshape(-1),), input.shape)


def masked_select(input: Tensor, mask) -> Tensor:
    """The entries of ``input`` where ``mask`` (broadcast with it) is True, as a 1-D tensor in row-major order."""
    m = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    if m.dtype != xp.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    try:
        shape = xp.broadcast_shapes(tuple(input.shape), m.shape)
    except ValueError:
        raise ShapeError(f"masked_select: mask of shape {m.shape} does not broadcast with input "
                         f"{tuple(input.shape)}") from None
    x = input if tuple(input.shape) == shape else broadcast_to(input, shape)
    return getitem(x, xp.broadcast_to(m, shape))
