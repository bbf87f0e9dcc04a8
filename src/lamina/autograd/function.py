"""``Function``: user-defined differentiable ops, with PyTorch's interface.

    class Cube(lamina.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g
        @staticmethod
        def jvp(ctx, t):                 # optional: forward mode
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * t

    y = Cube.apply(x)

``backward`` is called with gradient tracking on when ``create_graph=True``, and the
tensors it gets from ``ctx.saved_tensors`` are the real inputs, so a backward
written with lamina ops is itself differentiable.

``forward`` may return a tuple of tensors; ``backward`` then gets one gradient per output.
``ctx.mark_non_differentiable(t, …)`` marks outputs that carry no gradient (indices, masks):
they do not require grad, and backward gets zeros for them, or None after
``ctx.set_materialize_grads(False)``, which also passes None (instead of zeros) for every
output that no gradient reached. A multi-output node keeps its differentiable outputs as one
flat array y = concat(vec(y₁), …, vec(yₙ)); output k is the slice of it, so the gradient
summed into y carries each ȳₖ in its own slice.
"""
from __future__ import annotations

from .. import _mode
from ..backend import xp
from ..tensor import Tensor
from .grad_mode import no_grad
from .op import Op, batched_api, cast, is_batched


class FunctionCtx:
    """The context object passed to ``forward``, ``backward`` and ``jvp``."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self._swap = {}
        self._op = None
        self._non_diff = ()
        self._materialize = True

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        out = []
        for t in self._saved:
            if isinstance(t, Tensor) and id(t) in self._swap:
                src = self._swap[id(t)]
                if isinstance(src, Tensor):
                    t = src
                elif src == "output":
                    t = self._op.output()
                else:  # ("output", k) of a multi-output forward
                    t = self._op.output_part(src[1])
            out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *tensors):
        """Outputs of ``forward`` that carry no gradient: they do not require grad, and backward gets
        zeros for them (None with ``set_materialize_grads(False)``)."""
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"mark_non_differentiable: expected output tensors, got {type(t).__name__}")
        self._non_diff = tuple(self._non_diff) + tensors

    def set_materialize_grads(self, value: bool):
        """With False, backward gets None (instead of a tensor of zeros) for each output that no
        gradient reached and for the non-differentiable ones."""
        self._materialize = bool(value)


class _FunctionOp(Op):
    # layout (multi-output forward): per output (position k, start, stop, shape, dtype) of the
    # differentiable ones in the flat array; n_out the number of outputs; got: which ones got a gradient
    layout: list | None = None
    n_out = 1

    def __init__(self, fn_cls, ctx, positions, n_args):
        self.fn_cls, self.ctx, self.positions, self.n_args = fn_cls, ctx, positions, n_args
        self.got: set = set()

    def name(self):
        return self.fn_cls.__name__ + "Backward"

    def reads_input(self, i):
        """Input ``i`` counts for the version check when ``forward`` saved it (save_for_backward)."""
        x = self.inputs[i]
        swap = self.ctx._swap
        return any(t is x or (isinstance(t, Tensor) and swap.get(id(t)) is x) for t in self.ctx._saved)

    def output_part(self, k: int) -> Tensor:
        """Output ``k`` of a multi-output forward, as a differentiable slice of the node's flat output."""
        part = self._part(self.output(), k)
        return Tensor._make(self.ctx._out_arrays[k]) if part is None else part  # a non-differentiable one

    def _part(self, flat: Tensor, k: int):
        for pos, a, b, shape, dtype in self.layout or ():
            if pos == k:
                return cast(flat[a:b].reshape(shape), dtype)
        return None

    def _grads_out(self, g):
        """One gradient per output: the slice of the flat ȳ, zeros or None (see set_materialize_grads)."""
        materialize = self.ctx._materialize
        grads = []
        for k in range(self.n_out):
            gk = self._part(g, k) if (materialize or k in self.got) else None
            if gk is None and materialize:
                gk = Tensor._make(xp.zeros_like(self.ctx._out_arrays[k]))
            grads.append(gk)
        self.got = set()
        return grads

    def _by_position(self, values, what):
        values = values if isinstance(values, tuple) else (values,)
        if len(values) != self.n_args:
            raise RuntimeError(
                f"{self.fn_cls.__name__}.{what} returned {len(values)} values but forward took {self.n_args} "
                "inputs: return one gradient (or None) per input"
            )
        return tuple(_as_tensor(values[p]) for p in self.positions)

    def backward(self, g):
        gs = (g,) if self.layout is None else self._grads_out(g)
        grads = self._by_position(self.fn_cls.backward(self.ctx, *gs), "backward")
        for gi, x in zip(grads, self.inputs):
            if gi is not None and gi.shape != x.shape:
                try:
                    xp.broadcast_shapes(gi.shape, x.shape)
                except ValueError:
                    raise RuntimeError(f"{self.fn_cls.__name__}.backward returned a gradient of shape {tuple(gi.shape)} "
                                       f"for an input of shape {tuple(x.shape)}") from None
        return grads

    def jvp(self, *tangents):
        if not _defines_jvp(self.fn_cls):
            raise RuntimeError(f"{self.fn_cls.__name__}: no jvp staticmethod, so it cannot be used in forward mode")
        full = [None] * self.n_args
        for p, t, x in zip(self.positions, tangents, self.inputs):
            full[p] = t if t is not None else Tensor._make(xp.zeros_like(x._data))
        out = self.fn_cls.jvp(self.ctx, *full)
        if self.layout is None:
            return _as_tensor(out)
        if not isinstance(out, tuple) or len(out) != self.n_out:
            raise RuntimeError(f"{self.fn_cls.__name__}.jvp must return one tangent per output ({self.n_out})")
        return self._flat_tangent(out, self.layout)

    def _flat_tangent(self, out: tuple, layout: list) -> Tensor:
        """The tangents of the differentiable outputs (zeros for None) as the node's one flat output."""
        parts = []
        for pos, _a, _b, shape, _dtype in layout:
            t = _as_tensor(out[pos])
            parts.append(xp.zeros(shape) if t is None else xp.broadcast_to(t._data, shape))
        return Tensor._make(xp.concatenate([p.reshape(-1) for p in parts]).astype(self.out.dtype, copy=False))


