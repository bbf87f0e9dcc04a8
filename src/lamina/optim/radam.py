"""RAdam (Liu et al.): Adam whose adaptive step is switched on only once the variance of
the adaptive rate is tractable, and then rectified.

The rule is ``functional.radam_`` (formulas there): while ρ_t ≤ 5 (the first steps; ρ_t
estimates the length of the approximated simple moving average of g²) the step is plain
momentum, θ ← θ - lr · m̂; afterwards it is Adam's step times the rectification r_t.
``weight_decay`` is coupled L2 decay, or with ``decoupled_weight_decay=True``
θ ← θ (1 - lr·weight_decay).  Defaults are PyTorch's; the state is ``step``, ``exp_avg`` and
``exp_avg_sq``.
"""
from __future__ import annotations

from .adam import check_adam
from .functional import radam_
from .nadam import check_flags, new_state
from .optimizer import Optimizer


class RAdam(Optimizer):
    """``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False, *,
    foreach=None, maximize=False, capturable=False, differentiable=False)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_adam("RAdam", lr, betas, eps, weight_decay)
        check_flags("RAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, foreach=foreach, maximize=maximize,
                        capturable=False, differentiable=False)
        super().__init__(params, defaults)

    def _step_group(self, group):
        pairs = self._with_grads(group)
        states = [new_state(self.state[p], p, "exp_avg_sq") for p, _ in pairs]
        for s in states:
            s["step"] += 1
        wd = float(group["weight_decay"])
        decoupled = bool(group["decoupled_weight_decay"])
        radam_([p._data for p, _ in pairs], [g for _, g in pairs], [s["exp_avg"] for s in states],
               [s["exp_avg_sq"] for s in states], [s["step"] for s in states], lr=float(group["lr"]),
               beta1=float(group["betas"][0]), beta2=float(group["betas"][1]), eps=float(group["eps"]),
               weight_decay=0.0 if decoupled else wd, decoupled_weight_decay=wd if decoupled else 0.0,
               maximize=bool(group["maximize"]))
