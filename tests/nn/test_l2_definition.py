"""The L2 penalty has one definition, λ/2·‖θ‖² (gradient λθ): nn.regularization.l2, SGD's weight_decay
and the "l2" hyperparameter of tune.hypergradient / optim's hypergradient optimizers all agree."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
import lamina.nn.functional as F
from lamina import optim
from lamina.nn.regularization import l2
from lamina.tune import hypergradient


def test_l2_value_and_gradient_are_half_lambda_norm_squared():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    t = lamina.tensor(theta, requires_grad=True)
    pen = l2([t], 0.3)
    assert pen.item() == pytest.approx(0.15 * float(theta @ theta))
    pen.backward()
    np.testing.assert_allclose(t.grad.numpy(), 0.3 * theta)
    # PyTorch's SGD weight_decay=λ adds λθ to the gradient: the same step as the penalty in the loss
    p = torch.tensor(theta, requires_grad=True)
    p.grad = torch.zeros(5, dtype=torch.float64)
    torch.optim.SGD([p], lr=0.1, weight_decay=0.3).step()
    np.testing.assert_allclose(p.detach().numpy(), theta - 0.1 * t.grad.numpy())


def test_hypergradient_l2_is_the_same_penalty_as_nn_regularization():
    rng = np.random.default_rng(1)
    X, Y = lamina.tensor(rng.standard_normal((20, 3))), lamina.tensor(rng.standard_normal((20, 1)))
    w0 = rng.standard_normal((3, 1))
    lam, lr, steps = 0.2, 0.1, 4

    def train_loss(p):
        return F.mse_loss(X @ p["w"], Y)

    res = hypergradient({"w": w0.copy()}, train_loss, train_loss, {"lr": lr, "l2": lam}, steps, wrt=[])
    # the same run written with the loss penalty of nn.regularization and plain SGD
    w = lamina.tensor(w0.copy(), requires_grad=True)
    opt = optim.SGD([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        (F.mse_loss(X @ w, Y) + l2([w], lam)).backward()
        opt.step()
    assert res.value == pytest.approx(F.mse_loss(X @ w, Y).item(), rel=1e-12)
