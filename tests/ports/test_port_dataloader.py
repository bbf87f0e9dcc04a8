"""A ``DataLoader`` over a ``TensorDataset`` with ``shuffle=False`` and a last partial batch, a plain custom
``Dataset`` with ``__len__``/``__getitem__`` through the default collate, and the usual epoch loop with
``enumerate(loader)``; the batch shapes and the running loss recorded."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    return torch.nn.Sequential(torch.nn.Linear(5, 10), torch.nn.ReLU(), torch.nn.Linear(10, 2))


def program(torch, init):
    from_torch = torch.utils.data

    class Pairs(from_torch.Dataset):
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __len__(self):
            return len(self.x)

        def __getitem__(self, idx):
            return {"features": self.x[idx], "label": self.y[idx]}

    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    train_loader = from_torch.DataLoader(from_torch.TensorDataset(x, y), batch_size=8, shuffle=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = torch.nn.CrossEntropyLoss()
    losses, sizes, running = [], [], []
    for _epoch in range(2):
        running_loss = 0.0
        for _i, (inputs, labels) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            losses.append(loss.item())
            sizes.append(float(inputs.shape[0]))
        running.append(running_loss / len(train_loader.dataset))
    correct = 0
    with torch.no_grad():
        for batch in from_torch.DataLoader(Pairs(x, y), batch_size=7):
            correct += (model(batch["features"]).argmax(1) == batch["label"]).sum().item()
    return {"losses": losses, "sizes": sizes, "running": running, "correct": correct,
            "batches": float(len(train_loader)), "params": model.state_dict()}


def test_dataloader_over_tensordataset_without_shuffle():
    rng = np.random.default_rng(16)
    init = {"model": weights_for(build, rng), "x": rng.standard_normal((30, 5)).astype(np.float32),
            "y": rng.integers(0, 2, 30)}
    got = compare(program, init, "float32")
    assert got["sizes"][3] == 6 and got["batches"] == 4