def _defines_jvp(fn_cls) -> bool:
    """The Function class, or a base class of it below Function, defines a jvp."""
    return "jvp" in vars(fn_cls) or any("jvp" in vars(c) for c in fn_cls.__mro__[1:-2])


def _as_tensor(v):
    if v is None or isinstance(v, Tensor):
        return v
    return Tensor._make(xp.asarray(v))


class Function:
    """Base class for user-defined ops: subclass and write static ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise TypeError("Function subclasses must define a static forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise RuntimeError("this Function defines no backward, so it is not differentiable")

    @classmethod
    def apply(cls, *args, **kwargs):
        if any(is_batched(a) for a in args):  # under vmap: one call per sample
            return batched_api["per_sample"](lambda *a: cls.apply(*a, **kwargs), args)
        positions, inputs, needs = _tensor_args(args)
        ctx = FunctionCtx()
        ctx.needs_input_grad = needs
        out = _forward(cls, ctx, args, positions, kwargs)
        op = _FunctionOp(cls, ctx, positions, len(args))
        ctx._op = op
        if isinstance(out, tuple):
            return _connect_many(op, out, inputs)
        if any(t is out for t in ctx._non_diff):  # the only output carries no gradient
            return Tensor._make(out._data)
        return _connect(op, out, inputs)


def _tensor_args(args: tuple) -> tuple[list[int], tuple, tuple[bool, ...]]:
    """(positions of the tensor arguments, those tensors, whether each argument requires grad)."""
    positions, needs = [], []
    for i, a in enumerate(args):
        is_tensor = isinstance(a, Tensor)
        if is_tensor:
            positions.append(i)
        needs.append(is_tensor and a.requires_grad)
    return positions, tuple(args[i] for i in positions), tuple(needs)


def _forward(cls, ctx: FunctionCtx, args, positions, kwargs) -> Tensor | tuple:
    """``cls.forward`` on detached inputs, without recording; ``ctx`` maps each detached input back to
    the real one (and the output to the op's output) for ``saved_tensors``."""
    detached = list(args)
    for i in positions:
        d = args[i].detach()
        ctx._swap[id(d)] = args[i]
        detached[i] = d
    with no_grad():
        out = cls.forward(ctx, *detached, **kwargs)
    if isinstance(out, (tuple, list)):
        if not out:
            raise TypeError(f"{cls.__name__}.forward returned an empty tuple: return one tensor or more")
        outs = tuple(_as_tensor(o) for o in out)
        if any(o is None for o in outs):
            raise TypeError(f"{cls.__name__}.forward returned None among its outputs: return tensors")
        for k, o in enumerate(outs):
            ctx._swap[id(o)] = ("output", k)
        return outs
    out = _as_tensor(out)
    ctx._swap[id(out)] = "output"
    return out


def _connect(op: _FunctionOp, out: Tensor, inputs: tuple) -> Tensor:
    """The result tensor: a node of the graph when grad mode is on and an input requires grad (and the
    output is floating point); with a tangent when forward mode is on and an input carries one."""
    record = _records(inputs, out)
    res = Tensor._make(out._data, record, op if record else None)
    op.inputs, op.out = inputs, out._data
    op.needs = tuple(t.requires_grad for t in inputs) if record else (False,) * len(inputs)
    op.versions = (*[t._version for t in inputs], -1)  # -1: the engine always tests the versions
    if _mode.fw_level and any(t._tangent is not None for t in inputs):
        res._tangent = op.out_tangent = _output_tangent(op, inputs)
    return res


def _records(inputs: tuple, out: Tensor) -> bool:
    """Whether the output is recorded: grad mode on, an input requiring grad, a floating (complex) output."""
    return _mode.grad_enabled and any(t.requires_grad for t in inputs) and out.dtype.kind in "fc"


def _connect_many(op: _FunctionOp, outs: tuple, inputs: tuple) -> tuple:
    """The outputs of a multi-output forward. The differentiable ones (floating point, not marked) are
    slices of one node's flat output, so each is a tensor of the graph; the others are plain tensors."""
    ctx = op.ctx
    nd = ctx._non_diff
    diff = _differentiable(outs, nd)
    ctx._out_arrays = [o._data for o in outs]
    results = [Tensor._make(o._data) for o in outs]
    op.n_out = len(outs)
    if not diff:
        return tuple(results)
    op.layout = _flat_layout(outs, diff)
    flat = Tensor._make(xp.concatenate([outs[k]._data.reshape(-1) for k in diff]))
    node_out = _connect(op, flat, inputs)
    for k in diff:
        r = op._part(node_out, k)
        if r.requires_grad:
            r.register_hook(_mark_got(op, k))
        results[k] = r
    return tuple(results)


def _differentiable(outs: tuple, non_diff) -> list[int]:
    """The positions of the outputs that carry a gradient: floating (complex) and not marked non-differentiable."""
    return [k for k, o in enumerate(outs) if o.dtype.kind in "fc" and not any(o is t for t in non_diff)]


def _flat_layout(outs: tuple, diff: list[int]) -> list[tuple]:
    """(k, start, end, shape, dtype) of each differentiable output k in the node's flat output."""
    layout, start = [], 0
    for k in diff:
        n = outs[k]._data.size
        layout.append((k, start, start + n, outs[k].shape, outs[k].dtype))
        start += n
    return layout


def _mark_got(op: _FunctionOp, k: int):
    def hook(g):
        op.got.add(k)
    return hook


def _output_tangent(op: _FunctionOp, inputs) -> Tensor:
    """The output's tangent from the Function's jvp, computed one forward-mode level down."""
    _mode.fw_level -= 1
    try:
        return op.jvp(*[t._tangent for t in inputs])
    finally:
        _mode.fw_level += 1


class once_differentiable:
    """Decorator kept for PyTorch compatibility (lamina backward rules may always be differentiated)."""

    def __new__(cls, fn):
        return fn
