"""``Op``: one node of the define-by-run graph, and ``run``, which applies it.

An op has three rules, side by side:

* ``forward(*arrays) -> array`` computes on raw arrays (fast, no graph);
* ``backward(grad) -> tuple`` is the transposed-Jacobian-by-vector product
  (seed 001: for y = Wx it returns W^T o and o x^T), written with lamina tensor
  ops so that it is itself differentiable (grad of grad, Hessian-vector products);
* ``jvp(*tangents) -> Tensor`` is the forward-mode rule: the ε-part of
  f(x + εx') = f(x) + ε f'(x) x' (seed 001's dual numbers).

The op object is its own context: ``forward`` may keep what ``backward`` needs
on ``self``; ``self.inputs`` holds the input tensors and ``self.output()`` the
result, re-wrapped so gradients still flow through it.
"""
from __future__ import annotations

from .. import _mode
from ..tensor import Tensor


class Op:
    """Base class of every differentiable primitive."""

    # inputs: tuple of input tensors (None once the graph is freed);
    # needs: which inputs want a gradient; out / out_tangent: the result and its tangent;
    # hooks / retained: gradient hooks and retain_grad() of the output tensor.
    inputs = None
    needs = ()
    out = None
    out_tangent = None
    hooks = None
    retained = None
    freed = False

    def forward(self, *arrays):
        raise TypeError(f"{type(self).__name__} has no forward rule")

    def backward(self, grad):
        raise RuntimeError(f"{type(self).__name__} is not differentiable (no backward rule)")

    def jvp(self, *tangents):
        raise RuntimeError(f"{type(self).__name__} has no forward-mode (jvp) rule")

    # -------------------------------------------------------------- helpers for the rules
    def output(self) -> Tensor:
        """The op's result as a tensor connected to this node (PyTorch's saved-output trick)."""
        t = Tensor._make(self.out, self.inputs is not None and any(self.needs), self if any(self.needs) else None)
        t._tangent = self.out_tangent
        return t

    def release(self) -> None:
        """Free saved buffers after backward (unless retain_graph=True)."""
        self.__dict__.clear()
        self.freed = True

    def retain(self, tensor) -> None:
        import weakref

        self.retained = weakref.ref(tensor)

    def add_hook(self, hook):
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(hook)
        from ..tensor import _HookHandle

        return _HookHandle(self.hooks, hook)

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()}>"


def run(op: Op, *inputs: Tensor) -> Tensor:
    """Apply ``op`` to tensors: compute forward, then record the graph and the tangent if asked."""
    if len(inputs) == 2:
        a, b = inputs
        out = op.forward(a._data, b._data)
        record = _mode.grad_enabled and (a.requires_grad or b.requires_grad)
        if record:
            op.needs = (a.requires_grad, b.requires_grad)
    else:
        out = op.forward(*[t._data for t in inputs])
        record = _mode.grad_enabled and any([t.requires_grad for t in inputs])
        if record:
            op.needs = tuple([t.requires_grad for t in inputs])
    res = Tensor._make(out, record)
    if record:
        op.inputs = inputs
        op.out = out
        res._node = op
    if _mode.fw_level:
        tangents = [t._tangent for t in inputs]
        if any(tg is not None for tg in tangents):
            if not record:
                op.inputs = inputs
                op.needs = (False,) * len(inputs)
                op.out = out
            _mode.fw_level -= 1  # the tangent computation carries no tangent of its own
            try:
                tan = op.jvp(*tangents)
            finally:
                _mode.fw_level += 1
            if tan is not None:
                if tan.shape != out.shape:
                    from ..ops.shape import broadcast_to

                    tan = broadcast_to(tan, out.shape)
                res._tangent = op.out_tangent = tan
    return res


def run1(op: Op, x: Tensor) -> Tensor:
    """``run`` specialised for one input (the common case; keeps per-op overhead low)."""
    out = op.forward(x._data)
    if _mode.grad_enabled and x.requires_grad:
        res = Tensor._make(out, True, op)
        op.inputs = (x,)
        op.needs = (True,)
        op.out = out
    else:
        res = Tensor._make(out)
    if _mode.fw_level and x._tangent is not None:
        if res._node is None:
            op.inputs = (x,)
            op.needs = (False,)
            op.out = out
        _mode.fw_level -= 1
        try:
            tan = op.jvp(x._tangent)
        finally:
            _mode.fw_level += 1
        res._tangent = op.out_tangent = tan
    return res
