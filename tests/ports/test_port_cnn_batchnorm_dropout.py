"""A small CNN classifier (Conv2d, BatchNorm2d, MaxPool2d, Dropout, Linear) trained in train mode and evaluated in
eval mode each epoch: batch statistics while training, running statistics and no dropout while evaluating.
Dropout's random mask is replaced by a fixed one passed in (the same numbers on both sides)."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn

    class ConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 8, 3, bias=False)
            self.bn2 = nn.BatchNorm2d(8)
            self.pool = nn.MaxPool2d(2)
            self.dropout = nn.Dropout(0.25)
            self.fc = nn.Linear(8 * 2 * 2, 5)

        def forward(self, x, mask=None):
            x = self.pool(torch.relu(self.bn1(self.conv1(x))))
            x = self.pool(torch.relu(self.bn2(self.conv2(x))))
            x = torch.flatten(x, 1)
            if self.training and mask is not None:  # dropout with a given mask, as nn.Dropout scales it
                x = x * mask / (1 - self.dropout.p)
            else:
                x = self.dropout(x)
            return self.fc(x)

    return ConvNet()


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    masks = torch.tensor(init["masks"])
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    train_losses, val_losses, accuracy = [], [], []
    for epoch in range(3):
        model.train()
        for step, i in enumerate(range(0, 24, 8)):
            optimizer.zero_grad()
            loss = criterion(model(x[i:i + 8], masks[3 * epoch + step]), y[i:i + 8])
            loss.backward()
            optimizer.step()
            train_losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            out = model(x[24:])
            val_losses.append(criterion(out, y[24:]).item())
            accuracy.append((out.argmax(1) == y[24:]).float().mean().item())
    return {"train": train_losses, "val": val_losses, "accuracy": accuracy, "state": model.state_dict()}


def test_cnn_with_batchnorm_and_dropout_in_train_and_eval_modes():
    rng = np.random.default_rng(1)
    init = {"model": weights_for(build, rng), "x": rng.standard_normal((32, 1, 12, 12)).astype(np.float32),
            "y": rng.integers(0, 5, 32), "masks": (rng.random((9, 8, 32)) > 0.25).astype(np.float32)}
    compare(program, init, "float32")
