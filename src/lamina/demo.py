"""A 2-hidden-1 XOR network trained with the autodiff engine alone (no nn, no optim).

    X ~ U(-1, 1)^2,  y = [x1 >= 0] xor [x2 >= 0]
    a1 = σ(X W1 + b1),  f = a1 W2 + b2,  J = BCE-with-logits(f, y)
    W ← W − η ∂J/∂W   (full-batch gradient descent, η = 0.15)
"""
from __future__ import annotations

import math
import time

import numpy as np

import lamina as L

from .datasets import xor
from .train import NaNLossError


def bce_with_logits(f, y):
    # log(1 + e^f) - y f, written stably: max(f, 0) - y f + log(1 + e^-|f|)
    return (f.relu() - y * f + (-f.abs()).exp().log1p()).mean()


def train_xor(hidden: int = 2, epochs: int = 10000, lr: float = 0.15, seed: int = 0, n: int = 4000,
              log_every: int = 1000, out=print) -> float:
    """Train the 2-``hidden``-1 network above and return its test accuracy; a loss that becomes NaN or
    infinite (too large a learning rate) raises ``NaNLossError``."""
    L.manual_seed(seed)
    X_train, y_train = xor(n, seed=seed)
    Xt, yt = xor(n, seed=seed + 1)
    X, y = L.tensor(X_train, dtype=L.float32), L.tensor(y_train, dtype=L.float32).unsqueeze(1)
    bound1, bound2 = 1 / np.sqrt(2), 1 / np.sqrt(hidden)
    W1 = (L.rand(2, hidden) * 2 - 1).mul_(bound1).requires_grad_()
    b1 = (L.rand(hidden) * 2 - 1).mul_(bound1).requires_grad_()
    W2 = (L.rand(hidden, 1) * 2 - 1).mul_(bound2).requires_grad_()
    b2 = (L.rand(1) * 2 - 1).mul_(bound2).requires_grad_()
    params = [W1, b1, W2, b2]

    def model(x):
        return (x @ W1 + b1).sigmoid() @ W2 + b2

    t0 = time.perf_counter()
    for epoch in range(epochs):
        loss = bce_with_logits(model(X), y)
        if not math.isfinite(loss.item()):
            raise NaNLossError(f"loss became {loss.item()} at epoch {epoch + 1}; lower the learning rate (lr={lr})")
        loss.backward()
        with L.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        if log_every and (epoch + 1) % log_every == 0:
            out(f"epoch [{epoch + 1}/{epochs}]  loss {loss.item():.4f}")
    with L.no_grad():
        pred = model(L.tensor(Xt, dtype=L.float32)).numpy().squeeze()
    acc = float(((pred > 0).astype(int) == yt.astype(int)).mean())
    out(f"test accuracy {acc:.4f}  ({hidden} hidden units, {epochs} epochs, {time.perf_counter() - t0:.1f} s)")
    return acc
