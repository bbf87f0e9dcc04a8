"""RMSProp (Hinton): divide the step by a running RMS of the gradient.

    s = α s + (1 - α) g²                          (α is often written β)
    centered:  ḡ = α ḡ + (1 - α) g,   r = √(s - ḡ²) + eps
    otherwise: r = √s + eps
    momentum > 0:  b = momentum · b + g / r,   θ = θ - lr · b
    otherwise:     θ = θ - lr · g / r

(g = ∇L, + weight_decay·θ, negated if ``maximize``).  PyTorch's default α is 0.99; 0.9 is
the other common choice.  ``centered`` divides by an estimate of the gradient's standard deviation
instead of its RMS.
"""
from __future__ import annotations

from ..backend import xp
from .functional import INPLACE, grad_term
from .optimizer import Optimizer


def _rmsprop_kernel(p, g, *rest, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    rest = list(rest)
    sq = rest.pop(0)
    gavg = rest.pop(0) if centered else None
    buf = rest.pop(0) if momentum > 0 else None
    t0, t1, t2 = rest
    d = grad_term(INPLACE, p, g, t0, t1, maximize, weight_decay)
    xp.multiply(sq, alpha, out=sq)
    xp.multiply(d, d, out=t1)
    xp.multiply(t1, 1 - alpha, out=t1)
    xp.add(sq, t1, out=sq)
    if gavg is not None:
        xp.subtract(d, gavg, out=t1)          # lerp: ḡ + (1-α)(g - ḡ)
        xp.multiply(t1, 1 - alpha, out=t1)
        xp.add(gavg, t1, out=gavg)
        xp.multiply(gavg, gavg, out=t2)
        xp.subtract(sq, t2, out=t2)
        xp.sqrt(t2, out=t2)
    else:
        xp.sqrt(sq, out=t2)
    xp.add(t2, eps, out=t2)
    xp.divide(d, t2, out=t2)
    if buf is not None:
        xp.multiply(buf, momentum, out=buf)
        xp.add(buf, t2, out=buf)
        xp.multiply(buf, -lr, out=t2)
    else:
        xp.multiply(t2, -lr, out=t2)
    xp.add(p, t2, out=p)


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
    maximize=False)``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 foreach=None, maximize=False):
        for name, v in (("learning rate", lr), ("eps", eps), ("momentum", momentum),
                        ("weight_decay", weight_decay), ("alpha", alpha)):
            if v < 0.0:
                raise ValueError(f"RMSprop: invalid {name} {v} (expected >= 0)")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _step_group(self, group):
        momentum, centered = float(group["momentum"]), bool(group["centered"])
        kw = dict(lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
                  weight_decay=float(group["weight_decay"]) or None, momentum=momentum, centered=centered,
                  maximize=bool(group["maximize"]))
        tasks = []
        for p, g in self._with_grads(group):
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(p._data)
                if momentum > 0:
                    state["momentum_buffer"] = xp.zeros_like(p._data)
                if centered:
                    state["grad_avg"] = xp.zeros_like(p._data)
            state["step"] += 1
            arrays = [p._data, g, state["square_avg"]]
            if centered:
                arrays.append(state["grad_avg"])
            if momentum > 0:
                arrays.append(state["momentum_buffer"])
            tasks.append((_rmsprop_kernel, arrays, kw))
        self._run(tasks, n_tmp=3)
