"""The official MNIST example's network and loop: ``Conv2d(1, 32, 3, 1)``-style convolutions, ``F.max_pool2d``,
``nn.Dropout`` layers (built with p = 0 here: training-mode dropout is random), ``torch.flatten(x, 1)``,
``F.log_softmax`` + ``F.nll_loss``, ``Adadelta`` with ``StepLR(gamma=0.7)``, the ``test`` function with
``reduction='sum'`` and ``pred.eq(target.view_as(pred))``, on an MNIST-shaped input at a small size."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self, p1=0.0, p2=0.0):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.dropout1 = nn.Dropout(p1)
            self.dropout2 = nn.Dropout(p2)
            self.fc1 = nn.Linear(8 * 4 * 4, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    return Net()


def program(torch, init):
    F = torch.nn.functional
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    train_loader = [(torch.tensor(init["x"][i:i + 8]), torch.tensor(init["y"][i:i + 8])) for i in range(0, 24, 8)]
    test_loader = [(torch.tensor(init["x"][24:]), torch.tensor(init["y"][24:]))]

    def train(log):
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            log.append(loss.item())

    def test(log):
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        log.append([test_loss / 8, correct])

    losses, tests = [], []
    for _epoch in range(1, 4):
        train(losses)
        test(tests)
        scheduler.step()
    return {"losses": losses, "tests": tests, "params": model.state_dict()}


def test_official_mnist_cnn_with_adadelta_and_steplr():
    rng = np.random.default_rng(30)
    init = {"model": weights_for(build, rng), "x": rng.standard_normal((32, 1, 12, 12)).astype(np.float32),
            "y": rng.integers(0, 10, 32)}
    compare(program, init, "float32")
