"""Training diagnostics.

* dead ReLUs (a unit that outputs 0 for every example of a batch no longer learns) and
  saturated sigmoid/tanh units (σ near 0 or 1, tanh near ±1, where the derivative vanishes):
  ``ActivationMonitor`` reports their share per layer.
* gradient norms per layer: ``GradientNormMonitor`` (exploding / vanishing gradients).
* the cost averaged over the last k iterations, a smoother convergence curve:
  ``RunningCost``.
* overfit one sample, then a handful, before training on everything: ``overfit_check``.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..backend import manual_seed
from ..tensor import Tensor, as_tensor
from .callbacks import Callback
from .plots import plot_convergence


def _kind(module) -> str | None:
    name = type(module).__name__.lower()
    if name in ("relu", "relu6", "leakyrelu"):
        return "relu"
    if name in ("sigmoid", "hardsigmoid"):
        return "sigmoid"
    if name == "tanh":
        return "tanh"
    return None


class ActivationMonitor(Callback):
    """Share of dead ReLU units and of saturated sigmoid/tanh activations per activation layer,
    averaged over the batches of an epoch and logged as ``dead_relu/<layer>`` and
    ``saturated/<layer>``.

    A ReLU unit (one feature / channel) is dead on a batch when it is 0 for every example;
    a sigmoid output is saturated below ``eps`` or above 1 − ``eps``, a tanh one beyond ±(1 − ``eps``)."""

    produces_logs = True

    def __init__(self, eps: float = 0.01, every: int = 1):
        self.eps, self.every = eps, every
        self._handles: list = []
        self._sums: dict[str, list] = {}
        self._batch = 0

    def on_train_begin(self, logs=None):
        for name, m in self.model.named_modules():
            kind = _kind(m)
            if kind is not None:
                self._handles.append(m.register_forward_hook(self._hook(name or type(m).__name__, kind)))

    def _hook(self, name, kind):
        def hook(module, _inputs, output):   # PyTorch's forward-hook signature
            if not module.training or self._batch % self.every:
                return
            y = output._data
            if kind == "relu":
                alive = (y > 0).reshape(y.shape[0], y.shape[1], -1).any(axis=(0, 2)) if y.ndim > 1 else (y > 0).any()
                share = 1.0 - float(np.mean(alive))
                key = f"dead_relu/{name}"
            elif kind == "sigmoid":
                share = float(np.mean((y < self.eps) | (y > 1 - self.eps)))
                key = f"saturated/{name}"
            else:
                share = float(np.mean(np.abs(y) > 1 - self.eps))
                key = f"saturated/{name}"
            acc = self._sums.setdefault(key, [0.0, 0])
            acc[0] += share
            acc[1] += 1
        return hook

    def on_batch_end(self, batch, logs=None):
        self._batch += 1

    def state_dict(self) -> dict:
        """The batch counter (which batches are sampled, every ``every``-th, runs across epochs)."""
        return {"batch": self._batch}

    def load_state_dict(self, state: dict) -> None:
        self._batch = int(state.get("batch", 0))

    def on_epoch_begin(self, epoch, logs=None):
        self._sums = {}

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for k, (s, n) in self._sums.items():
                logs[k] = s / max(n, 1)

    def on_train_end(self, logs=None):
        for h in self._handles:
            h.remove()
        self._handles = []


class GradientNormMonitor(Callback):
    """L2 norm of the gradient of each parameter (or each top-level layer with ``per='layer'``),
    averaged over the epoch's batches and logged as ``grad_norm/<name>``; ``grad_norm/total`` too."""

    produces_logs = True

    def __init__(self, per: str = "parameter"):
        if per not in ("parameter", "layer"):
            raise ValueError(f"GradientNormMonitor: per must be 'parameter' or 'layer', got {per!r}")
        self.per = per
        self._sums: dict[str, list] = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._sums = {}

    def on_backward_end(self, batch, logs=None):
        sq: dict[str, float] = {}
        for name, p in self.model.named_parameters():
            if p.grad is None:
                continue
            key = name if self.per == "parameter" else name.split(".")[0]
            g = p.grad._data
            sq[key] = sq.get(key, 0.0) + float(np.dot(g.ravel(), g.ravel()))
        sq["total"] = sum(sq.values())
        for k, v in sq.items():
            acc = self._sums.setdefault(f"grad_norm/{k}", [0.0, 0])
            acc[0] += math.sqrt(v)
            acc[1] += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for k, (s, n) in self._sums.items():
                logs[k] = s / max(n, 1)


class RunningCost(Callback):
    """Convergence monitor: the cost averaged over the last ``k`` iterations, (1/k) Σ_{i=t-k+1..t} cost_i,
    kept per batch in ``self.values`` and logged per epoch as ``avg_cost``."""

    produces_logs = True

    def __init__(self, k: int = 100):
        self.k = k
        self._window: deque[float] = deque(maxlen=k)
        self.values: list[float] = []

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            self._window.append(float(loss))
            self.values.append(sum(self._window) / len(self._window))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.values:
            logs["avg_cost"] = self.values[-1]

    def state_dict(self) -> dict:
        """The last k costs (the window runs across epochs) and the averages so far."""
        return {"window": list(self._window), "values": list(self.values)}

    def load_state_dict(self, state: dict) -> None:
        self._window = deque((float(v) for v in state.get("window", [])), maxlen=self.k)
        self.values = [float(v) for v in state.get("values", [])]

    def plot(self, path=None):
        return plot_convergence(self.trainer.history.batch_losses, self.k, path)


def overfit_check(make_model, loss_fn, make_optimizer, X, y, sizes=(1, 8), steps: int = 300,
                  tol: float = 1e-2, seed: int = 0) -> dict:
    """Sanity check: a fresh model must drive the loss on 1 sample (then on a handful)
    close to 0. Returns ``{size: final_loss}`` and ``passed``; a model that cannot overfit a handful
    of examples has a bug (wrong loss, wrong labels, no gradient flowing) or too little capacity."""
    report: dict[str, Any] = {"losses": {}, "passed": True}
    X = X if isinstance(X, Tensor) else as_tensor(np.asarray(X))
    y = y if isinstance(y, Tensor) else as_tensor(np.asarray(y))
    for n in sizes:
        manual_seed(seed)
        model = make_model()
        opt = make_optimizer(model.parameters())
        xb, yb = X[:n], y[:n]
        model.train()
        loss = None
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        with no_grad():
            model.eval()
            final = float(loss_fn(model(xb), yb).item())
        report["losses"][n] = final
        if not final <= tol:
            report["passed"] = False
    return report
