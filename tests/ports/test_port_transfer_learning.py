"""Fine-tuning as the transfer-learning tutorial does it: a "pretrained" backbone loaded from a state dict,
its parameters frozen with ``requires_grad = False``, a new head swapped in, the optimizer given only the
trainable parameters, ``OneCycleLR`` stepped per batch; then everything unfrozen and ``load_state_dict(...,
strict=False)`` reporting the missing and unexpected keys."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten())
            self.fc = nn.Linear(4 * 3 * 3, 10)

        def forward(self, x):
            return self.fc(self.features(x))

    return {"backbone": Backbone(), "head": nn.Linear(36, 3)}


def program(torch, init):
    model = build(torch)["backbone"]
    model.load_state_dict({k: torch.tensor(v) for k, v in init["backbone"].items()})
    for param in model.parameters():
        param.requires_grad = False
    num_ftrs = model.fc.in_features
    model.fc = torch.nn.Linear(num_ftrs, 3)
    model.fc.load_state_dict({k: torch.tensor(v) for k, v in init["head"].items()})
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=8)
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    criterion = torch.nn.CrossEntropyLoss()
    losses, lrs = [], []
    for step in range(8):
        i = 5 * (step % 4)
        optimizer.zero_grad()
        loss = criterion(model(x[i:i + 5]), y[i:i + 5])
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    frozen_grad = [float(p.grad is None) for p in model.features.parameters()]
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}
    state["extra.weight"] = torch.zeros(2)
    result = model.load_state_dict(state, strict=False)
    return {"losses": losses, "lrs": lrs, "frozen_grad": frozen_grad, "trainable": float(len(trainable)),
            "keys": [float(len(result.missing_keys)), float(len(result.unexpected_keys)),
                     float(result.missing_keys == ["fc.weight", "fc.bias"])], "params": model.state_dict()}


def test_fine_tuning_a_frozen_backbone_with_a_new_head():
    rng = np.random.default_rng(22)
    init = {**weights_for(build, rng), "x": rng.standard_normal((20, 1, 8, 8)).astype(np.float32),
            "y": rng.integers(0, 3, 20)}
    got = compare(program, init, "float32")
    assert got["keys"].tolist() == [2.0, 1.0, 1.0] and got["trainable"] == 2
