"""Gradient clipping in a training loop: ``torch.nn.utils.clip_grad_norm_`` (its returned total norm recorded,
with a max_norm small enough to clip every step) and ``clip_grad_value_`` on a second model, both with a
large learning rate that would otherwise diverge."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn
    return {"a": nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)),
            "b": nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))}


def program(torch, init):
    nets = build(torch)
    for name, net in nets.items():
        net.load_state_dict({k: torch.tensor(v) for k, v in init[name].items()})
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    record = {}
    for name, net in nets.items():
        optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
        losses, norms = [], []
        for _step in range(10):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward()
            if name == "a":
                norms.append(torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=0.5).item())
            else:
                torch.nn.utils.clip_grad_value_(net.parameters(), clip_value=0.05)
                norms.append(max(p.grad.abs().max().item() for p in net.parameters()))
            optimizer.step()
            losses.append(loss.item())
        record[name] = {"losses": losses, "norms": norms, "params": net.state_dict()}
    return record


def test_gradient_clipping_by_norm_and_by_value():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((32, 4))
    init = {**weights_for(build, rng, "float64"), "x": x, "y": 5 * np.sin(x.sum(1, keepdims=True))}
    got = compare(program, init, "float64")
    assert got["b.norms"].max() <= 0.05 + 1e-12
