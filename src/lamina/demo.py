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


# ---------------------------------------------------------------------------- backpropagation by hand
def xor_forward(params: dict, X: np.ndarray) -> dict:
    """The forward pass of the 2-2-1 sigmoid network on the rows of ``X`` (float64, no autograd):

        z1 = X W1 + b1,  a1 = σ(z1),  z2 = a1 W2 + b2,  a2 = σ(z2),   σ(z) = 1 / (1 + e^−z)

    Returns every intermediate (``z1, a1, z2, a2``), which the backward pass reuses."""
    z1 = X @ params["W1"] + params["b1"]
    a1 = 1.0 / (1.0 + np.exp(-z1))
    z2 = a1 @ params["W2"] + params["b2"]
    a2 = 1.0 / (1.0 + np.exp(-z2))
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2}


def xor_cost(a2: np.ndarray, y: np.ndarray) -> float:
    """J = −(1/N) Σᵢ [yᵢ log a2ᵢ + (1 − yᵢ) log(1 − a2ᵢ)], the binary cross-entropy."""
    a2, y = a2.reshape(-1), y.reshape(-1)
    return float(-np.mean(y * np.log(a2) + (1 - y) * np.log(1 - a2)))


def xor_manual_gradients(params: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """∂J/∂W1, ∂J/∂b1, ∂J/∂W2, ∂J/∂b2 of the network of ``xor_forward`` by the chain rule, written out layer
    by layer and vectorized over the N rows of ``X`` (shapes: X (N, 2), W1 (2, H), b1 (H,), W2 (H, 1), b2 (1,)):

        ∂J/∂a2 = −(1/N) (y / a2 − (1 − y) / (1 − a2))
        ∂J/∂z2 = ∂J/∂a2 ∘ σ'(z2),  σ'(z) = σ(z)(1 − σ(z))   ⇒  ∂J/∂z2 = (a2 − y) / N
        ∂J/∂W2 = a1ᵀ ∂J/∂z2,       ∂J/∂b2 = Σᵢ (∂J/∂z2)ᵢ
        ∂J/∂a1 = ∂J/∂z2 W2ᵀ
        ∂J/∂z1 = ∂J/∂a1 ∘ a1 ∘ (1 − a1)
        ∂J/∂W1 = Xᵀ ∂J/∂z1,        ∂J/∂b1 = Σᵢ (∂J/∂z1)ᵢ

    (∂J/∂z2 uses the simplified form, (a2 − y)/N: the product of the first two lines, without the
    division by a2(1 − a2) that loses digits when a2 nears 0 or 1.)"""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    f = xor_forward(params, X)
    n = X.shape[0]
    dz2 = (f["a2"] - y) / n                      # (N, 1)
    dW2 = f["a1"].T @ dz2                        # (H, 1)
    db2 = dz2.sum(axis=0)                        # (1,)
    da1 = dz2 @ params["W2"].T                   # (N, H)
    dz1 = da1 * f["a1"] * (1 - f["a1"])          # σ'(z1) = a1 (1 − a1)
    dW1 = X.T @ dz1                              # (2, H)
    db1 = dz1.sum(axis=0)                        # (H,)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def xor_autograd_gradients(params: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """The same four gradients from lamina's autograd: the cost J of ``xor_cost`` built from float64 tensors
    and ``J.backward()``."""
    leaves = {k: L.tensor(np.asarray(v, dtype=np.float64), dtype=L.float64).requires_grad_()
              for k, v in params.items()}
    Xt = L.tensor(np.asarray(X, dtype=np.float64), dtype=L.float64)
    yt = L.tensor(np.asarray(y, dtype=np.float64).reshape(-1, 1), dtype=L.float64)
    a1 = (Xt @ leaves["W1"] + leaves["b1"]).sigmoid()
    a2 = (a1 @ leaves["W2"] + leaves["b2"]).sigmoid()
    cost = -(yt * a2.log() + (1 - yt) * (1 - a2).log()).mean()
    cost.backward()
    grads = {}
    for k, t in leaves.items():
        if t.grad is None:
            raise RuntimeError(f"xor_autograd_gradients: autograd gave no gradient for {k}")
        grads[k] = t.grad.numpy()
    return grads


def _init_xor_params(hidden: int, rng: np.random.Generator) -> dict:
    """W, b ~ U(−1/√fan_in, 1/√fan_in), as nn.Linear initialises them."""
    b1, b2 = 1 / np.sqrt(2), 1 / np.sqrt(hidden)
    return {"W1": rng.uniform(-b1, b1, (2, hidden)), "b1": rng.uniform(-b1, b1, hidden),
            "W2": rng.uniform(-b2, b2, (hidden, 1)), "b2": rng.uniform(-b2, b2, 1)}


def _side_by_side(step: int, cost: float, manual: dict, auto: dict, out) -> None:
    rows = [(k, " ".join(f"{v:+.6e}" for v in manual[k].reshape(-1)), " ".join(f"{v:+.6e}" for v in auto[k].reshape(-1)),
             float(np.abs(manual[k] - auto[k]).max())) for k in manual]
    w = max(len(r[1]) for r in rows)
    out(f"step {step}: J = {cost:.6f}")
    out(f"  {'':6} {'by hand':<{w}}   {'autograd':<{w}}   max |diff|")
    for k, fm, fa, diff in rows:
        out(f"  ∂J/∂{k:<2} {fm:<{w}}   {fa:<{w}}   {diff:.1e}")


def train_xor_manual(hidden: int = 2, epochs: int = 10000, lr: float = 0.15, seed: int = 0, show=(0, 1, 2),
                     rtol: float = 1e-10, atol: float = 1e-12, out=print) -> dict:
    """Train the 2-``hidden``-1 sigmoid network of ``xor_forward`` on the four XOR points {[0,0], [0,1], [1,0],
    [1,1]} → [0, 1, 1, 0] by full-batch gradient descent, W ← W − η ∂J/∂W, with the gradients of
    ``xor_manual_gradients`` (the chain rule by hand, NumPy float64).

    At every step the hand-written gradients are checked against lamina's autograd
    (``xor_autograd_gradients``): ``np.allclose(manual, autograd, rtol, atol)`` for each of the four, else
    ``AssertionError`` naming the step and parameter. The steps in ``show`` and the last step are printed with
    both gradients side by side. Returns ``{"cost", "accuracy", "predictions", "max_diff", "params"}``
    (``max_diff``: the largest |manual − autograd| over all steps and parameters)."""
    from .datasets import xor_table

    X, y = xor_table()
    params = _init_xor_params(hidden, np.random.default_rng(seed))
    shown = set(show) | {epochs - 1}
    worst, t0 = 0.0, time.perf_counter()
    for step in range(epochs):
        manual = xor_manual_gradients(params, X, y)
        auto = xor_autograd_gradients(params, X, y)
        for k in manual:
            diff = float(np.abs(manual[k] - auto[k]).max())
            worst = max(worst, diff)
            if not np.allclose(manual[k], auto[k], rtol=rtol, atol=atol):
                raise AssertionError(f"xor --manual: step {step}: the hand-written ∂J/∂{k} {manual[k].tolist()} "
                                     f"differs from autograd's {auto[k].tolist()} (max |diff| {diff:.3e})")
        cost = xor_cost(xor_forward(params, X)["a2"], y)
        if not math.isfinite(cost):
            raise NaNLossError(f"cost became {cost} at step {step + 1}; lower the learning rate (lr={lr})")
        if step in shown:
            _side_by_side(step, cost, manual, auto, out)
        for k in params:
            params[k] = params[k] - lr * manual[k]
    a2 = xor_forward(params, X)["a2"].reshape(-1)
    cost = xor_cost(a2, y)
    acc = float(((a2 > 0.5) == (y > 0.5)).mean())
    out(f"the hand-written gradients equal autograd's at all {epochs} steps (max |diff| {worst:.1e}, "
        f"rtol {rtol:g}, atol {atol:g})")
    out("outputs a2 on [0,0] [0,1] [1,0] [1,1]: " + " ".join(f"{v:.4f}" for v in a2)
        + f"  (targets 0 1 1 0); cost {cost:.4f}, accuracy {acc:.2f}  ({time.perf_counter() - t0:.1f} s)")
    if acc < 1 and abs(cost - math.log(2) / 2) < 0.02:
        out("stuck in the local minimum of the 2-2-1 network (two points at a2 = 0.5, J = ln 2 / 2 ≈ 0.347): "
            "the gradient is ≈ 0 there; another --seed starts elsewhere")
    return {"cost": cost, "accuracy": acc, "predictions": a2, "max_diff": worst, "params": params}
