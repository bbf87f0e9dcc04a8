"""The PyTorch quickstart: a ``NeuralNetwork`` of ``nn.Flatten`` and a ``linear_relu_stack``, ``train`` and ``test``
functions over ``DataLoader``s (``size = len(dataloader.dataset)``, ``model.train()`` / ``model.eval()``,
``(pred.argmax(1) == y).type(torch.float).sum().item()``), then ``torch.save(model.state_dict(), "model.pth")``
and a new model loaded with ``torch.load(..., weights_only=True)`` that predicts the same; on FashionMNIST-shaped
random data at a small size."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(nn.Linear(10 * 10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                                                   nn.Linear(32, 10))

        def forward(self, x):
            x = self.flatten(x)
            return self.linear_relu_stack(x)

    return NeuralNetwork()


def program(torch, init, workdir):
    from_data = torch.utils.data
    training_data = from_data.TensorDataset(torch.tensor(init["x"][:40]), torch.tensor(init["y"][:40]))
    test_data = from_data.TensorDataset(torch.tensor(init["x"][40:]), torch.tensor(init["y"][40:]))
    batch_size = 16
    train_dataloader = from_data.DataLoader(training_data, batch_size=batch_size)
    test_dataloader = from_data.DataLoader(test_data, batch_size=batch_size)
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)
    log = {"train": [], "test": [], "seen": []}

    def train(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss, current = loss.item(), batch * batch_size + len(X)
            log["train"].append(loss)
            log["seen"].append(current / size)

    def test(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        log["test"].append([test_loss / num_batches, correct / size])

    epochs = 3
    for _t in range(epochs):
        train(train_dataloader, model, loss_fn, optimizer)
        test(test_dataloader, model, loss_fn)
    torch.save(model.state_dict(), f"{workdir}/model.pth")
    model2 = build(torch)
    model2.load_state_dict(torch.load(f"{workdir}/model.pth", weights_only=True))
    model2.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        pred = model2(x.unsqueeze(0))
        same = torch.equal(pred, model(x.unsqueeze(0)))
    return {**log, "pred": pred, "label": y.item(), "same": float(same), "params": model2.state_dict()}


def test_quickstart_train_test_save_and_load(tmp_path):
    rng = np.random.default_rng(31)
    init = {"model": weights_for(build, rng), "x": rng.random((56, 1, 10, 10)).astype(np.float32),
            "y": rng.integers(0, 10, 56)}

    def side(name):
        (tmp_path / name).mkdir()
        return {"workdir": str(tmp_path / name)}

    got = compare(program, init, "float32", side)
    assert got["same"] == 1.0
