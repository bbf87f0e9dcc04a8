"""One converter per op class: a recorded node of the traced graph → ONNX nodes.

A converter gets a ``Ctx`` (the op with its parameters, its input ``Value``s, the traced output's shape
and dtype) and returns the ONNX name of its result and the result's symbolic shape (see ``_graph``).
Ops are looked up by their exact class, so a new op (or a subclass with its own forward) is refused by
name instead of being exported under a rule written for another.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..autograd.forward_ad import Alias
from ..autograd.op import BroadcastTo, Cast
from ..nn.functional.sparse import _ScaleGrad
from ..ops import activations as act
from ..ops import conv, elementwise, layers, linalg, pool, reduce, shape
from ..tensor import Tensor
from ._graph import (
    INT64_MAX,
    INT64_MIN,
    Graph,
    Sym,
    Value,
    broadcast_sym,
    check_no_fixed_copy,
    dim_expr,
    fixed,
    merged_sym,
    parse_dim,
)
from .errors import ExportError


class Ctx:
    """What a converter sees of one recorded node."""

    def __init__(self, g: Graph, op, ins: list[Value], shape: tuple, dtype, label: str, arrays: dict,
                 leaf: Callable[[Tensor], Value]):
        self.g, self.op, self.ins, self.shape, self.dtype, self.label = g, op, ins, tuple(shape), dtype, label
        self.arrays = arrays  # id(array) -> Value of the graph inputs (integer inputs are found by their array)
        self.leaf = leaf  # a parameter, buffer or constant tensor -> its Value (an initializer)

    @property
    def x(self) -> Value:
        return self.ins[0]

    def cast(self, v: Value, dtype) -> str:
        """``v``'s name, through a Cast node when its dtype is not ``dtype``."""
        if np.dtype(v.dtype) == np.dtype(dtype):
            return v.name
        return self.g.add("Cast", [v.name], to=onnx_dtype(dtype))

    def scalar(self, s) -> str:
        """A 0-d constant in the output's dtype (what NumPy makes of ``array ∘ python scalar``)."""
        return self.g.scalar(s, self.dtype)


