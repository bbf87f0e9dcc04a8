"""Polynomial regression (the "learning PyTorch with examples" tutorial): fit y = sin(x) with a cubic
a + b x + c x² + d x³, first with tensors and a manual update under ``no_grad``, then the same model as
``nn.Linear(3, 1)`` on the features (x, x², x³) with ``nn.Flatten(0, 1)``, ``MSELoss(reduction='sum')`` and
``model.zero_grad()``."""
from __future__ import annotations

import math

import numpy as np
from _harness import compare


def program(torch, init):
    x = torch.linspace(-math.pi, math.pi, 200)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, requires_grad=True) for v in init["coef"])
    learning_rate, losses = 1e-6, []
    for _t in range(30):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for param in (a, b, c, d):
                param -= learning_rate * param.grad
                param.grad = None
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    model.load_state_dict({"0.weight": torch.tensor(init["w"]), "0.bias": torch.tensor(init["b"])})
    loss_fn = torch.nn.MSELoss(reduction="sum")
    nn_losses = []
    for _t in range(30):
        loss = loss_fn(model(xx), y)
        nn_losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    return {"losses": losses, "coef": [a, b, c, d], "nn_losses": nn_losses, "model": model.state_dict()}


def test_polynomial_regression_two_ways():
    rng = np.random.default_rng(8)
    init = {"coef": list(rng.standard_normal(4)), "w": rng.standard_normal((1, 3)), "b": rng.standard_normal(1)}
    compare(program, init, "float64")
