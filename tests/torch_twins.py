"""PyTorch networks with the layers and state_dict keys of lamina's models, shared by the tests that compare them."""
from torch import nn as tnn


class TorchLeNet5(tnn.Module):
    """The torch network with LeNet5's layers and state_dict keys (28×28 inputs, padding 2)."""

    def __init__(self):
        super().__init__()
        self.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                                       tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
        self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
                                         tnn.ReLU(), tnn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))