def onnx_dtype(dtype) -> int:
    from onnx import helper

    try:
        return int(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    except (KeyError, TypeError, ValueError):
        raise ExportError(f"onnx.export: dtype {dtype} has no ONNX tensor type") from None


Result = tuple[str, Sym]
CONVERTERS: dict[type, Callable[[Ctx], Result]] = {}


def converts(*classes: type):
    def register(fn):
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn
    return register


def converter_for(op) -> Callable[[Ctx], Result]:
    fn = CONVERTERS.get(type(op))
    if fn is None:
        raise ExportError(unsupported_op_message(op))
    return fn


def unsupported_op_message(op) -> str:
    cls = type(op)
    if cls.__name__ == "_FunctionOp":
        what = f"the custom autograd Function {op.fn_cls.__name__}"
    else:
        what = f"the op {cls.__name__} ({cls.__module__})"
    return (f"onnx.export: {what} has no ONNX form in lamina.onnx; losses, gradient ops (backward-only) and "
            "custom Functions cannot be exported — export the model without them")


def _same_sym(c: Ctx) -> Sym:
    return c.x.sym


# ---------------------------------------------------------------------------- elementwise
_UNARY = {elementwise.Neg: "Neg", elementwise.Exp: "Exp", elementwise.Log: "Log", elementwise.Sqrt: "Sqrt",
          elementwise.Abs: "Abs", elementwise.Sin: "Sin", elementwise.Cos: "Cos", elementwise.Tanh: "Tanh",
          elementwise.Sigmoid: "Sigmoid", elementwise.Relu: "Relu", elementwise.Sinh: "Sinh",
          elementwise.Cosh: "Cosh", elementwise.Atan: "Atan", elementwise.Asinh: "Asinh", Alias: "Identity",
          _ScaleGrad: "Identity",
          shape.Clone: "Identity"}


@converts(*_UNARY)
def _unary(c: Ctx) -> Result:
    return c.g.add(_UNARY[type(c.op)], [c.x.name]), _same_sym(c)


@converts(elementwise.Log1p)
def _log1p(c: Ctx) -> Result:  # log(1 + x)
    return c.g.add("Log", [c.g.add("Add", [c.x.name, c.scalar(1)])]), _same_sym(c)


@converts(elementwise.Expm1)
def _expm1(c: Ctx) -> Result:  # eˣ − 1
    return c.g.add("Sub", [c.g.add("Exp", [c.x.name]), c.scalar(1)]), _same_sym(c)


_BINARY = {elementwise.Add: "Add", elementwise.Sub: "Sub", elementwise.Mul: "Mul", elementwise.Div: "Div",
           elementwise.Pow: "Pow", elementwise.Maximum: "Max", elementwise.Minimum: "Min"}


@converts(*_BINARY)
def _binary(c: Ctx) -> Result:
    a, b = c.ins
    sym = broadcast_sym([a, b], c.shape)
    check_no_fixed_copy(c.label, [a, b], c.shape, sym)
    return c.g.add(_BINARY[type(c.op)], [c.cast(a, c.dtype), c.cast(b, c.dtype)]), sym


@converts(elementwise.AddScalar, elementwise.SubScalar)  # SubScalar keeps −s: x + (−s)
def _add_scalar(c: Ctx) -> Result:
    return c.g.add("Add", [c.cast(c.x, c.dtype), c.scalar(c.op.s)]), _same_sym(c)


@converts(elementwise.RSubScalar)
def _rsub_scalar(c: Ctx) -> Result:
    return c.g.add("Sub", [c.scalar(c.op.s), c.cast(c.x, c.dtype)]), _same_sym(c)


@converts(elementwise.MulScalar)
def _mul_scalar(c: Ctx) -> Result:
    return c.g.add("Mul", [c.cast(c.x, c.dtype), c.scalar(c.op.s)]), _same_sym(c)


@converts(elementwise.DivScalar)
def _div_scalar(c: Ctx) -> Result:
    return c.g.add("Div", [c.cast(c.x, c.dtype), c.scalar(c.op.s)]), _same_sym(c)


@converts(elementwise.RDivScalar)
def _rdiv_scalar(c: Ctx) -> Result:
    return c.g.add("Div", [c.scalar(c.op.s), c.cast(c.x, c.dtype)]), _same_sym(c)


@converts(elementwise.PowScalar)
def _pow_scalar(c: Ctx) -> Result:
    x, s = c.cast(c.x, c.dtype), c.op.s
    if s == 2:  # computed as x·x, as the op does
        return c.g.add("Mul", [x, x]), _same_sym(c)
    if s == 0.5:
        return c.g.add("Sqrt", [x]), _same_sym(c)
    return c.g.add("Pow", [x, c.scalar(s)]), _same_sym(c)


@converts(elementwise.RPowScalar)
def _rpow_scalar(c: Ctx) -> Result:
    return c.g.add("Pow", [c.scalar(c.op.s), c.cast(c.x, c.dtype)]), _same_sym(c)


@converts(elementwise.Clamp)
def _clamp(c: Ctx) -> Result:
    lo = "" if c.op.lo is None else c.scalar(c.op.lo)
    hi = "" if c.op.hi is None else c.scalar(c.op.hi)
    ins = [c.x.name, lo] + ([hi] if hi else [])
    return c.g.add("Clip", ins), _same_sym(c)


@converts(elementwise.Where)
def _where(c: Ctx) -> Result:
    a, b = c.ins
    cond = np.asarray(c.op.cond, dtype=bool)
    cv = Value("cond", cond.shape, cond.dtype, fixed(cond.shape), "const", cond)
    sym = broadcast_sym([a, b], c.shape)
    check_no_fixed_copy(f"{c.label} (its condition)", [cv, a, b], c.shape, sym)
    return c.g.add("Where", [c.g.const(cond), c.cast(a, c.dtype), c.cast(b, c.dtype)]), sym


@converts(Cast)
def _cast(c: Ctx) -> Result:
    return c.g.add("Cast", [c.x.name], to=onnx_dtype(c.op.dtype)), _same_sym(c)


# ---------------------------------------------------------------------------- activations
@converts(act.LeakyRelu)
def _leaky_relu(c: Ctx) -> Result:
    return c.g.add("LeakyRelu", [c.x.name], alpha=float(c.op.slope)), _same_sym(c)


@converts(act.Elu)
def _elu(c: Ctx) -> Result:
    from ..nn.functional.activation import SELU_ALPHA, SELU_SCALE

    alpha, scale = c.op.alpha, c.op.scale
    if scale != 1.0 and math.isclose(alpha, SELU_ALPHA) and math.isclose(scale, SELU_SCALE):
        return c.g.add("Selu", [c.x.name], alpha=float(alpha), gamma=float(scale)), _same_sym(c)
    y = c.g.add("Elu", [c.x.name], alpha=float(alpha))
    if scale != 1.0:
        y = c.g.add("Mul", [y, c.scalar(scale)])
    return y, _same_sym(c)


@converts(act.Softplus)
def _softplus(c: Ctx) -> Result:
    """log(1 + e^{βx})/β, and x where βx > threshold."""
    beta, thr = c.op.beta, c.op.threshold
    z = c.x.name if beta == 1 else c.g.add("Mul", [c.x.name, c.scalar(beta)])
    y = c.g.add("Softplus", [z])
    if beta != 1:
        y = c.g.add("Div", [y, c.scalar(beta)])
    if thr is not None:
        y = c.g.add("Where", [c.g.add("Greater", [z, c.scalar(thr)]), c.x.name, y])
    return y, _same_sym(c)


@converts(act.GeluTanh)
def _gelu_tanh(c: Ctx) -> Result:
    """½x(1 + tanh(√(2/π)(x + 0.044715x³))); opset 20 has it as Gelu(approximate='tanh')."""
    g, x = c.g, c.x.name
    if g.opset >= 20:
        return g.add("Gelu", [x], approximate="tanh"), _same_sym(c)
    cube = g.add("Mul", [g.add("Mul", [x, x]), x])
    inner = g.add("Mul", [c.scalar(act.GeluTanh.C), g.add("Add", [x, g.add("Mul", [c.scalar(0.044715), cube])])])
    half_x = g.add("Mul", [c.scalar(0.5), x])
    return g.add("Mul", [half_x, g.add("Add", [c.scalar(1), g.add("Tanh", [inner])])]), _same_sym(c)


@converts(act.NormalCdf)
def _normal_cdf(c: Ctx) -> Result:
    """Φ(x) = ½(1 + erf(x/√2))."""
    g = c.g
    e = g.add("Erf", [g.add("Div", [c.x.name, c.scalar(math.sqrt(2.0))])])
    return g.add("Mul", [c.scalar(0.5), g.add("Add", [c.scalar(1), e])]), _same_sym(c)


@converts(reduce.Softmax, reduce.LogSoftmax)
def _softmax(c: Ctx) -> Result:
    name = "Softmax" if type(c.op) is reduce.Softmax else "LogSoftmax"
    return c.g.add(name, [c.x.name], axis=int(c.op.axis)), _same_sym(c)


# ---------------------------------------------------------------------------- reductions
_REDUCE = {reduce.Sum: "ReduceSum", reduce.Mean: "ReduceMean", reduce.Amax: "ReduceMax", reduce.Amin: "ReduceMin",
           reduce.LogSumExp: "ReduceLogSumExp"}


@converts(*_REDUCE)
def _reduce(c: Ctx) -> Result:
    axes, keep = tuple(c.op.axes), bool(c.op.keepdim)
    if not axes:  # nothing reduced (an empty axes input would reduce every dim)
        return c.g.add("Identity", [c.x.name]), _same_sym(c)
    y = c.g.reduce(_REDUCE[type(c.op)], c.x.name, axes, keep)
    if keep:
        sym = tuple(None if i in axes else s for i, s in enumerate(c.x.sym))
    else:
        sym = tuple(s for i, s in enumerate(c.x.sym) if i not in axes)
    return y, sym


@converts(reduce.CumSum)
def _cumsum(c: Ctx) -> Result:
    return c.g.add("CumSum", [c.x.name, c.g.const(np.int64(c.op.axis))]), _same_sym(c)


# ---------------------------------------------------------------------------- shapes
def _prod(values) -> int:
    return int(np.prod(values, dtype=np.int64)) if len(values) else 1


def reshape_to(g: Graph, v: Value, out_shape: tuple) -> Result:
    """``v`` reshaped to ``out_shape`` without writing a dynamic size into the file: the dims it keeps in
    front are copied (0 in Reshape's target), the one dim that holds the remaining dynamic size is −1,
    and (N, …) → (N, rest) is a Flatten."""
    s_in, out = tuple(v.shape), tuple(out_shape)
    if s_in == out:
        return v.name, v.sym
    k = _common_prefix(s_in, out)
    if len(out) == 2 and len(s_in) > 2:
        flat = _as_flatten(g, v, out, k)
        if flat is not None:
            return flat
    if not v.dynamic:
        return g.add("Reshape", [v.name, g.ints(out)]), fixed(out)
    target: list[int] = [0] * k + list(out[k:])
    sym: list = list(v.sym[:k]) + [None] * (len(out) - k)
    rest = [i for i in range(k, len(s_in)) if v.sym[i] is not None]
    if rest:
        j, sym_j = _dynamic_spot(g, v, out, k, rest)
        target[j], sym[j] = -1, sym_j
    return g.add("Reshape", [v.name, g.ints(target)]), tuple(sym)


def _common_prefix(a: tuple, b: tuple) -> int:
    """How many leading dims a and b share."""
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


def _as_flatten(g: Graph, v: Value, out: tuple, k: int) -> Result | None:
    """(N, …) → (N, rest) as a Flatten at the first axis a (k, the dims kept, first) that splits the input
    into out's two sizes; None when there is none."""
    s_in, sym_in = tuple(v.shape), v.sym
    for a in ([k] if k >= 1 else []) + list(range(1, len(s_in))):
        if _prod(s_in[:a]) == out[0] and _prod(s_in[a:]) == out[1]:
            head, tail = merged_sym(sym_in[:a], s_in[:a]), merged_sym(sym_in[a:], s_in[a:])
            return g.add("Flatten", [v.name], axis=a), (head, tail)
    return None


def _dynamic_spot(g: Graph, v: Value, out: tuple, k: int, rest: list[int]) -> tuple[int, str]:
    """The dim j of the result that holds the dynamic input dims ``rest`` (row-major order) and its symbolic
    size. One dynamic dim d of size B·c (B dynamic): j must start outside B (prod(out[:j]) divides
    prod(in[:d])) and end inside it (prod(in[:d])·B divides prod(out[:j+1])). Several: they must merge
    exactly into j."""
    spot = _merged_spot(v, out, k, rest) if len(rest) > 1 else _single_spot(g, v, out, k, rest[0])
    if spot is None:
        raise ExportError(f"reshape: cannot tell which dim of the result {out} holds the dynamic dims {rest} of "
                          f"the input {v.describe()}; reshape so that the dynamic dims stay in front "
                          "(e.g. x.reshape(x.shape[0], -1))")
    return spot


def _merged_spot(v: Value, out: tuple, k: int, rest: list[int]) -> tuple[int, str] | None:
    """The dim j into which the dynamic dims ``rest`` merge exactly (and its symbol), or None."""
    s_in, sym_in = v.shape, v.sym
    lo, hi = _prod(s_in[:rest[0]]), _prod(s_in[:rest[-1] + 1])
    for j in range(k, len(out)):
        if _prod(out[:j]) == lo and _prod(out[:j + 1]) == hi:
            return j, merged_sym(sym_in[rest[0]:rest[-1] + 1], s_in[rest[0]:rest[-1] + 1]) or ""
    return None


def _single_spot(g: Graph, v: Value, out: tuple, k: int, d: int) -> tuple[int, str] | None:
    """The dim j that holds the dynamic factor B of input dim d (of size B·c), and its symbol, or None."""
    s_in, sym_in = v.shape, v.sym
    name, coef = parse_dim(sym_in[d])
    b = g.dim_sizes.get(name) if name else None
    if b is None or s_in[d] != b * coef:
        b, name, coef = s_in[d], "", 1  # the whole dim is the dynamic factor
    before = _prod(s_in[:d])
    for j in range(k, len(out)):
        outer, upto = _prod(out[:j]), _prod(out[:j + 1])
        if before % outer == 0 and upto % (before * b) == 0:
            inner = upto // (before * b)
            return j, dim_expr(name, inner) if outer == before else ""
    return None


@converts(shape.Reshape)
def _reshape(c: Ctx) -> Result:
    return reshape_to(c.g, c.x, c.shape)


@converts(shape.Permute)
def _permute(c: Ctx) -> Result:
    perm = [int(d) for d in c.op.dims]
    return c.g.add("Transpose", [c.x.name], perm=perm), tuple(c.x.sym[d] for d in perm)


@converts(BroadcastTo)
def _broadcast_to(c: Ctx) -> Result:
    x, out = c.x, c.shape
    lead = len(out) - len(x.shape)
    target = [out[i] if i < lead or x.shape[i - lead] != out[i] else 1 for i in range(len(out))]
    sym = tuple(None if i < lead or x.shape[i - lead] != out[i] else x.sym[i - lead] for i in range(len(out)))
    return c.g.add("Expand", [x.name, c.g.ints(target)]), sym


@converts(shape.Cat)
def _cat(c: Ctx) -> Result:
    d = int(c.op.dim)
    sym = list(broadcast_sym(c.ins, c.shape))
    along = [v.sym[d] for v in c.ins]
    sym[d] = None
    if any(s is not None for s in along):  # B·c₁ + B·c₂ = B·(c₁ + c₂) when every piece is of batch form
        forms = [parse_dim(s) if s is not None else ("", 0) for s in along]
        names = {n for n, _ in forms}
        sym[d] = dim_expr(names.pop(), sum(cf for _, cf in forms)) if len(names) == 1 else ""
    check_no_fixed_copy(c.label, c.ins, c.shape, tuple(sym), skip_axis=d)
    return c.g.add("Concat", [c.cast(v, c.dtype) for v in c.ins], axis=d), tuple(sym)


@converts(shape.Flip)
def _flip(c: Ctx) -> Result:
    dims = [int(d) for d in c.op.dims]
    k = len(dims)
    return c.g.slice(c.x.name, [-1] * k, [INT64_MIN] * k, dims, [-1] * k), _same_sym(c)


@converts(shape.Pad)
def _pad(c: Ctx) -> Result:
    widths = [(int(b), int(a)) for b, a in c.op.widths]
    pads = c.g.ints([b for b, _ in widths] + [a for _, a in widths])
    sym = tuple(s if s is None or w == (0, 0) else "" for s, w in zip(c.x.sym, widths))
    return c.g.add("Pad", [c.x.name, pads, c.scalar(c.op.value)], mode="constant"), sym


def _slice_bounds(s: slice, dynamic: bool):
    """(start, end, step, result is dynamic) of a Python slice, as ONNX Slice reads them."""
    step = 1 if s.step is None else int(s.step)
    start, end = _slice_ends(s, step)
    relative = s.start is None and step < 0 or s.stop is None and step > 0 or start < 0 or end < 0
    return start, end, step, dynamic and relative


def _slice_ends(s: slice, step: int) -> tuple[int, int]:
    """(start, end) of a slice, an open end as the extreme ONNX Slice clamps (by the sign of ``step``)."""
    start = (0 if step > 0 else INT64_MAX) if s.start is None else int(s.start)
    end = (INT64_MAX if step > 0 else INT64_MIN) if s.stop is None else int(s.stop)
    return start, end


def _full(s) -> bool:
    return isinstance(s, slice) and s.start is None and s.stop is None and s.step in (None, 1)


def _expand_ellipsis(index: tuple, ndim: int) -> tuple:
    n_axes = sum(1 for i in index if i is not None and i is not Ellipsis)
    for pos, i in enumerate(index):
        if i is Ellipsis:
            return index[:pos] + (slice(None),) * (ndim - n_axes) + index[pos + 1:]
    return index + (slice(None),) * (ndim - n_axes)


def _basic_index_plan(index: tuple, x_sym) -> tuple[list, list[int], list[int], list]:
    """For x[index] of slices, ints and None: (bounds (start, end, axis, step) of each Slice axis, the axes
    squeezed (ints), the output positions of new axes (None), the dims' symbols after the Slice)."""
    bounds: list[tuple[int, int, int, int]] = []
    squeeze: list[int] = []
    new_axes: list[int] = []
    sym = list(x_sym)
    ax = out_pos = 0
    for i in index:
        if i is None:
            new_axes.append(out_pos)
            out_pos += 1
            continue
        if isinstance(i, slice):
            if not _full(i):
                start, end, step, dyn = _slice_bounds(i, x_sym[ax] is not None)
                bounds.append((start, end, ax, step))
                sym[ax] = "" if dyn else None
            out_pos += 1
        else:  # an integer: a slice of length 1, squeezed
            k = int(i)
            bounds.append((k, INT64_MAX if k == -1 else k + 1, ax, 1))
            squeeze.append(ax)
        ax += 1
    return bounds, squeeze, new_axes, sym


@converts(shape.GetItem)
def _getitem(c: Ctx) -> Result:
    x = c.x
    index = _expand_ellipsis(tuple(c.op.index), len(x.shape))
    if any(isinstance(i, np.ndarray) for i in index):
        return _advanced_index(c, index)
    g = c.g
    bounds, squeeze, new_axes, sym = _basic_index_plan(index, x.sym)
    y = g.slice(x.name, *map(list, zip(*bounds))) if bounds else x.name
    if squeeze:
        y = g.squeeze(y, squeeze)
        sym = [s for a, s in enumerate(sym) if a not in squeeze]
    if new_axes:
        y = g.unsqueeze(y, new_axes)
        for p in new_axes:
            sym.insert(p, None)
    if y == x.name:
        y = g.add("Identity", [y])
    return y, tuple(sym)


def _check_exportable_arrays(c: Ctx, index: tuple, where: list[int], arrays: list) -> None:
    """Integer arrays on adjacent static dims (one array, or an outer product) with full slices elsewhere."""
    x = c.x
    others_full = all(_full(i) for a, i in enumerate(index) if a not in where)
    adjacent = where == list(range(where[0], where[0] + len(where)))
    if not (others_full and adjacent and _outer_product(arrays)):
        raise ExportError(f"{c.label}: indexing with {index!r} has no ONNX form here; only integer arrays on "
                          "adjacent dims (one array, or an outer product as np.ix_ makes) with full slices "
                          "elsewhere can be exported")
    for a in where:
        if x.sym[a] is not None:
            raise ExportError(f"{c.label}: integer-array indexing along the dynamic dim {a} ({x.sym[a]!r}) of "
                              f"{x.describe()} would fix that dim to the traced indices")


def _outer_product(arrays: list) -> bool:
    """One array, or k arrays of rank k, array j of size 1 along every dim but j (as ``np.ix_`` makes)."""
    k = len(arrays)
    return k == 1 or all(arr.ndim == k and all(s == 1 for d, s in enumerate(arr.shape) if d != j)
                         for j, arr in enumerate(arrays))


def _advanced_index(c: Ctx, index: tuple) -> Result:
    """x[..., idx, ...] with integer arrays: one array → Gather along its axis; arrays on adjacent axes that
    pick an outer product (shapes (n, 1) and (1, m), as ``np.ix_`` makes) → one Gather per axis."""
    x, g = c.x, c.g
    where = [a for a, i in enumerate(index) if isinstance(i, np.ndarray)]
    arrays = [np.asarray(index[a]) for a in where]
    _check_exportable_arrays(c, index, where, arrays)
    y, sym = x.name, list(x.sym)
    if len(arrays) == 1:
        arr = arrays[0].astype(np.int64)
        y = g.add("Gather", [y, g.const(arr, base="indices")], axis=where[0])
        sym[where[0]:where[0] + 1] = [None] * arr.ndim
        return y, tuple(sym)
    for a, arr in zip(where, arrays):
        y = g.add("Gather", [y, g.const(arr.reshape(-1).astype(np.int64), base="indices")], axis=a)
        sym[a] = None
    return y, tuple(sym)


@converts(shape.Gather)
def _gather(c: Ctx) -> Result:
    idx = np.asarray(c.op.index, dtype=np.int64)
    iv = Value("index", idx.shape, idx.dtype, fixed(idx.shape), "const", idx)
    check_no_fixed_copy(f"{c.label} (its index)", [iv], c.shape, c.x.sym)
    return c.g.add("GatherElements", [c.x.name, c.g.const(idx, base="indices")], axis=int(c.op.dim)), fixed(c.shape)


# ---------------------------------------------------------------------------- layers
def _weight_t(c: Ctx, w: Value) -> str:
    """Wᵀ of a 2-D weight: a Transpose node, so the initializer keeps the parameter's name and layout."""
    return c.g.add("Transpose", [w.name], perm=[1, 0])


@converts(layers.Linear, layers.LinearReLU)
def _linear(c: Ctx) -> Result:
    """y = x Wᵀ + b: Gemm for a 2-D input, MatMul (+ Add) otherwise; LinearReLU adds a Relu."""
    x, w = c.ins[0], c.ins[1]
    b = c.ins[2] if len(c.ins) > 2 else None
    if len(x.shape) == 2:
        y = c.g.add("Gemm", [x.name, w.name] + ([b.name] if b is not None else []), transB=1)
    else:
        y = c.g.add("MatMul", [x.name, _weight_t(c, w)])
        if b is not None:
            y = c.g.add("Add", [y, b.name])
    if type(c.op) is layers.LinearReLU:
        y = c.g.add("Relu", [y])
    return y, x.sym[:-1] + (None,)


def _swap_last(g: Graph, v: Value) -> tuple[str, Sym]:
    n = len(v.shape)
    perm = list(range(n - 2)) + [n - 1, n - 2]
    return g.add("Transpose", [v.name], perm=perm), tuple(v.sym[p] for p in perm)


@converts(linalg.MatMul)
def _matmul(c: Ctx) -> Result:
    a, b = c.ins
    (an, asym), (bn, bsym) = (a.name, a.sym), (b.name, b.sym)
    if c.op.ta and len(a.shape) >= 2:
        an, asym = _swap_last(c.g, a)
    if c.op.tb and len(b.shape) >= 2:
        bn, bsym = _swap_last(c.g, b)
    y = c.g.add("MatMul", [c.cast(Value(an, (), a.dtype, ()), c.dtype), c.cast(Value(bn, (), b.dtype, ()), c.dtype)])
    if len(asym) == 1 and len(bsym) == 1:
        sym: Sym = ()
    elif len(asym) == 1:
        sym = bsym[:-2] + bsym[-1:]
    elif len(bsym) == 1:
        sym = asym[:-1]
    else:
        batch = len(c.shape) - 2
        lead = [Value("", c.shape[:batch][batch - (len(s) - 2):], a.dtype, s[:-2]) for s in (asym, bsym)]
        sym = broadcast_sym(lead, c.shape[:batch]) + (asym[-2], bsym[-1])
    return y, sym


def _conv_attrs(spec, kernel) -> dict:
    (top, bottom), (left, right) = spec.pads
    return {"kernel_shape": [int(k) for k in kernel], "strides": [int(s) for s in spec.stride],
            "dilations": [int(d) for d in spec.dilation], "pads": [int(top), int(left), int(bottom), int(right)],
            "group": int(spec.groups)}


def _spatial_sym(c: Ctx) -> Sym:
    """(N, C, H, W) results: N as the input's, C fixed, H and W dynamic where the input's are."""
    s = c.x.sym
    return (s[0], None) + tuple(None if v is None else "" for v in s[2:])


@converts(conv.Conv2d)
def _conv(c: Ctx) -> Result:
    x, w = c.ins[0], c.ins[1]
    ins = [x.name, w.name] + ([c.ins[2].name] if len(c.ins) > 2 else [])
    y = c.g.add("Conv", ins, **_conv_attrs(c.op.spec, w.shape[2:]))
    if c.op.relu:
        y = c.g.add("Relu", [y])
    return y, _spatial_sym(c)


@converts(conv.ConvTranspose2d)
def _conv_transpose(c: Ctx) -> Result:
    """Output size (H − 1)·s − 2p + d·(k − 1) + 1 + output_padding: output_padding is what the traced
    output has beyond the rest."""
    x, w = c.ins[0], c.ins[1]
    spec = c.op.spec
    attrs = _conv_attrs(spec, w.shape[2:])
    extra = []
    for n, o, k, s, d, (p, _) in zip(x.shape[2:], c.op.out_hw, w.shape[2:], spec.stride, spec.dilation, spec.pads):
        extra.append(int(o - ((n - 1) * s - 2 * p + d * (k - 1) + 1)))
    ins = [x.name, w.name] + ([c.ins[2].name] if len(c.ins) > 2 else [])
    y = c.g.add("ConvTranspose", ins, output_padding=extra if any(extra) else None, **attrs)
    return y, _spatial_sym(c)


def _pool_pads(spec) -> list[int]:
    (top, bottom), (left, right) = spec.pads
    return [int(top), int(left), int(bottom), int(right)]


@converts(pool.MaxPool2d)
def _max_pool(c: Ctx) -> Result:
    return max_pool(c, c.x.name, c.op.spec), _spatial_sym(c)


def max_pool(c: Ctx, x: str, spec, indices: bool = False):
    """MaxPool with the spec's padding (ceil_mode's extra rows included); padding as wide as the window,
    which MaxPool refuses, is done by a Pad with the dtype's lowest value first."""
    pads = _pool_pads(spec)
    kernel = [int(k) for k in spec.kernel]
    if any(p >= k for p, k in zip(pads, kernel + kernel)):
        if indices:
            raise ExportError(f"{c.label}: padding {spec.pads} as wide as the kernel {spec.kernel} cannot be "
                              "exported together with return_indices=True")
        low = -np.inf if np.dtype(c.dtype).kind == "f" else np.iinfo(c.dtype).min
        x = c.g.add("Pad", [x, c.g.ints([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]]), c.scalar(low)],
                    mode="constant")
        pads = [0, 0, 0, 0]
    return c.g.add("MaxPool", [x], n_out=2 if indices else 1, kernel_shape=kernel,
                   strides=[int(s) for s in spec.stride], dilations=[int(d) for d in spec.dilation], pads=pads)


