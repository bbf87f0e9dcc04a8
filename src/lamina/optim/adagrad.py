"""AdaGrad (Duchi et al.): per-coordinate step sizes from the history of squared
gradients.

    G = G + g²                                  (sum of all past squared gradients)
    θ = θ - lr_t * g / (√G + eps),   lr_t = lr / (1 + (t - 1) * lr_decay)

with g = ∇L (+ weight_decay·θ, negated if ``maximize``).  Coordinates whose gradients
were small keep large steps ("rare features get noticed"); every step size shrinks
towards zero as G grows — the problem AdaDelta and RMSProp address.

As in PyTorch, the accumulator ``sum`` is created when the optimizer is built, filled
with ``initial_accumulator_value``.

A row-sparse gradient (``nn.Embedding(sparse=True)``) updates only its rows R, as PyTorch does:
G_R += g_R², θ_R -= lr_t * g_R / (√G_R + eps) with g the coalesced gradient — O(|R| · dim) per
step.  Weight decay is not defined for it (PyTorch raises too).
"""
from __future__ import annotations

from ..backend import xp
from . import _foreach
from ._sparse import is_sparse, sparse_rows
from .functional import INPLACE, grad_term
from .optimizer import Optimizer


def _adagrad_kernel(p, g, acc, t0, t1, *, clr, eps, weight_decay, maximize):
    d = grad_term(INPLACE, p, g, t0, t1, maximize, weight_decay)
    xp.multiply(d, d, out=t1)
    xp.add(acc, t1, out=acc)
    xp.sqrt(acc, out=t1)
    xp.add(t1, eps, out=t1)
    xp.divide(d, t1, out=t1)
    xp.multiply(t1, -clr, out=t1)
    xp.add(p, t1, out=p)


def _sparse_adagrad(p, acc, grad, clr, eps, maximize):
    """The Adagrad rule on the rows of a row-sparse gradient only (the dense kernel on the gathered
    rows), in place on ``p`` and ``acc``."""
    rows, g = sparse_rows(grad, p.dtype)
    theta, acc_rows = p[rows], acc[rows]
    _foreach.run([(_adagrad_kernel, [theta, g, acc_rows], dict(clr=clr, eps=eps, weight_decay=None,
                                                                maximize=maximize))], n_tmp=2)
    p[rows], acc[rows] = theta, acc_rows


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
    *, maximize=False)``."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, foreach=None, *, maximize=False):
        for name, v in (("learning rate", lr), ("lr_decay", lr_decay), ("weight_decay", weight_decay),
                        ("initial_accumulator_value", initial_accumulator_value), ("eps", eps)):
            if v < 0.0:
                raise ValueError(f"Adagrad: invalid {name} {v} (expected >= 0)")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _after_add_group(self, group):
        for p in group["params"]:
            state = self.state[p]
            state["step"] = 0
            state["sum"] = xp.full_like(p._data, group["initial_accumulator_value"])

    def _step_group(self, group):
        lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
        kw = dict(eps=float(group["eps"]), weight_decay=float(group["weight_decay"]) or None,
                  maximize=bool(group["maximize"]))
        tasks = []
        for p, g in self._with_grads(group, allow_sparse=True):
            state = self.state[p]
            if "sum" not in state:
                state["step"] = 0
                state["sum"] = xp.full_like(p._data, group["initial_accumulator_value"])
            if is_sparse(g) and kw["weight_decay"] is not None:
                raise RuntimeError(f"Adagrad.step: weight_decay={kw['weight_decay']} is not compatible with the "
                                   f"row-sparse gradient of the parameter of shape {tuple(p.shape)} (as in PyTorch); "
                                   "use weight_decay=0 or an embedding with sparse=False")
            state["step"] += 1
            clr = lr / (1 + (state["step"] - 1) * lr_decay)
            if is_sparse(g):
                _sparse_adagrad(p._data, state["sum"], g, clr, kw["eps"], kw["maximize"])
                continue
            tasks.append((_adagrad_kernel, [p._data, g, state["sum"]], dict(kw, clr=clr)))
        self._run(tasks, n_tmp=2)
