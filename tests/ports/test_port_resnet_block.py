"""A ResNet basic block (conv-BN-ReLU-conv-BN plus the shortcut, a 1×1 strided conv with BN when the shape
changes), stacked into a tiny ResNet with ``AdaptiveAvgPool2d`` and trained a few steps with SGD, momentum
and weight decay."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn, F = torch.nn, torch.nn.functional

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != planes:
                self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                                              nn.BatchNorm2d(planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            return F.relu(out)

    class TinyResNet(nn.Module):
        def __init__(self, num_classes=4):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, kernel_size=3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.layer1 = nn.Sequential(BasicBlock(4, 4), BasicBlock(4, 8, stride=2))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.linear = nn.Linear(8 * BasicBlock.expansion, num_classes)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer1(out)
            out = torch.flatten(self.avgpool(out), 1)
            return self.linear(out)

    return TinyResNet()


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    losses = []
    model.train()
    for step in range(4):
        inputs, targets = x[4 * step:4 * step + 4], y[4 * step:4 * step + 4]
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return {"losses": losses, "eval_logits": logits, "params": model.state_dict()}


def test_tiny_resnet_with_basic_blocks():
    rng = np.random.default_rng(10)
    init = {"model": weights_for(build, rng, "float64"), "x": rng.standard_normal((16, 3, 8, 8)),
            "y": rng.integers(0, 4, 16)}
    compare(program, init, "float64")
