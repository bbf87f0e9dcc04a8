"""Logistic regression from scratch: sigmoid of a linear score, the binary cross-entropy written out with
``torch.log``, a manual SGD step under ``torch.no_grad()`` and ``grad = None`` between steps; accuracy with
a threshold at 0.5."""
from __future__ import annotations

import numpy as np
from _harness import compare


def program(torch, init):
    X, y = torch.tensor(init["X"]), torch.tensor(init["y"])
    w = torch.tensor(init["w"]).requires_grad_()
    b = torch.tensor(0.0, requires_grad=True)
    losses, accuracy = [], []
    for _epoch in range(25):
        p = torch.sigmoid(X @ w + b)
        loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
        loss.backward()
        with torch.no_grad():
            w.sub_(0.5 * w.grad)
            b.sub_(0.5 * b.grad)
        w.grad, b.grad = None, None
        losses.append(loss.item())
        accuracy.append(((p > 0.5).float() == y).float().mean().item())
    bce = torch.nn.functional.binary_cross_entropy(torch.sigmoid(X @ w + b), y)
    return {"losses": losses, "accuracy": accuracy, "w": w, "b": b, "bce": bce}


def test_logistic_regression_with_manual_sgd():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 2))
    init = {"X": X, "y": (X @ np.array([2.0, -1.0]) > 0.2).astype(np.float64), "w": np.zeros(2)}
    compare(program, init, "float64")