@converts(pool.AvgPool2d)
def _avg_pool(c: Ctx) -> Result:
    """Σ window / divisor: AveragePool over the zero-padded input (every window then has kh·kw values),
    rescaled by kh·kw / divisor where the divisor differs (count_include_pad=False, ceil_mode, override)."""
    spec, g = c.op.spec, c.g
    kernel = [int(k) for k in spec.kernel]
    area = kernel[0] * kernel[1]
    y = g.add("AveragePool", [c.x.name], kernel_shape=kernel, strides=[int(s) for s in spec.stride],
              pads=_pool_pads(spec), count_include_pad=1)
    div = np.asarray(c.op.divisor, dtype=np.float64)
    if not np.all(div == area):
        y = g.add("Mul", [y, g.const((area / div).astype(c.dtype))])
    return y, _spatial_sym(c)


@converts(pool.AxisLinear)
def _axis_linear(c: Ctx) -> Result:
    """y = A x along axis −2 (MatMul(A, x)) or −1 (MatMul(x, Aᵀ))."""
    a = np.asarray(c.op.a).astype(c.dtype)
    if c.op.axis == -1:
        y = c.g.add("MatMul", [c.x.name, c.g.const(a.T.copy(), base="axis_matrix")])
    else:
        y = c.g.add("MatMul", [c.g.const(a, base="axis_matrix"), c.x.name])
    sym = list(c.x.sym)
    sym[c.op.axis] = None
    return y, tuple(sym)


