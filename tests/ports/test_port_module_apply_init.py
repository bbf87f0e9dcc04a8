"""Weight initialization with ``Module.apply``: an ``init_weights(m)`` that dispatches on the layer type and
fills weights with ``nn.init`` functions (the deterministic ones: ``constant_``, ``zeros_``, ``ones_``, ``eye_``,
``dirac_``) and copies given arrays in under ``no_grad`` with ``copy_``, then training; ``named_modules``,
``children`` and ``parameters`` counts recorded."""
from __future__ import annotations

import numpy as np
from _harness import compare


def program(torch, init):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)
            self.bn = nn.BatchNorm2d(2)
            self.features = nn.Sequential(nn.Linear(32, 8), nn.ReLU(), nn.Linear(8, 8))
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            x = torch.relu(self.bn(self.conv(x)))
            return self.head(self.features(x.flatten(1)))

    given = iter(init["linear"])

    @torch.no_grad()
    def init_weights(m):
        if isinstance(m, nn.Conv2d):
            nn.init.dirac_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.constant_(m.bias, 0.1)
        elif isinstance(m, nn.Linear):
            if m.in_features == m.out_features:
                nn.init.eye_(m.weight)
            else:
                m.weight.copy_(torch.tensor(next(given)))
            m.bias.fill_(0.01)

    model = Net()
    returned = model.apply(init_weights)
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    counts = [len(list(model.named_modules())), len(list(model.children())), len(list(model.parameters())),
              sum(p.numel() for p in model.parameters() if p.requires_grad), float(returned is model)]
    return {"losses": losses, "counts": counts, "params": model.state_dict()}


def test_module_apply_with_init_functions():
    rng = np.random.default_rng(20)
    init = {"linear": [rng.uniform(-0.2, 0.2, (8, 32)), rng.uniform(-0.3, 0.3, (3, 8))],
            "x": rng.standard_normal((6, 2, 4, 4)), "y": rng.integers(0, 3, 6)}
    compare(program, init, "float64")
