"""LeNet-5 (LeCun et al. 1998), the first successful convolutional network, in its modern form:
conv 6@5×5 → act → pool 2 → conv 16@5×5 → act → pool 2 → FC 120 → act → FC 84 → act → FC classes.

For 28×28 inputs (MNIST, Fashion-MNIST) the first convolution pads by 2, so the feature maps
have the sizes of the original 32×32 design (28 → 14 → 10 → 5)."""
from __future__ import annotations

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor

__all__ = ["LeNet5"]

_ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    """``LeNet5(num_classes=10, in_channels=1, input_size=28, activation='relu', pooling='max')``.

    ``features`` (the convolutional part) and ``classifier`` (flatten + 3 Linear) are Sequentials, so
    the state_dict keys are ``features.0.weight``, ``classifier.1.weight``, ... ``activation`` is
    'relu', 'tanh' or 'sigmoid' (the 1998 network used tanh-like squashing and average pooling:
    ``LeNet5(activation='tanh', pooling='avg')``)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 28,
                 activation: str = "relu", pooling: str = "max"):
        super().__init__()
        if activation not in _ACTS:
            raise ValueError(f"LeNet5: activation must be one of {sorted(_ACTS)}, got {activation!r}")
        if pooling not in _POOLS:
            raise ValueError(f"LeNet5: pooling must be one of {sorted(_POOLS)}, got {pooling!r}")
        pad = max(0, (32 - int(input_size)) // 2)
        side = ((input_size + 2 * pad - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet5: input_size {input_size} is too small (needs at least 12 pixels)")
        act, pool = _ACTS[activation], _POOLS[pooling]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pad), act(), pool(2),
            nn.Conv2d(6, 16, 5), act(), pool(2),
        )
        # forward fuses each Conv2d → ReLU (→ MaxPool2d) run of ``features`` (set False to run them apart)
        self.fuse_activations = True
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * side * side, 120), act(), nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        if not self.fuse_activations:
            return self.classifier(self.features(x))
        layers, i = list(self.features), 0
        while i < len(layers):
            m, rest = layers[i], layers[i + 1:i + 3]
            if len(rest) == 2 and _plain(m, *rest) and type(rest[1]) is nn.MaxPool2d and not rest[1].return_indices:
                # conv → ReLU → max-pool computed as conv → max-pool → ReLU: max and ReLU commute
                # (relu(max(a, b)) = max(relu(a), relu(b)), ties resolved the same way), so the values and
                # gradients are the same, with the activation on 4× fewer values
                x = rest[1](m(x)).relu()
                i += 3
            elif rest and _plain(m, rest[0]):  # conv + ReLU as one fused op
                x = F.conv2d(x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups, activation="relu")
                i += 2
            else:
                x = m(x)
                i += 1
        return self.classifier(x)


def _plain(conv: nn.Module, act: nn.Module, *more: nn.Module) -> bool:
    """A zero-padded Conv2d followed by a ReLU (and more layers), none with hooks."""
    return (type(conv) is nn.Conv2d and type(act) is nn.ReLU and conv.padding_mode == "zeros"
            and not any(m._has_forward_hooks() for m in (conv, act, *more)))