@converts(pool.AxisResample)
def _axis_resample(c: Ctx) -> Result:
    """y[o] = (1 − λ[o])·x[i0[o]] + λ[o]·x[i1[o]] along one axis (nearest: x[i0[o]])."""
    op, g = c.op, c.g
    if c.x.sym[op.axis] is not None:
        raise ExportError(f"{c.label}: interpolation along the dynamic dim {op.axis} of {c.x.describe()} is "
                          "exported as Resize by the Upsample layer only; use nn.Upsample")
    a = g.add("Gather", [c.x.name, g.const(np.asarray(op.i0, dtype=np.int64), base="indices")], axis=op.axis)
    sym = list(c.x.sym)
    sym[op.axis] = None
    if op.lam is None:
        return a, tuple(sym)
    w0, w1 = op._weights(np.dtype(c.dtype))
    b = g.add("Gather", [c.x.name, g.const(np.asarray(op.i1, dtype=np.int64), base="indices")], axis=op.axis)
    y = g.add("Add", [g.add("Mul", [a, g.const(w0, base="weights")]), g.add("Mul", [b, g.const(w1, base="weights")])])
    return y, tuple(sym)


@converts(layers.WindowSum)
def _window_sum(c: Ctx) -> Result:
    """y[i] = Σ_{j<n} xpad[i + j] along one axis: a Pad, then n slices of the padded tensor added."""
    op, g, x = c.op, c.g, c.x
    nd, ax, size = len(x.shape), int(op.axis), int(op.size)
    pads = [0] * (2 * nd)
    pads[ax], pads[nd + ax] = int(op.before), int(op.after)
    xpad = g.add("Pad", [x.name, g.ints(pads), c.scalar(0)], mode="constant")
    parts = []
    for j in range(size):
        end = j - (size - 1)  # the slice [j, j + n) of the n + size − 1 padded values, counted from the end
        parts.append(g.slice(xpad, [j], [end if end else INT64_MAX], [ax]))
    y = parts[0]
    for part in parts[1:]:
        y = g.add("Add", [y, part])
    return y, _same_sym(c)


