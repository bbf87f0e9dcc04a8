"""Adamax (Kingma & Ba): Adam with the second moment replaced by an exponentially weighted
infinity norm of the gradients.

The rule is ``functional.adamax_``::

    m = β1 m + (1 - β1) g          u = max(β2 u, |g| + eps)
    θ = θ - lr / (1 - β1^t) · m / u

(g = ∇L, + weight_decay·θ, negated if ``maximize``).  Defaults are PyTorch's; the state is
``step``, ``exp_avg`` and ``exp_inf``.
"""
from __future__ import annotations

from .adam import check_adam
from .functional import adamax_
from .nadam import check_flags, new_state
from .optimizer import Optimizer


class Adamax(Optimizer):
    """``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
    maximize=False, differentiable=False, capturable=False)``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_adam("Adamax", lr, betas, eps, weight_decay)
        check_flags("Adamax", capturable, differentiable)
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=False, capturable=False)
        super().__init__(params, defaults)

    def _step_group(self, group):
        pairs = self._with_grads(group)
        states = [new_state(self.state[p], p, "exp_inf") for p, _ in pairs]
        for s in states:
            s["step"] += 1
        adamax_([p._data for p, _ in pairs], [g for _, g in pairs], [s["exp_avg"] for s in states],
                [s["exp_inf"] for s in states], [s["step"] for s in states], lr=float(group["lr"]),
                beta1=float(group["betas"][0]), beta2=float(group["betas"][1]), eps=float(group["eps"]),
                weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]))
