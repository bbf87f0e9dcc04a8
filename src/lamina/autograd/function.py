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
"""
from __future__ import annotations

from .. import _mode
from ..backend import xp
from ..tensor import Tensor
from .grad_mode import no_grad
from .op import Op


class FunctionCtx:
    """The context object passed to ``forward``, ``backward`` and ``jvp``."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self._swap = {}
        self._op = None

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        out = []
        for t in self._saved:
            if isinstance(t, Tensor) and id(t) in self._swap:
                src = self._swap[id(t)]
                t = src if isinstance(src, Tensor) else self._op.output()
            out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *tensors):
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool):
        self._materialize = value


class _FunctionOp(Op):
    def __init__(self, fn_cls, ctx, positions, n_args):
        self.fn_cls, self.ctx, self.positions, self.n_args = fn_cls, ctx, positions, n_args

    def name(self):
        return self.fn_cls.__name__ + "Backward"

    def _by_position(self, values, what):
        values = values if isinstance(values, tuple) else (values,)
        if len(values) != self.n_args:
            raise RuntimeError(
                f"{self.fn_cls.__name__}.{what} returned {len(values)} values but forward took {self.n_args} "
                "inputs: return one gradient (or None) per input"
            )
        return tuple(_as_tensor(values[p]) for p in self.positions)

    def backward(self, g):
        grads = self._by_position(self.fn_cls.backward(self.ctx, g), "backward")
        for gi, x in zip(grads, self.inputs):
            if gi is not None and gi.shape != x.shape:
                try:
                    xp.broadcast_shapes(gi.shape, x.shape)
                except ValueError:
                    raise RuntimeError(f"{self.fn_cls.__name__}.backward returned a gradient of shape {gi.shape} "
                                       f"for an input of shape {x.shape}") from None
        return grads

    def jvp(self, *tangents):
        if "jvp" not in vars(self.fn_cls) and not any("jvp" in vars(c) for c in self.fn_cls.__mro__[1:-2]):
            raise RuntimeError(f"{self.fn_cls.__name__}: no jvp staticmethod, so it cannot be used in forward mode")
        full = [None] * self.n_args
        for p, t, x in zip(self.positions, tangents, self.inputs):
            full[p] = t if t is not None else Tensor._make(xp.zeros_like(x._data))
        return _as_tensor(self.fn_cls.jvp(self.ctx, *full))


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
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        inputs = tuple(args[i] for i in positions)
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        out = _forward(cls, ctx, args, positions, kwargs)
        op = _FunctionOp(cls, ctx, positions, len(args))
        ctx._op = op
        return _connect(op, out, inputs)


def _forward(cls, ctx: FunctionCtx, args, positions, kwargs) -> Tensor:
    """``cls.forward`` on detached inputs, without recording; ``ctx`` maps each detached input back to
    the real one (and the output to the op's output) for ``saved_tensors``."""
    detached = list(args)
    for i in positions:
        d = args[i].detach()
        ctx._swap[id(d)] = args[i]
        detached[i] = d
    with no_grad():
        out = cls.forward(ctx, *detached, **kwargs)
    if isinstance(out, tuple):
        raise TypeError(f"{cls.__name__}.forward must return a single tensor (tuples are not supported)")
    out = _as_tensor(out)
    ctx._swap[id(out)] = "output"
    return out


def _connect(op: _FunctionOp, out: Tensor, inputs: tuple) -> Tensor:
    """The result tensor: a node of the graph when grad mode is on and an input requires grad (and the
    output is floating point); with a tangent when forward mode is on and an input carries one."""
    record = _mode.grad_enabled and any(t.requires_grad for t in inputs) and out.dtype.kind in "fc"
    res = Tensor._make(out._data, record, op if record else None)
    op.inputs, op.out = inputs, out._data
    op.needs = tuple(t.requires_grad for t in inputs) if record else (False,) * len(inputs)
    if _mode.fw_level and any(t._tangent is not None for t in inputs):
        res._tangent = op.out_tangent = _output_tangent(op, inputs)
    return res


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
