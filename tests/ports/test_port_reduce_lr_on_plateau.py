"""``ReduceLROnPlateau`` driven by a validation loss: ``scheduler.step(val_loss)`` after each epoch, with a
patience and a threshold that make it cut the learning rate during the run; the learning rates recorded."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.5)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1,
                                                           threshold=0.05)
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    xv, yv = torch.tensor(init["xv"]), torch.tensor(init["yv"])
    criterion = torch.nn.MSELoss()
    losses, val_losses, lrs = [], [], []
    for _epoch in range(12):
        model.train()
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = criterion(model(xv), yv)
        scheduler.step(val_loss)
        losses.append(loss.item())
        val_losses.append(val_loss.item())
        lrs.append(optimizer.param_groups[0]["lr"])
    return {"losses": losses, "val": val_losses, "lrs": lrs, "params": model.state_dict()}


def test_reduce_lr_on_plateau_from_the_validation_loss():
    rng = np.random.default_rng(15)
    x, xv = rng.standard_normal((40, 3)), rng.standard_normal((20, 3))

    def f(a):
        return np.cos(a @ np.array([[1.0], [-2.0], [0.5]]))

    init = {"model": weights_for(build, rng, "float64"), "x": x, "y": f(x), "xv": xv, "yv": f(xv) + 0.3}
    got = compare(program, init, "float64")
    assert got["lrs"][-1] < got["lrs"][0]  # the plateau was reached
