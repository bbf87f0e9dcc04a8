""""What is torch.nn really?": logistic regression on MNIST-shaped data written first from scratch (weights
``torch.randn(784, 10) / math.sqrt(784)`` passed in, ``requires_grad_()``, ``log_softmax`` as
``x - x.exp().sum(-1).log().unsqueeze(-1)``, ``nll`` by ``input[range(target.shape[0]), target]``, an update
under ``no_grad`` with ``grad.zero_()``), then refactored step by step: ``F.cross_entropy``, an ``nn.Module``
with ``nn.Parameter``, ``nn.Linear``, ``optim``, ``TensorDataset`` + ``DataLoader``, a ``fit`` with
``loss_batch``, a CNN from ``nn.Sequential`` with a ``Lambda`` module and ``F.avg_pool2d`` — each version
trained from the same weights."""
from __future__ import annotations

import math

import numpy as np
from _harness import compare

PIX, SIDE = 64, 8


def program(torch, init):
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim
    x_train, y_train = torch.tensor(init["x"][:48]), torch.tensor(init["y"][:48])
    x_valid, y_valid = torch.tensor(init["x"][48:]), torch.tensor(init["y"][48:])
    n, bs, lr, record = x_train.shape[0], 16, 0.5, {}

    # from scratch
    weights = torch.tensor(init["w"]) / math.sqrt(PIX)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    losses = []
    for _epoch in range(2):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            xb, yb = x_train[start_i:start_i + bs], y_train[start_i:start_i + bs]
            loss = nll(model(xb), yb)
            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
            losses.append(loss.item())
    record["scratch"] = {"losses": losses, "acc": accuracy(model(x_valid), y_valid), "w": weights}

    # nn.Module with nn.Parameter, then nn.Linear, optim, Dataset/DataLoader and fit()
    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.tensor(init["w"]) / math.sqrt(PIX))
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, xb):
            return xb @ self.weights + self.bias

    class Mnist_Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(PIX, 10)
            with torch.no_grad():
                self.lin.weight.copy_(torch.tensor(init["w"]).t() / math.sqrt(PIX))
                self.lin.bias.zero_()

        def forward(self, xb):
            return self.lin(xb)

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl, log):
        for _epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                log.append(loss_batch(model, loss_func, xb, yb, opt)[0])
            model.eval()
            with torch.no_grad():
                losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
            log.append(np.sum(np.multiply(losses, nums)) / np.sum(nums))

    train_dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=bs)
    valid_dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_valid, y_valid), batch_size=bs * 2)
    for name, make in (("logistic", Mnist_Logistic), ("linear", Mnist_Linear)):
        m, log = make(), []
        fit(2, m, F.cross_entropy, optim.SGD(m.parameters(), lr=lr), train_dl, valid_dl, log)
        record[name] = {"log": log, "params": m.state_dict()}

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    cnn = nn.Sequential(
        Lambda(lambda x: x.view(-1, 1, SIDE, SIDE)),
        nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)))
    cnn.load_state_dict({k: torch.tensor(v) for k, v in init["cnn"].items()})
    log = []
    fit(2, cnn, F.cross_entropy, optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9), train_dl, valid_dl, log)
    pooled = F.avg_pool2d(x_valid.view(-1, 1, SIDE, SIDE), 4)
    record["cnn"] = {"log": log, "params": cnn.state_dict(), "pooled": pooled}
    return record


def test_what_is_torch_nn_really():
    rng = np.random.default_rng(32)
    init = {"w": rng.standard_normal((PIX, 10)).astype(np.float32), "x": rng.random((64, PIX)).astype(np.float32),
            "y": rng.integers(0, 10, 64),
            "cnn": {"1.weight": rng.uniform(-1 / 3, 1 / 3, (8, 1, 3, 3)).astype(np.float32),
                    "1.bias": rng.uniform(-1 / 3, 1 / 3, 8).astype(np.float32),
                    "3.weight": rng.uniform(-0.12, 0.12, (10, 8, 3, 3)).astype(np.float32),
                    "3.bias": rng.uniform(-0.12, 0.12, 10).astype(np.float32)}}
    compare(program, init, "float32")
