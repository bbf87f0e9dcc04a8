"""Gradient-based hyperparameter search: step the hyperparameters by their hypergradient
(``hypergradient.py``) over outer iterations.

Each outer iteration trains T steps from θ_0 (or, with ``warm_start``, from the previous θ_T),
measures f(h) = L_val(θ_T) and ∂f/∂h, and moves h.  The move is Adam's on unconstrained
coordinates (``optim.functional.adam_``): u = log h for η, λ and wd (they stay positive, and a
step of ``hyper_lr`` changes them by about that many e-folds), u = logit β for momentum (stays
in (0, 1)).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..optim.functional import adam_
from .hypergradient import _flatten_hyper, _run, _unflatten, _wrt_names

__all__ = ["HyperparameterOptimizer", "tune_by_hypergradient"]


def _to_free(name: str, v: float, log_space: bool) -> float:
    if not log_space:
        return v
    if name == "momentum":
        if not 0.0 < v < 1.0:
            raise ValueError(f"HyperparameterOptimizer: momentum={v} must be in (0, 1) to be tuned in logit space")
        return math.log(v / (1.0 - v))
    if v <= 0.0:
        raise ValueError(f"HyperparameterOptimizer: {name}={v} must be > 0 to be tuned in log space "
                         f"(start from a small positive value such as 1e-4, or pass log_space=False)")
    return math.log(v)


def _from_free(name: str, u: float, log_space: bool) -> tuple[float, float]:
    """(value, d value / d u)."""
    if not log_space:
        return u, 1.0
    if name == "momentum":
        s = 1.0 / (1.0 + math.exp(-u))
        return s, s * (1.0 - s)
    v = math.exp(u)
    return v, v


class HyperparameterOptimizer:
    """Gradient-based hyperparameter search: each ``step()`` runs ``hypergradient`` at the
    current hyperparameters and moves them against it.

    ``HyperparameterOptimizer(params, train_loss, val_loss, hyper, steps, *, wrt=None, batches=None,
    mode="reverse", hyper_lr=0.1, betas=(0.9, 0.999), log_space=True, warm_start=False)``

    The step is Adam's (so ``hyper_lr`` is roughly the change per outer step in log units) on
    u = log h (η, λ, wd) and u = logit β (momentum); ``log_space=False`` steps h itself.
    ``warm_start``: each outer step continues training from the previous θ_T (online,
    truncated hypergradients) instead of restarting from θ_0.  A step that makes the
    validation loss non-finite is undone and ``hyper_lr`` halved.
    """

    def __init__(self, params, train_loss, val_loss, hyper: dict, steps: int, *, wrt=None, batches=None,
                 mode: str = "reverse", hyper_lr: float = 0.1, betas=(0.9, 0.999), log_space: bool = True,
                 warm_start: bool = False):
        if not hyper_lr > 0:
            raise ValueError(f"HyperparameterOptimizer: hyper_lr must be > 0, got {hyper_lr}")
        self.params, self.train_loss, self.val_loss = params, train_loss, val_loss
        self.steps, self.batches, self.mode = steps, batches, mode
        self.hyper_lr, self.betas, self.log_space, self.warm_start = float(hyper_lr), betas, log_space, warm_start
        self._template = hyper
        self._flat = _flatten_hyper(hyper)
        self.wrt = _wrt_names(hyper, wrt, "HyperparameterOptimizer")
        self._keys = [k for k in self._flat if k[0] in self.wrt]
        self._u = np.array([_to_free(k[0], self._flat[k], log_space) for k in self._keys])
        self._m = np.zeros_like(self._u)
        self._v = np.zeros_like(self._u)
        self._t = 0
        self._theta: list | None = None
        self._last: np.ndarray | None = None   # u before the last move, to undo it
        self.history: list[dict] = []

    @property
    def hyper(self) -> dict:
        """The current hyperparameters, shaped like the ``hyper`` given."""
        flat = dict(self._flat)
        for k, u in zip(self._keys, self._u):
            flat[k] = _from_free(k[0], float(u), self.log_space)[0]
        return _unflatten(flat, self._template)

    @property
    def best(self) -> dict:
        """The history entry with the lowest validation loss."""
        if not self.history:
            raise ValueError("HyperparameterOptimizer.best: no step taken yet")
        return min(self.history, key=lambda r: r["value"] if math.isfinite(r["value"]) else math.inf)

    def step(self) -> float:
        """One outer iteration; returns the validation loss at the hyperparameters it started from."""
        hyper = self.hyper
        with np.errstate(over="ignore", invalid="ignore"):    # a diverging run is handled below
            value, grads, final, _ = _run(self.params, self.train_loss, self.val_loss, hyper, self.steps,
                                          self.wrt, self.batches, self.mode, theta0=self._theta)
        g = np.array([grads[k] * _from_free(k[0], float(u), self.log_space)[1]
                      for k, u in zip(self._keys, self._u)])
        with np.errstate(over="ignore", invalid="ignore"):
            finite = math.isfinite(value) and bool(np.all(np.isfinite(g * g)))
        self.history.append({"value": value, "hyper": hyper,
                             "grads": _unflatten(grads, {n: self._template[n] for n in self.wrt}) if grads else {}})
        if not finite:
            if self._last is None:
                raise FloatingPointError(f"HyperparameterOptimizer: the validation loss ({value}) or its "
                                         f"hypergradient is not finite at the starting hyperparameters {hyper}; "
                                         "start from smaller ones")
            self._u = self._last
            self._last = None
            self.hyper_lr /= 2
            return value
        if self.warm_start:
            self._theta = list(final.values())
        self._t += 1
        self._last = self._u.copy()
        adam_([self._u], [g], [self._m], [self._v], None, [self._t], lr=self.hyper_lr, beta1=float(self.betas[0]),
              beta2=float(self.betas[1]), eps=1e-12)
        return value


def tune_by_hypergradient(params, train_loss, val_loss, hyper: dict, steps: int, outer_steps: int = 20,
                          callback: Callable[[int, dict], Any] | None = None, **options) -> HyperparameterOptimizer:
    """Run ``outer_steps`` iterations of ``HyperparameterOptimizer`` (same arguments and ``options``);
    ``callback(i, record)`` after each.  Returns the optimizer: ``.best``, ``.history``, ``.hyper``."""
    if isinstance(outer_steps, bool) or int(outer_steps) != outer_steps or outer_steps < 1:
        raise ValueError(f"tune_by_hypergradient: outer_steps must be an int >= 1, got {outer_steps!r}")
    opt = HyperparameterOptimizer(params, train_loss, val_loss, hyper, steps, **options)
    for i in range(int(outer_steps)):
        opt.step()
        if callback is not None:
            callback(i, opt.history[-1])
    return opt
