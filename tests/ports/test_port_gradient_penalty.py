"""Higher-order gradients: the WGAN-GP gradient penalty, E[(‖∇ₓ D(x̂)‖ − 1)²] at interpolates x̂ with given
mixing weights, computed with ``torch.autograd.grad(..., create_graph=True)`` and back-propagated into the
critic; plus the second derivative of a scalar function and a Hessian-vector product by double backward."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 16), nn.Softplus(), nn.Linear(16, 1))


def program(torch, init):
    critic = build(torch)
    critic.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.0, 0.9))
    real, fake, alphas = torch.tensor(init["real"]), torch.tensor(init["fake"]), torch.tensor(init["alpha"])
    lambda_gp = 10.0

    def gradient_penalty(real_samples, fake_samples, alpha):
        interpolates = (alpha * real_samples + (1 - alpha) * fake_samples).requires_grad_(True)
        d_interpolates = critic(interpolates)
        gradients = torch.autograd.grad(outputs=d_interpolates, inputs=interpolates,
                                        grad_outputs=torch.ones_like(d_interpolates),
                                        create_graph=True, retain_graph=True, only_inputs=True)[0]
        gradients = gradients.view(gradients.size(0), -1)
        return ((gradients.norm(2, dim=1) - 1) ** 2).mean()

    losses, penalties = [], []
    for step in range(5):
        optimizer.zero_grad()
        gp = gradient_penalty(real, fake, alphas[step])
        loss = -critic(real).mean() + critic(fake).mean() + lambda_gp * gp
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        penalties.append(gp.item())

    x = torch.tensor(init["x"], requires_grad=True)
    y = (x ** 3 * torch.sin(x)).sum()
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    w = torch.tensor(init["w"], requires_grad=True)
    v = torch.tensor(init["v"])
    f = (w.exp() * w.roll(1)).sum() + (w ** 2).sum() ** 2
    (g,) = torch.autograd.grad(f, w, create_graph=True)
    (hvp,) = torch.autograd.grad(g, w, grad_outputs=v)
    return {"losses": losses, "penalties": penalties, "params": critic.state_dict(), "d2y": d2y, "hvp": hvp}


def test_gradient_penalty_and_second_derivatives():
    rng = np.random.default_rng(21)
    init = {"model": weights_for(build, rng, "float64"), "real": rng.standard_normal((16, 3)) + 1,
            "fake": rng.standard_normal((16, 3)), "alpha": rng.random((5, 16, 1)),
            "x": rng.standard_normal(5), "w": rng.standard_normal(4) * 0.5, "v": rng.standard_normal(4)}
    compare(program, init, "float64")
