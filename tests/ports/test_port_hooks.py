"""Hooks as the tutorials use them: ``register_forward_hook`` to capture a layer's activations (feature
extraction), ``register_forward_pre_hook`` to rescale a layer's input, ``Tensor.register_hook`` to read and
rescale a gradient in flight, ``retain_grad`` on an intermediate, and ``handle.remove()`` to stop them."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 2))


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    activation, seen_grads = {}, []

    def get_activation(name):
        def hook(model, input, output):
            activation[name] = output.detach()
        return hook

    def halve_input(module, args):
        return (args[0] * 0.5,)

    h1 = model[1].register_forward_hook(get_activation("relu"))
    h2 = model[3].register_forward_hook(get_activation("sigmoid"))
    h3 = model[2].register_forward_pre_hook(halve_input)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    losses, acts = [], []
    for step in range(5):
        optimizer.zero_grad()
        hidden = model[1](model[0](x))
        hidden.retain_grad()
        hidden.register_hook(lambda grad: seen_grads.append(grad.norm().item()))
        hidden.register_hook(lambda grad: grad * 2.0)
        out = model[4](model[3](model[2](hidden)))
        loss = torch.nn.functional.mse_loss(out, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        acts.append(activation["sigmoid"].sum().item())
        if step == 2:
            for h in (h1, h2, h3):
                h.remove()
    return {"losses": losses, "acts": acts, "seen": seen_grads, "relu": activation["relu"],
            "retained": hidden.grad, "params": model.state_dict()}


def test_forward_hooks_and_tensor_gradient_hooks():
    rng = np.random.default_rng(17)
    init = {"model": weights_for(build, rng, "float64"), "x": rng.standard_normal((12, 4)),
            "y": rng.standard_normal((12, 2))}
    got = compare(program, init, "float64")
    assert got["acts"][3] == got["acts"][2]  # the capturing hook was removed after step 2
