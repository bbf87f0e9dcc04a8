"""AdaDelta (Zeiler 2012): AdaGrad's idea over a recent window only, with units
fixed by a running average of past updates (a momentum-like accumulator).

    E[g²]  = ρ E[g²] + (1 - ρ) g²
    Δ      = √(E[Δ²] + eps) / √(E[g²] + eps) · g
    E[Δ²]  = ρ E[Δ²] + (1 - ρ) Δ²
    θ      = θ - lr · Δ

(g = ∇L, + weight_decay·θ, negated if ``maximize``).  The paper has no learning rate
(lr = 1, PyTorch's default); eps = 1e-6 is the default.
"""
from __future__ import annotations

from ..backend import xp
from .functional import INPLACE, grad_term
from .optimizer import Optimizer


def _adadelta_kernel(p, g, sq, acc, t0, t1, t2, *, lr, rho, eps, weight_decay, maximize):
    d = grad_term(INPLACE, p, g, t0, t1, maximize, weight_decay)
    xp.multiply(sq, rho, out=sq)
    xp.multiply(d, d, out=t1)
    xp.multiply(t1, 1 - rho, out=t1)
    xp.add(sq, t1, out=sq)
    xp.add(sq, eps, out=t1)
    xp.sqrt(t1, out=t1)                 # std = √(E[g²] + eps)
    xp.add(acc, eps, out=t2)
    xp.sqrt(t2, out=t2)                 # √(E[Δ²] + eps)
    xp.divide(t2, t1, out=t2)
    xp.multiply(t2, d, out=t2)          # Δ
    xp.multiply(acc, rho, out=acc)
    xp.multiply(t2, t2, out=t1)
    xp.multiply(t1, 1 - rho, out=t1)
    xp.add(acc, t1, out=acc)
    xp.multiply(t2, -lr, out=t2)
    xp.add(p, t2, out=p)


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False)``."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None, *, maximize=False):
        if lr < 0.0:
            raise ValueError(f"Adadelta: invalid learning rate {lr} (expected >= 0)")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {rho} (expected in [0, 1])")
        if eps < 0.0:
            raise ValueError(f"Adadelta: invalid eps {eps} (expected >= 0)")
        if weight_decay < 0.0:
            raise ValueError(f"Adadelta: invalid weight_decay {weight_decay} (expected >= 0)")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _step_group(self, group):
        kw = dict(lr=float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
                  weight_decay=float(group["weight_decay"]) or None, maximize=bool(group["maximize"]))
        tasks = []
        for p, g in self._with_grads(group):
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(p._data)
                state["acc_delta"] = xp.zeros_like(p._data)
            state["step"] += 1
            tasks.append((_adadelta_kernel, [p._data, g, state["square_avg"], state["acc_delta"]], kw))
        self._run(tasks, n_tmp=3)
