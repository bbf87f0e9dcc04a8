"""A module written from parts, as "Build the neural network" and the custom-module tutorials do: its own
``nn.Parameter`` weights made with ``torch.empty`` and filled in ``reset_parameters``, a ``register_buffer``
running count, an ``nn.ModuleList`` of layers, ``extra_repr``, ``named_parameters`` / ``buffers`` /
``state_dict`` keys, ``requires_grad_`` and gradient accumulation over several backward calls before a step."""
from __future__ import annotations

import math

import numpy as np
from _harness import compare


def program(torch, init):
    nn = torch.nn

    class MyLinear(nn.Module):
        def __init__(self, in_features, out_features, weight):
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            self.weight = nn.Parameter(torch.empty(out_features, in_features))
            self.bias = nn.Parameter(torch.empty(out_features))
            self.register_buffer("calls", torch.zeros(()))
            self.reset_parameters(weight)

        def reset_parameters(self, weight):
            with torch.no_grad():
                self.weight.copy_(torch.from_numpy(weight))
                bound = 1 / math.sqrt(self.in_features)
                self.bias.fill_(bound / 2)

        def forward(self, input):
            self.calls += 1
            return input @ self.weight.t() + self.bias

        def extra_repr(self):
            return f"in_features={self.in_features}, out_features={self.out_features}"

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([MyLinear(4, 6, init["w0"]), MyLinear(6, 6, init["w1"])])
            self.out = MyLinear(6, 1, init["w2"])
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            for layer in self.layers:
                x = torch.relu(layer(x))
            return self.out(x) * self.scale

    model = Stack()
    model.scale.requires_grad_(False)
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    optimizer = torch.optim.RMSprop([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    accumulation_steps, losses = 3, []
    optimizer.zero_grad()
    for i in range(12):
        xb, yb = x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]
        loss = torch.nn.functional.smooth_l1_loss(model(xb), yb) / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
        losses.append(loss.item())
    names = [n for n, _ in model.named_parameters()]
    facts = [float(len(names)), float(len(list(model.buffers()))), float(len(model.state_dict())),
             float("in_features=4, out_features=6" in repr(model)), float(model.scale.grad is None)]
    return {"losses": losses, "facts": facts, "params": model.state_dict()}


def test_custom_module_with_parameters_buffers_and_accumulated_gradients():
    rng = np.random.default_rng(25)
    init = {"w0": rng.uniform(-0.5, 0.5, (6, 4)), "w1": rng.uniform(-0.4, 0.4, (6, 6)),
            "w2": rng.uniform(-0.4, 0.4, (1, 6)), "x": rng.standard_normal((48, 4)),
            "y": rng.standard_normal((48, 1))}
    got = compare(program, init, "float64")
    assert got["facts"].tolist() == [7.0, 3.0, 10.0, 1.0, 1.0]
