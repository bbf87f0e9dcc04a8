"""Batching rules: how an op applies to batched tensors (``vmap``), by the op's kind.

A rule gets the op and its inputs (some ``BatchedTensor``) and returns the batched result, computed by
ops on the physical tensors (batch dims first, one per vmap level):

* ``Elementwise`` (and the shape-preserving maps Cast, Alias, Clone): the batched inputs get one leading
  dim per level (size 1 where an input is not batched at it) and their logical dims padded to the same
  rank; then ordinary broadcasting applies the op to the whole batch at once.
* reductions, softmax, cumsum, flip, permute, cat: the op's dims shift by the number of batch dims;
  reshape, broadcast_to, sum_to get the batch shape in front; getitem and its adjoint a ``:`` per level.
* MatMul and Linear: the batch dims become (broadcast) matrix-batch dims.
* matrix functions (inv, solve, det, cholesky, eigh, qr, svd): the batch dims are more leading dims;
  pad: no padding on them;
* convolutions and pooling: the batch dims folded into N; a batched conv weight (per-sample gradients)
  makes one grouped convolution.
* every other op — the fallback: apply the op to each sample (one call per sample) and stack.
"""
from __future__ import annotations

import math
from typing import Any

from ..autograd import forward_ad
from ..autograd import op as _op
from ..autograd.forward_ad import Alias
from ..autograd.op import BroadcastTo, Cast, Elementwise, Op, SumTo, run, run1
from ..backend import xp
from ..ops import linalg, shape
from ..ops import linalg_extra as lx
from ..ops.conv import Conv2d, ConvTranspose2d
from ..ops.conv_fft import Conv2dFFT, ConvTranspose2dFFT
from ..ops.elementwise import Where
from ..ops.layers import Linear, LinearReLU
from ..ops.pool import AvgPool2d, MaxPool2d
from ..ops.reduce import CumSum, LogSoftmax, Softmax, _Reduce
from ..ops.reduce import sum as _sum
from ..tensor import Tensor
from .batched import BatchedTensor, align, batch_shape, inner_of, materialize, union, wrap


def _shift(axis: int, k: int) -> int:
    return axis + k if axis >= 0 else axis


def elementwise(op: Any, inputs: tuple) -> Tensor:
    levels = union(inputs)
    if len(inputs) == 1:
        return wrap(run1(op.fresh(), inputs[0]._inner), levels)
    nd = max(t.ndim for t in inputs)
    args = [align(t, levels, nd) if type(t) is BatchedTensor else t for t in inputs]
    return wrap(run(op.fresh(), *args), levels)


