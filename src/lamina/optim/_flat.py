"""View a list of parameter tensors as one flat vector θ (for LBFGS and the second-order methods).

``FlatParams(params)`` reads (``get``), writes (``set``, ``add``) and gathers gradients
(``grads``) as flat arrays.  ``functional(closure)`` turns a closure that reads the
parameters into a function of a flat *tensor* x, so ``lamina.func`` transforms
(hessian, jacfwd, jacrev) can differentiate it: inside ``with flat.bound():`` each call
re-binds every parameter to its slice ``x[a:b].reshape(shape)`` — a graph node of x —
so the closure's result depends on x.  Leaving the block gives every parameter back
its own array (values untouched).
"""
from __future__ import annotations

from contextlib import contextmanager

from ..autograd.grad_mode import enable_grad
from ..backend import xp
from ..tensor import Tensor, bump_version


class FlatParams:
    def __init__(self, params):
        self.params = list(params)
        self.shapes = [p._data.shape for p in self.params]
        sizes = [int(p._data.size) for p in self.params]
        self.offsets = xp.concatenate([[0], xp.cumsum(sizes)]).astype(int)
        self.numel = int(self.offsets[-1])
        self.dtype = xp.result_type(*[p._data.dtype for p in self.params])
        self._saved = None

    def _slices(self):
        for p, shape, a, b in zip(self.params, self.shapes, self.offsets[:-1], self.offsets[1:]):
            yield p, shape, int(a), int(b)

    def get(self) -> xp.ndarray:
        """θ as a new flat array."""
        return xp.concatenate([p._data.reshape(-1) for p in self.params]).astype(self.dtype, copy=False)

    def set(self, flat: xp.ndarray) -> None:
        """θ ← flat (in place on each parameter's array)."""
        for p, shape, a, b in self._slices():
            if not p._data.flags.writeable:
                p._data = p._data.copy()
            p._data[...] = flat[a:b].reshape(shape)
            bump_version(p)

    def add(self, t: float, d: xp.ndarray) -> None:
        """θ ← θ + t·d (in place)."""
        for p, shape, a, b in self._slices():
            if not p._data.flags.writeable:
                p._data = p._data.copy()
            xp.add(p._data, (t * d[a:b]).reshape(shape).astype(p._data.dtype, copy=False), out=p._data)
            bump_version(p)

    def grads(self) -> xp.ndarray:
        """The parameters' ``.grad`` as one flat array (zeros where a gradient is missing)."""
        parts = []
        for p, _shape, a, b in self._slices():
            g = p.grad
            if getattr(g, "is_sparse", False):
                raise RuntimeError(f"FlatParams.grads: the parameter of shape {tuple(p.shape)} has a row-sparse "
                                   "gradient (nn.Embedding(sparse=True)); LBFGS and the second-order methods need "
                                   "dense gradients: create the embedding with sparse=False")
            parts.append(xp.zeros(b - a, dtype=self.dtype) if g is None else g._data.reshape(-1))
        return xp.concatenate(parts).astype(self.dtype, copy=False)

    # ------------------------------------------------------------------ functional view
    @contextmanager
    def bound(self):
        """While active, ``functional`` results may re-bind the parameters to slices of x."""
        self._saved = [(p._data, p.requires_grad, p._node, p._tangent) for p in self.params]
        try:
            yield self
        finally:
            for p, (data, req, node, tan) in zip(self.params, self._saved):
                p._data, p.requires_grad, p._node, p._tangent = data, req, node, tan
            self._saved = None

    def functional(self, closure):
        """``f(x) = closure()`` evaluated with the parameters bound to the slices of flat tensor x."""
        if self._saved is None:
            raise RuntimeError("FlatParams.functional: call the function inside `with flat.bound():`")

        def f(x: Tensor):
            for p, shape, a, b in self._slices():
                view = x[a:b].reshape(shape)
                p._data, p.requires_grad, p._node, p._tangent = view._data, view.requires_grad, view._node, \
                    view._tangent
            with enable_grad():
                out = closure()
            if not isinstance(out, Tensor):
                raise TypeError(f"closure must return a lamina Tensor, got {type(out).__name__}")
            return out

        return f
