"""NAdam (Dozat): Adam with Nesterov momentum, on PyTorch's momentum schedule.

The rule is ``functional.nadam_`` (formulas there).  The momentum coefficient warms up,
μ_t = β1 (1 - ½ 0.96^(t·momentum_decay)), and the step looks one momentum step ahead::

    θ = θ - lr · ((1 - μ_t)/(1 - Π_t) · g + μ_{t+1}/(1 - Π_t μ_{t+1}) · m) / (√v̂ + eps),   Π_t = μ_1 ⋯ μ_t

``weight_decay`` is coupled L2 decay (added to g), or with ``decoupled_weight_decay=True``
NAdamW's θ ← θ (1 - lr·weight_decay).  Defaults are PyTorch's.  The state of a parameter is
``step``, ``mu_product`` (Π_t, a float64 number; PyTorch keeps it in the default dtype, so its
results match lamina's to 1e-12 only when that is float64), ``exp_avg`` and ``exp_avg_sq``.
"""
from __future__ import annotations

from ..backend import xp
from .adam import check_adam
from .functional import nadam_
from .optimizer import Optimizer


def check_flags(owner: str, capturable: bool, differentiable: bool) -> None:
    """PyTorch's ``capturable`` and ``differentiable`` are accepted only as False (CPU, in-place steps)."""
    for name, value in (("capturable", capturable), ("differentiable", differentiable)):
        if value:
            raise ValueError(f"{owner}: {name}=True is not supported (lamina steps in place on the CPU; "
                             "use optim.functional for differentiable steps)")


def new_state(state: dict, p, second: str) -> dict:
    """Fill an empty state with step 0 and zero ``exp_avg`` and ``second`` buffers."""
    if not state:
        state.update({"step": 0, "exp_avg": xp.zeros_like(p._data), second: xp.zeros_like(p._data)})
    return state


class NAdam(Optimizer):
    """``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False, differentiable=False)``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_adam("NAdam", lr, betas, eps, weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay {momentum_decay} (expected >= 0)")
        check_flags("NAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        foreach=foreach, maximize=maximize, capturable=False, differentiable=False)
        super().__init__(params, defaults)

    def _step_group(self, group):
        pairs = self._with_grads(group)
        states = self._advanced_states(pairs)
        mu_products = [s["mu_product"] for s in states]
        nadam_([p._data for p, _ in pairs], [g for _, g in pairs], [s["exp_avg"] for s in states],
               [s["exp_avg_sq"] for s in states], mu_products, [s["step"] for s in states],
               **_kernel_options(group))
        for s, mu_product in zip(states, mu_products):
            s["mu_product"] = mu_product

    def _advanced_states(self, pairs) -> list:
        """The state of each parameter with a gradient (made on the first step), its step count advanced."""
        states = []
        for p, _ in pairs:
            state = new_state(self.state[p], p, "exp_avg_sq")
            state.setdefault("mu_product", 1.0)
            state["step"] += 1
            states.append(state)
        return states

    def _unpack_state(self, packed, param):
        out = super()._unpack_state(packed, param)
        if "mu_product" in out:           # a 0-d array (a PyTorch state dict) or a number
            out["mu_product"] = float(out["mu_product"])
        return out


def _kernel_options(group) -> dict:
    """The ``nadam_`` keyword arguments of a parameter group (weight decay coupled or decoupled)."""
    wd = float(group["weight_decay"])
    decoupled = bool(group["decoupled_weight_decay"])
    return dict(lr=float(group["lr"]), beta1=float(group["betas"][0]), beta2=float(group["betas"][1]),
                eps=float(group["eps"]), momentum_decay=float(group["momentum_decay"]),
                weight_decay=0.0 if decoupled else wd, decoupled_weight_decay=wd if decoupled else 0.0,
                maximize=bool(group["maximize"]))