def reduction(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    k = len(x._levels)
    new = op.fresh()
    new.axes = tuple(a + k for a in op.axes)
    return wrap(run1(new, x._inner), x._levels)


def along_axis(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    new = op.fresh()
    new.axis = _shift(op.axis, len(x._levels))
    return wrap(run1(new, x._inner), x._levels)


def flip(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    new = op.fresh()
    new.dims = tuple(_shift(d, len(x._levels)) for d in op.dims)
    return wrap(run1(new, x._inner), x._levels)


def permute(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    k, nd = len(x._levels), x.ndim
    new = op.fresh()
    new.dims = tuple(range(k)) + tuple(d % nd + k for d in op.dims)
    return wrap(run1(new, x._inner), x._levels)


def reshape(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    new = op.fresh()
    new.shape = batch_shape(x._levels) + tuple(op.shape)
    return wrap(run1(new, x._inner), x._levels)


def broadcast_to(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    levels = x._levels
    return wrap(run1(BroadcastTo(batch_shape(levels) + tuple(op.shape)), align(x, levels, len(op.shape))), levels)


def sum_to(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    levels, k = x._levels, len(x._levels)
    inner = x._inner
    lead = x.ndim - len(op.shape)
    if lead:
        inner = _sum(inner, tuple(range(k, k + lead)))
    return wrap(run1(SumTo(batch_shape(levels) + tuple(op.shape)), inner), levels)


def cat(op: Any, inputs: tuple) -> Tensor:
    levels = union(inputs)
    args = [align(t, levels, t.ndim, full=True) for t in inputs]
    new = op.fresh()
    new.dim = _shift(op.dim, len(levels))
    return wrap(run(new, *args), levels)


def _advanced_adjacent(index: tuple) -> bool:
    """Whether prefixing ``index`` with ``:`` keeps numpy's placement of its advanced-index dims."""
    adv = [i for i, e in enumerate(index) if not isinstance(e, (slice, type(None), type(Ellipsis)))]
    if not any(hasattr(index[i], "ndim") or isinstance(index[i], list) for i in adv):
        return True  # basic indexing
    return adv == list(range(adv[0], adv[0] + len(adv)))


def getitem(op: Any, inputs: tuple) -> Tensor | None:
    (x,) = inputs
    index = op.index if isinstance(op.index, tuple) else (op.index,)
    if not _advanced_adjacent(index):
        return None
    new = op.fresh()
    new.index = (slice(None),) * len(x._levels) + index
    if hasattr(op, "shape"):  # IndexAddInto: scatter into the batch of zeros
        new.shape = batch_shape(x._levels) + tuple(op.shape)
    return wrap(run1(new, x._inner), x._levels)


def _matrix(t: Tensor, levels: tuple, nd: int, vector_at: int | None) -> Tensor:
    """A batched matmul operand as a physical tensor: 1-D made a matrix at ``vector_at``, padded to ``nd``."""
    if vector_at is not None:
        t = shape.unsqueeze(t, vector_at)
    return align(t, levels, nd)


def _matmul_shape(op: Any, a: Tensor, b: Tensor) -> tuple:
    """The logical (per-sample) shape of op(a, b): the broadcast matrix-batch dims, then the rows of a and the
    columns of b (each left out when that operand is a vector)."""
    rows = (a.shape[-1 if op.ta else -2],) if a.ndim >= 2 else ()
    cols = (b.shape[-2 if op.tb else -1],) if b.ndim >= 2 else ()
    return tuple(xp.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))) + rows + cols


def matmul(op: Any, inputs: tuple) -> Tensor:
    a, b = inputs
    levels = union(inputs)
    la, lb = a.ndim, b.ndim
    ba, bb = type(a) is BatchedTensor, type(b) is BatchedTensor
    out_logical = _matmul_shape(op, a, b)
    nd = max(max(la, 2) if ba else la, max(lb, 2) if bb else lb)
    A = _matrix(a, levels, nd, 0 if la == 1 else None) if ba else a
    B = _matrix(b, levels, nd, -1 if lb == 1 else None) if bb else b
    out = run(op.fresh(), A, B)
    return wrap(shape.reshape(out, batch_shape(levels) + out_logical), levels)


def linear(op: Any, inputs: tuple) -> Tensor:
    x, w = inputs[0], inputs[1]
    if type(w) is not BatchedTensor and (len(inputs) == 2 or type(inputs[2]) is not BatchedTensor):
        return wrap(run(op.fresh(), x._inner, *inputs[1:]), x._levels)
    y = linalg.matmul(x, shape.transpose(w, -1, -2))
    if len(inputs) == 3:
        y = y + inputs[2]
    return y.relu() if isinstance(op, LinearReLU) else y


def where(op: Any, inputs: tuple) -> Tensor:
    cond = op.cond
    if type(cond) is not BatchedTensor:
        return elementwise(op, inputs)
    levels = union(inputs + (cond,))
    nd = max(t.ndim for t in inputs + (cond,))
    new = op.fresh()
    new.cond = align(cond, levels, nd)._data
    return wrap(run(new, *[align(t, levels, nd) if type(t) is BatchedTensor else t for t in inputs]), levels)


def raw(fn, *args) -> Tensor | None:
    """A raw elementwise array function (no gradient) on batched arguments, by broadcasting."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    levels = union(tensors)
    if not levels:
        return None
    nd = max(t.ndim for t in tensors)
    arrays = [align(a, levels, nd)._data if type(a) is BatchedTensor else a._data if isinstance(a, Tensor) else a
              for a in args]
    return wrap(Tensor._make(xp.asarray(fn(*arrays))), levels)


def fold_into_n(op: Any, inputs: tuple) -> Tensor | None:
    """An op that treats each of the N samples of an (N, C, H, W) input alike (convolution with a shared
    weight, pooling): the batch dims folded into N, one call."""
    x = inputs[0]
    if type(x) is not BatchedTensor or x.ndim != 4 or any(type(t) is BatchedTensor for t in inputs[1:]):
        return conv_weight_batched(op, inputs) if type(op) is Conv2d else None
    lead = batch_shape(x._levels)
    folded = shape.reshape(x._inner, (-1,) + tuple(x.shape[1:]))
    y = run(op.fresh(), folded, *inputs[1:])
    return wrap(shape.reshape(y, lead + (x.shape[0],) + tuple(y.shape[1:])), x._levels)


def conv_weight_batched(op: Any, inputs: tuple) -> Tensor | None:
    """Conv2d with a batched weight (per-sample gradients): one grouped convolution, the P samples' channels
    side by side (groups × P)."""
    x = inputs[0]
    if x.ndim != 4:
        return None
    levels = union(inputs)
    lead = batch_shape(levels)
    p = math.prod(lead)
    n, c, h, w = x.shape
    xs = shape.reshape(inner_of(materialize(x, levels)), (p, n, c, h, w))
    xs = shape.reshape(shape.permute(xs, (1, 0, 2, 3, 4)), (n, p * c, h, w))
    wt = inputs[1]
    ws = shape.reshape(inner_of(materialize(wt, levels)), (p * wt.shape[0],) + tuple(wt.shape[1:]))
    rest = [shape.reshape(inner_of(materialize(b, levels)), (-1,)) for b in inputs[2:]]
    new = op.fresh()
    new.spec = op.spec._replace(groups=op.spec.groups * p)
    y = run(new, xs, ws, *rest)  # (N, P·O, OH, OW)
    y = shape.permute(shape.reshape(y, (n, p, wt.shape[0]) + tuple(y.shape[2:])), (1, 0, 2, 3, 4))
    return wrap(shape.reshape(y, lead + tuple(y.shape[1:])), levels)


def leading_dims(op: Any, inputs: tuple) -> Tensor | None:
    """A matrix function (inv, det, cholesky, eigh, qr, svd, solve with a matrix right-hand side) that
    already maps over leading dims: the batch dims are more leading dims."""
    if any(t.ndim < 2 for t in inputs):
        return None
    levels = union(inputs)
    return wrap(run(op.fresh(), *[inner_of(materialize(t, levels)) for t in inputs]), levels)


def pad(op: Any, inputs: tuple) -> Tensor:
    (x,) = inputs
    new = op.fresh()
    new.widths = ((0, 0),) * len(x._levels) + tuple(op.widths)
    return wrap(run1(new, x._inner), x._levels)


def fold_rows(x: Tensor, t: Tensor) -> tuple:
    """One sample's logits and class targets ((N, C) and (N,), or (C,) and ()) over the whole batch, as
    physical rows (P·N, C) and (P·N,), with the function giving a result per row its batch back."""
    levels = union([x, t])
    lead = batch_shape(levels)
    rows = shape.reshape(inner_of(materialize(x, levels)), (-1, x.shape[-1]))
    targets = shape.reshape(inner_of(materialize(t, levels)), (-1,))

    def unfold(y: Tensor) -> Tensor:
        return wrap(shape.reshape(y, lead + tuple(t.shape)), levels)

    return rows, targets, unfold


def _samples_flat(args: tuple, levels: tuple, n: int) -> list:
    """Each batched argument as a physical tensor with its n samples along one leading dim; None for the
    others (shared by every sample)."""
    return [shape.reshape(inner_of(materialize(a, levels)), (n,) + tuple(a.shape))
            if type(a) is BatchedTensor else None for a in args]


def per_sample(fn, args: tuple):
    """``fn`` called on each sample of the batched tensors among ``args`` (the others shared), the results
    (a tensor or a tuple of tensors) stacked: one call per sample."""
    levels = union([a for a in args if isinstance(a, Tensor)])
    lead = batch_shape(levels)
    n = math.prod(lead)
    flat = _samples_flat(args, levels, n)
    outs = [fn(*[a if f is None else f[i] for a, f in zip(args, flat)]) for i in range(n)]
    if isinstance(outs[0], (tuple, list)):
        return tuple(_stacked([o[j] for o in outs], lead, levels) for j in range(len(outs[0])))
    return _stacked(outs, lead, levels)


def _stacked(outs: list, lead: tuple, levels: tuple) -> Tensor:
    out = shape.stack(outs)
    return wrap(shape.reshape(out, lead + tuple(out.shape[1:])), levels)


def fallback(op: Any, inputs: tuple) -> Tensor:
    """The op applied to each sample, one call each, and the results stacked: right for every op. Arrays an
    op leaves for its caller (BatchNorm's batch statistics) are stacked onto ``op`` too."""
    ops: list = []

    def one(*xs):
        ops.append(op.fresh())
        return run(ops[-1], *xs)

    out = per_sample(one, inputs)
    for name, value in ops[0].__dict__.items():
        if name not in op.__dict__ and name not in _op._GRAPH_STATE and hasattr(value, "shape"):
            setattr(op, name, xp.stack([o.__dict__[name] for o in ops]))
    return out


RULES: dict[type, Any] = {
    BroadcastTo: broadcast_to, SumTo: sum_to, Cast: elementwise, Alias: elementwise, shape.Clone: elementwise,
    shape.Reshape: reshape, shape.Permute: permute, shape.Flip: flip, shape.Cat: cat, shape.GetItem: getitem,
    shape.IndexAddInto: getitem, Softmax: along_axis, LogSoftmax: along_axis, CumSum: along_axis,
    linalg.MatMul: matmul, Linear: linear, LinearReLU: linear, Where: where,
    Conv2d: fold_into_n, ConvTranspose2d: fold_into_n, Conv2dFFT: fold_into_n, ConvTranspose2dFFT: fold_into_n,
    MaxPool2d: fold_into_n, AvgPool2d: fold_into_n, shape.Pad: pad,
}
"""Rules of single ops; the kinds' rules (``Elementwise``, ``_Reduce``) are found by ``rule_for``."""
RULES.update({cls: leading_dims for cls in (lx.Inv, lx.Solve, lx.Det, lx.LogAbsDet, lx.Cholesky, lx.Eigh, lx.QR,
                                              lx.SVD)})


_CACHE: dict = {}


def rule_for(op: Op):
    """The batching rule of ``op``: its own, its kind's, or the fallback."""
    rule = _CACHE.get(type(op))
    if rule is None:
        rule = _CACHE[type(op)] = _find_rule(op)
    return rule


def _find_rule(op: Op):
    rule = RULES.get(type(op))
    if rule is not None:
        return rule
    if isinstance(op, Elementwise):
        return elementwise
    if isinstance(op, _Reduce):
        return reduction
    return fallback


def apply(op: Any, inputs: tuple) -> Tensor | None:
    """``run``'s hook: the batched result of ``op`` (None when no input is batched)."""
    for t in inputs:
        if type(t) is BatchedTensor:
            break
    else:
        if type(getattr(op, "cond", None)) is not BatchedTensor:
            return None
    out = rule_for(op)(op, inputs)
    return fallback(op, inputs) if out is None else out


def make_dual(primal: Tensor, tangent: Tensor) -> Tensor:
    """forward_ad.make_dual of batched tensors: the dual of the physical tensors, batched alike."""
    levels = union([primal, tangent])
    p, t = inner_of(materialize(primal, levels)), inner_of(materialize(tangent, levels))
    return wrap(forward_ad.make_dual(p, t), levels)


def unpack_dual(t: Any) -> tuple:
    primal, tangent = forward_ad.unpack_dual(t._inner)
    return wrap(primal, t._levels), None if tangent is None else wrap(tangent, t._levels)


def install() -> None:
    _op.batch_hook = apply
    _op.raw_hook = raw
    _op.batched_api.update(make_dual=make_dual, unpack_dual=unpack_dual, per_sample=per_sample, fold_rows=fold_rows)

