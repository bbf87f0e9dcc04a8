"""The MNIST example's loop (MLP, CrossEntropyLoss, SGD with momentum, StepLR) on MNIST-shaped random data, with a
checkpoint of model, optimizer and scheduler saved half-way and the run resumed from it in fresh objects."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = torch.flatten(x, 1)
            x = torch.nn.functional.relu(self.fc1(x))
            return torch.nn.functional.log_softmax(self.fc2(x), dim=1)

    return Net()


def program(torch, init, workdir):
    F = torch.nn.functional
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])

    def fresh():
        model = build(torch)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        return model, optimizer, scheduler

    def train_epoch(model, optimizer, losses):
        model.train()
        for i in range(0, len(x), 16):
            data, target = x[i:i + 16], y[i:i + 16]
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

    model, optimizer, scheduler = fresh()
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    losses, lrs = [], []
    for _epoch in range(3):
        train_epoch(model, optimizer, losses)
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    path = f"{workdir}/checkpoint.pt"
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                "scheduler_state_dict": scheduler.state_dict()}, path)
    del model, optimizer, scheduler

    checkpoint = torch.load(path)
    model, optimizer, scheduler = fresh()
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
    for _epoch in range(checkpoint["epoch"], 5):
        train_epoch(model, optimizer, losses)
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    model.eval()
    with torch.no_grad():
        out = model(x)
        test_loss = F.nll_loss(out, y, reduction="sum").item() / len(x)
        correct = out.argmax(dim=1, keepdim=True).eq(y.view_as(out.argmax(dim=1, keepdim=True))).sum().item()
    momentum = [s["momentum_buffer"] for s in optimizer.state_dict()["state"].values()]
    return {"losses": losses, "lrs": lrs, "test": [test_loss, correct], "params": model.state_dict(),
            "momentum": momentum}


def test_mnist_mlp_with_steplr_and_a_mid_run_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    init = {"model": weights_for(build, rng), "x": rng.standard_normal((64, 1, 8, 8)).astype(np.float32),
            "y": rng.integers(0, 10, 64)}

    def side(name):
        (tmp_path / name).mkdir()
        return {"workdir": str(tmp_path / name)}

    compare(program, init, "float32", side)
