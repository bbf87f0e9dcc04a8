"""Linear regression from scratch: weights as leaf tensors with ``requires_grad=True``, the mean squared error,
``loss.backward()``, and a manual SGD step under ``torch.no_grad()`` with ``grad.zero_()``."""
from __future__ import annotations

import numpy as np
from _harness import compare


def program(torch, init):
    X, y = torch.tensor(init["X"]), torch.tensor(init["y"])
    w = torch.tensor(init["w"], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    lr, losses = 0.1, []
    for _epoch in range(20):
        y_pred = X @ w + b
        loss = ((y_pred - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        losses.append(loss.item())
    return {"losses": losses, "w": w, "b": b, "leaf": [float(w.is_leaf), float(w.requires_grad)]}


def test_linear_regression_with_manual_sgd():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 3))
    init = {"X": X, "y": X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(50),
            "w": rng.standard_normal(3) * 0.1}
    got = compare(program, init, "float64")
    assert got["losses"][-1] < got["losses"][0] / 10
