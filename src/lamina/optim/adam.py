"""Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter).

Adam combines momentum (a running mean of gradients) with RMSProp (a running mean
of squared gradients), both corrected for their zero start::

    m = β1 m + (1 - β1) g                 v = β2 v + (1 - β2) g²
    m̂ = m / (1 - β1^t)                    v̂ = v / (1 - β2^t)      (bias correction)
    θ = θ - lr · m̂ / (√v̂ + eps)

``amsgrad`` divides by the running maximum of v instead of v.  ``weight_decay`` in
``Adam`` is coupled L2 decay (added to g); in ``AdamW`` it is decoupled:
``θ = θ (1 - lr · weight_decay)`` before the Adam step.  Defaults are PyTorch's.

The rule is ``functional.adam_`` (in-place ufuncs run block by block, see ``_foreach``).
Speed: the two moments are kept *up to a scalar factor* so that each costs fewer passes
over memory (10 instead of 12; about 20% faster on 1M parameters):

    exp_avg    = state['exp_avg_scale']    · state['exp_avg']        (buffer m̃, factor F1)
    exp_avg_sq = state['exp_avg_sq_scale'] · state['exp_avg_sq']     (buffer ṽ, factor F2)

One step is F1 ← β1·F1, m̃ += ((1-β1)/F1)·g (so that F1·m̃ = β1 m + (1-β1) g exactly),
the same for ṽ with g², then θ -= (lr·F1·√bc2/(bc1·√F2)) · m̃ / (√ṽ + eps·√bc2/√F2).
When β·F would fall below 1e-10 (or β = 0) that step keeps the moment exact instead:
m̃ ← β F m̃ + (1-β) g and F ← 1.  With ``amsgrad`` the moments are kept exactly (factor 1): it
needs the true v for its running maximum.

``state_dict()`` only reads: it exports the true moments ``exp_avg = F1·m̃`` and ``exp_avg_sq = F2·ṽ``
(PyTorch's layout; new arrays), so use it — not ``optimizer.state`` — to read them.  While a factor is
not 1 it also exports the buffer and its factor (``scaled_exp_avg``, ``scaled_exp_avg_factor``; the
same for ``exp_avg_sq``): F·m̃ rounds, and m̃ cannot be recovered from it exactly, so without them a
run resumed from the dict would drift from one that never stopped (by ~1e-16 relative per step).
``load_state_dict`` takes the buffer and factor when present, else the true moments with factor 1
(a dict written by PyTorch).
Results agree with PyTorch's to rounding (~1e-15 relative per step in float64).
"""
from __future__ import annotations

from ..backend import xp
from .functional import adam_
from .optimizer import Optimizer

_RENORMALIZE = 1e-10   # a moment's factor is not allowed below this: that step keeps the moment exact


def _next_scale(f: float, beta: float, exact: bool) -> float:
    """The factor after one step: β·F (the buffer is not multiplied), or 1 (exact moment)."""
    moved = f * beta
    return 1.0 if exact or moved < _RENORMALIZE else moved


_MOMENTS = ("exp_avg", "exp_avg_sq")


def _pack_moments(state: dict) -> dict:
    """The exported state of one parameter: the true moments F·buffer (new arrays), and the buffer with its
    factor F too while F != 1 (so that loading restores the state exactly).  Reads ``state`` only."""
    out = {k: v for k, v in state.items() if not k.endswith("_scale") and k not in _MOMENTS}
    for key in _MOMENTS:
        if key not in state:
            continue
        buf, f = state[key], float(state.get(key + "_scale", 1.0))
        out[key] = buf * buf.dtype.type(f) if f != 1.0 else buf.copy()
        if f != 1.0:
            out["scaled_" + key] = buf.copy()
            out["scaled_" + key + "_factor"] = f
    return out


def _unpack_moments(state: dict) -> dict:
    """Inverse of ``_pack_moments`` (arrays already copied and cast): buffer and factor when saved, else the
    true moment with factor 1."""
    out = {k: v for k, v in state.items() if not k.startswith("scaled_")}
    for key in _MOMENTS:
        if "scaled_" + key in state:
            out[key] = state["scaled_" + key]
            out[key + "_scale"] = float(state["scaled_" + key + "_factor"])
    return out


def check_adam(owner: str, lr, betas, eps, weight_decay) -> None:
    """Adam's hyperparameters: lr, eps and weight_decay >= 0, two betas in [0, 1)."""
    if lr < 0.0:
        raise ValueError(f"{owner}: invalid learning rate {lr} (expected >= 0)")
    if eps < 0.0:
        raise ValueError(f"{owner}: invalid eps {eps} (expected >= 0)")
    if len(betas) != 2 or not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
        raise ValueError(f"{owner}: invalid betas {betas} (expected two values in [0, 1))")
    if weight_decay < 0.0:
        raise ValueError(f"{owner}: invalid weight_decay {weight_decay} (expected >= 0)")


def _weight_decays(group: dict) -> tuple[float, float]:
    """(coupled, decoupled) weight decay coefficients of a group."""
    wd = float(group["weight_decay"])
    return (0.0, wd) if group["decoupled_weight_decay"] else (wd, 0.0)


def _column(states: list, key: str) -> list:
    return [s[key] for s in states]


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    maximize=False, decoupled_weight_decay=False)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 foreach=None, maximize=False, decoupled_weight_decay=False):
        check_adam(type(self).__name__, lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _advance(self, p, betas, amsgrad: bool) -> tuple:
        """Count the step of ``p`` (creating its state) and move its factors: (F1, F1', F2, F2')."""
        state = self.state[p]
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p._data), exp_avg_sq=xp.zeros_like(p._data))
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = xp.zeros_like(p._data)
        state["step"] += 1
        scales = []
        for key, beta in zip(("exp_avg_scale", "exp_avg_sq_scale"), betas):
            f = state.get(key, 1.0)
            state[key] = _next_scale(f, beta, amsgrad)
            scales += [f, state[key]]
        return tuple(scales)

    def _step_group(self, group):
        betas = (float(group["betas"][0]), float(group["betas"][1]))
        amsgrad = bool(group["amsgrad"])
        params, grads, scales = [], [], []
        for p, g in self._with_grads(group):
            scales.append(self._advance(p, betas, amsgrad))
            params.append(p)
            grads.append(g)
        states = [self.state[p] for p in params]
        coupled, decoupled = _weight_decays(group)
        adam_([p._data for p in params], grads, _column(states, "exp_avg"), _column(states, "exp_avg_sq"),
              _column(states, "max_exp_avg_sq") if amsgrad else None, _column(states, "step"),
              lr=float(group["lr"]), beta1=betas[0], beta2=betas[1], eps=float(group["eps"]), weight_decay=coupled,
              decoupled_weight_decay=decoupled, maximize=bool(group["maximize"]), scales=scales)

    def _pack_state(self, state):
        return super()._pack_state(_pack_moments(state))

    def _unpack_state(self, packed, param):
        return _unpack_moments(super()._unpack_state(packed, param))


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False)``: Adam with decoupled weight decay θ ← θ(1 - lr·λ)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize, decoupled_weight_decay=True)