@converts(layers.BatchNorm)
def _batch_norm_batch_stats(c: Ctx) -> Result:
    """Batch statistics (training mode, or a BatchNorm without running averages): x̂ = (x − μ_B)/√(σ²_B + ε),
    y = γ x̂ + β, the mean and biased variance over every dim but dim 1."""
    g, x = c.g, c.ins[0]
    axes = [0] + list(range(2, len(x.shape)))
    mu = g.reduce("ReduceMean", x.name, axes, True)
    xc = g.add("Sub", [x.name, mu])
    var = g.reduce("ReduceMean", g.add("Mul", [xc, xc]), axes, True)
    y = g.add("Div", [xc, g.add("Sqrt", [g.add("Add", [var, c.scalar(c.op.eps)])])])
    if len(c.ins) == 3:
        cshape = [1, x.shape[1]] + [1] * (len(x.shape) - 2)
        gamma = g.add("Reshape", [c.ins[1].name, g.ints(cshape)])
        beta = g.add("Reshape", [c.ins[2].name, g.ints(cshape)])
        y = g.add("Add", [g.add("Mul", [y, gamma]), beta])
    return y, _same_sym(c)


@converts(layers.Embedding)
def _embedding(c: Ctx) -> Result:
    """W[idx] → Gather(W, idx) along dim 0, where idx must be one of the model's inputs."""
    idx = c.arrays.get(id(c.op.idx))
    if idx is None:
        raise ExportError(f"{c.label}: the indices looked up are not one of the model's inputs (they were "
                          "computed outside the traced graph); pass the integer indices to the model directly")
    return c.g.add("Gather", [c.ins[0].name, idx.name], axis=0), idx.sym + (None,)

