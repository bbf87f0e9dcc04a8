"""Online hypergradient descent (Baydin, Cornish, Martínez Rubio, Schmidt & Wood, ICLR 2018):
the learning rate learns itself, one multiply-add per parameter per step.

The update θ_t = θ_{t-1} − α u_{t-1}(α) makes the loss depend on α through the last step
only (the approximation of the paper), with ∂f(θ_t)/∂α = −⟨∇f(θ_t), u_{t-1}⟩.  So before
each step the learning rate of a parameter group moves against that derivative::

    α_t = α_{t-1} + β · Σ_p ⟨g_t, u_{t-1}⟩             β = ``hypergrad_lr``

where g_t is the gradient with coupled weight decay added, g_t = ∇f(θ) + λθ (λ = ``weight_decay``,
the gradient of the L2 penalty λ/2·‖θ‖², lamina's one definition: ``nn.regularization.l2``), and u_{t-1} is the previous
step's direction: the previous gradient for plain SGD (momentum buffer / Nesterov
direction with momentum), m̂/(√v̂ + ε) of the previous step for Adam.  α grows while
consecutive steps point the same way and shrinks when they oscillate.  The first step
(no u yet) uses the initial α.  ``param_groups[i]['lr']`` holds the current α.

Defaults of β follow the paper's experiments (10⁻³ for SGD-HD, 10⁻⁷ for Adam-HD); β is in
units of α per unit of ⟨g, u⟩, so it depends on the scale of the loss and the model size.
"""
from __future__ import annotations

from ..backend import xp
from .adam import check_adam
from .functional import adam_, sgd_
from .optimizer import Optimizer
from .sgd import check_sgd

__all__ = ["SGDHD", "AdamHD"]


def _check_hypergrad_lr(owner: str, hypergrad_lr) -> None:
    if hypergrad_lr < 0.0:
        raise ValueError(f"{owner}: invalid hypergrad_lr {hypergrad_lr} (expected >= 0)")


def _hypergradient(pairs, state) -> float:
    """Σ_p ⟨d_p, u_p⟩ over the parameters that have a previous direction u (``prev_direction``)."""
    h = 0.0
    for p, d in pairs:
        prev = state[p].get("prev_direction")
        if prev is not None:
            h += float(xp.vdot(d, prev))
    return h


def _decayed(group: dict, pairs) -> list:
    """(parameter, d = g + λθ) for every parameter with a gradient: λ = weight_decay, the L2 penalty λ/2·‖θ‖²."""
    wd = float(group["weight_decay"])
    return [(p, g + wd * p._data if wd != 0 else g) for p, g in pairs]


def _move_lr(group: dict, h: float) -> float:
    """α_t = α_{t-1} + β·h; returns α_t."""
    group["lr"] = float(group["lr"]) + float(group["hypergrad_lr"]) * h
    return group["lr"]


def _directions(state, params) -> list:
    """Each parameter's ``prev_direction`` array (created on first use), to receive this step's u."""
    return [state[p].setdefault("prev_direction", xp.empty_like(p._data)) for p in params]


class SGDHD(Optimizer):
    """``SGDHD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, hypergrad_lr=1e-3)``:
    SGD whose learning rate follows α += β⟨g_t, u_{t-1}⟩ (SGD-HD / SGDN-HD)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 hypergrad_lr=1e-3):
        check_sgd("SGDHD", lr, momentum, dampening, weight_decay, nesterov)
        _check_hypergrad_lr("SGDHD", hypergrad_lr)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, hypergrad_lr=hypergrad_lr))

    def _step_group(self, group):
        items = _decayed(group, self._with_grads(group))
        lr = _move_lr(group, _hypergradient(items, self.state))
        params = [p for p, _ in items]
        momentum = float(group["momentum"])
        bufs = [self.state[p].get("momentum_buffer") for p in params]
        sgd_([p._data for p in params], [d for _, d in items], bufs, lr=lr, momentum=momentum,
             dampening=float(group["dampening"]), nesterov=bool(group["nesterov"]),
             directions=_directions(self.state, params))
        if momentum != 0:
            for p, buf in zip(params, bufs):
                self.state[p]["momentum_buffer"] = buf


class AdamHD(Optimizer):
    """``AdamHD(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, hypergrad_lr=1e-7)``:
    Adam whose learning rate follows α += β⟨g_t, m̂_{t-1}/(√v̂_{t-1} + ε)⟩ (Adam-HD)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, hypergrad_lr=1e-7):
        check_adam("AdamHD", lr, betas, eps, weight_decay)
        _check_hypergrad_lr("AdamHD", hypergrad_lr)
        super().__init__(params, dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps,
                                      weight_decay=weight_decay, hypergrad_lr=hypergrad_lr))

    def _step_group(self, group):
        items = _decayed(group, self._with_grads(group))
        lr = _move_lr(group, _hypergradient(items, self.state))
        params = [p for p, _ in items]
        states = [self._count_step(p) for p in params]
        beta1, beta2 = (float(b) for b in group["betas"])
        adam_([p._data for p in params], [d for _, d in items], [s["exp_avg"] for s in states],
              [s["exp_avg_sq"] for s in states], None, [s["step"] for s in states], lr=lr, beta1=beta1,
              beta2=beta2, eps=float(group["eps"]), directions=_directions(self.state, params))

    def _count_step(self, p) -> dict:
        """The state of ``p`` (moments created at its first step) with its step counted."""
        state = self.state[p]
        if "step" not in state:
            state.update(step=0, exp_avg=xp.zeros_like(p._data), exp_avg_sq=xp.zeros_like(p._data))
        state["step"] += 1
        return state
