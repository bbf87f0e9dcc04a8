"""Online hypergradient descent (Baydin, Cornish, Martínez Rubio, Schmidt & Wood, ICLR 2018):
the learning rate learns itself, one multiply-add per parameter per step.

The update θ_t = θ_{t-1} − α u_{t-1}(α) makes the loss depend on α through the last step
only (the approximation of the paper), with ∂f(θ_t)/∂α = −⟨∇f(θ_t), u_{t-1}⟩.  So before
each step the learning rate of a parameter group moves against that derivative::

    α_t = α_{t-1} + β · Σ_p ⟨g_t, u_{t-1}⟩             β = ``hypergrad_lr``

where g_t is the gradient (with coupled weight decay added) and u_{t-1} is the previous
step's direction: the previous gradient for plain SGD (momentum buffer / Nesterov
direction with momentum), m̂/(√v̂ + ε) of the previous step for Adam.  α grows while
consecutive steps point the same way and shrinks when they oscillate.  The first step
(no u yet) uses the initial α.  ``param_groups[i]['lr']`` holds the current α.

Defaults of β follow the paper's experiments (10⁻³ for SGD-HD, 10⁻⁷ for Adam-HD); β is in
units of α per unit of ⟨g, u⟩, so it depends on the scale of the loss and the model size.
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["SGDHD", "AdamHD"]


def _direction_sgd(p, g, state, momentum, dampening, nesterov):
    """The step direction of PyTorch's SGD (updates the momentum buffer)."""
    if momentum == 0:
        return g
    buf = state.get("momentum_buffer")
    if buf is None:
        buf = state["momentum_buffer"] = g.copy()
    else:
        buf *= momentum
        buf += (1 - dampening) * g
    return g + momentum * buf if nesterov else buf


class SGDHD(Optimizer):
    """``SGDHD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, hypergrad_lr=1e-3)``:
    SGD whose learning rate follows α += β⟨g_t, u_{t-1}⟩ (SGD-HD / SGDN-HD)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 hypergrad_lr=1e-3):
        if lr < 0.0:
            raise ValueError(f"SGDHD: invalid learning rate {lr} (expected >= 0)")
        if momentum < 0.0:
            raise ValueError(f"SGDHD: invalid momentum {momentum} (expected >= 0)")
        if weight_decay < 0.0:
            raise ValueError(f"SGDHD: invalid weight_decay {weight_decay} (expected >= 0)")
        if hypergrad_lr < 0.0:
            raise ValueError(f"SGDHD: invalid hypergrad_lr {hypergrad_lr} (expected >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGDHD: Nesterov momentum requires momentum > 0 and dampening = 0, "
                             f"got momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, hypergrad_lr=hypergrad_lr))

    def _step_group(self, group):
        wd, momentum = float(group["weight_decay"]), float(group["momentum"])
        items = []
        h = 0.0
        for p, g in self._with_grads(group):
            d = g + wd * p._data if wd != 0 else g
            prev = self.state[p].get("prev_direction")
            if prev is not None:
                h += float(np.vdot(d, prev))
            items.append((p, d))
        group["lr"] = float(group["lr"]) + float(group["hypergrad_lr"]) * h
        lr = group["lr"]
        for p, d in items:
            state = self.state[p]
            u = _direction_sgd(p, d, state, momentum, float(group["dampening"]), bool(group["nesterov"]))
            state["prev_direction"] = np.array(u, copy=True)
            p._data -= lr * u


class AdamHD(Optimizer):
    """``AdamHD(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, hypergrad_lr=1e-7)``:
    Adam whose learning rate follows α += β⟨g_t, m̂_{t-1}/(√v̂_{t-1} + ε)⟩ (Adam-HD)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, hypergrad_lr=1e-7):
        if lr < 0.0:
            raise ValueError(f"AdamHD: invalid learning rate {lr} (expected >= 0)")
        if eps < 0.0:
            raise ValueError(f"AdamHD: invalid eps {eps} (expected >= 0)")
        if len(betas) != 2 or not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"AdamHD: invalid betas {betas} (expected two values in [0, 1))")
        if weight_decay < 0.0:
            raise ValueError(f"AdamHD: invalid weight_decay {weight_decay} (expected >= 0)")
        if hypergrad_lr < 0.0:
            raise ValueError(f"AdamHD: invalid hypergrad_lr {hypergrad_lr} (expected >= 0)")
        super().__init__(params, dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps,
                                      weight_decay=weight_decay, hypergrad_lr=hypergrad_lr))

    @staticmethod
    def _direction(state, beta1, beta2, eps):
        """m̂/(√v̂ + ε) from the stored moments (PyTorch's Adam step direction)."""
        t = state["step"]
        return (state["exp_avg"] / (1 - beta1 ** t)) / (np.sqrt(state["exp_avg_sq"] / (1 - beta2 ** t)) + eps)

    def _step_group(self, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        eps, wd = float(group["eps"]), float(group["weight_decay"])
        items = []
        h = 0.0
        for p, g in self._with_grads(group):
            d = g + wd * p._data if wd != 0 else g
            state = self.state[p]
            if state:
                h += float(np.vdot(d, self._direction(state, beta1, beta2, eps)))
            items.append((p, d))
        group["lr"] = float(group["lr"]) + float(group["hypergrad_lr"]) * h
        lr = group["lr"]
        for p, d in items:
            state = self.state[p]
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(p._data), exp_avg_sq=np.zeros_like(p._data))
            state["step"] += 1
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            m += (1 - beta1) * d
            v *= beta2
            v += (1 - beta2) * (d * d)
            p._data -= lr * self._direction(state, beta1, beta2, eps)
