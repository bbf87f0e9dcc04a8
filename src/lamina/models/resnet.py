"""Residual networks: each block adds its input back, y = x + F(x), so the identity is the easy default and
deep stacks stay trainable; Wide ResNets trade depth for wider blocks.

* ``ResNet`` (He et al. 2016) with basic blocks: y = relu(F(x) + x), F = conv3×3-BN-ReLU-conv3×3-BN.
  The shortcut is the identity; where a block changes the shape (stride 2 or more channels) it is a
  1×1 convolution + BN projection. Stems: 'imagenet' (7×7/2 conv + 3×3/2 max pool), 'cifar' (3×3 conv,
  3 channels) and 'mnist' (3×3 conv, 1 channel, for 28×28 inputs). Attribute names follow torchvision
  (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc), so state_dict keys line up.
* ``WideResNet`` WRN-d-k (Zagoruyko & Komodakis 2016): depth d = 6n + 4, three groups of n
  pre-activation blocks (BN-ReLU-conv) of widths 16k, 32k, 64k, optional dropout between the convs.
Every width is configurable, so small versions train on 28×28 images on a laptop CPU.
"""
from __future__ import annotations

from .. import nn
from ..ops.shape import flatten
from ..tensor import Tensor

__all__ = ["BasicBlock", "ResNet", "resnet18", "resnet34", "WideBasicBlock", "WideResNet", "wide_resnet"]


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def _stage(block, cin: int, cout: int, n: int, stride: int, **kwargs) -> nn.Sequential:
    """n blocks: the first maps cin → cout channels with ``stride``, the others keep cout and the size."""
    return nn.Sequential(block(cin, cout, stride, **kwargs), *(block(cout, cout, 1, **kwargs) for _ in range(n - 1)))


def _he_init_(model: nn.Module) -> None:
    """He initialisation of every convolution for ReLU networks: W ~ N(0, 2/fan_out), as in the paper."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); shortcut = identity or 1×1 conv + BN."""

    expansion = 1
    downsample: nn.Sequential | None

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = _conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))
        else:
            self.downsample = None

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


_STEM_CHANNELS = {"imagenet": 3, "cifar": 3, "mnist": 1}


class ResNet(nn.Module):
    """``ResNet(layers=(2, 2, 2, 2), num_classes=10, stem='cifar', width=64)``.

    ``layers`` gives the number of basic blocks per stage (one stage per entry; (2, 2, 2, 2) is ResNet-18,
    (3, 4, 6, 3) ResNet-34, three stages (3, 3, 3) with width 16 the CIFAR ResNet-20). Stage i has
    width·2^i channels and (after the first) stride 2. ``in_channels`` defaults to the stem's (1 for 'mnist')."""

    maxpool: nn.MaxPool2d | None

    def __init__(self, layers=(2, 2, 2, 2), num_classes: int = 10, stem: str = "cifar", width: int = 64,
                 in_channels: int | None = None):
        super().__init__()
        if stem not in _STEM_CHANNELS:
            raise ValueError(f"ResNet: stem must be one of {sorted(_STEM_CHANNELS)}, got {stem!r}")
        layers = tuple(int(n) for n in layers)
        if not layers or min(layers) < 1:
            raise ValueError(f"ResNet: layers must list at least one stage of >= 1 blocks, got {layers}")
        cin = _STEM_CHANNELS[stem] if in_channels is None else int(in_channels)
        self.stem = stem
        self.conv1, self.maxpool = _stem(stem, cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        planes = width
        for i, n in enumerate(layers):
            out = width * 2 ** i
            setattr(self, f"layer{i + 1}", _stage(BasicBlock, planes, out, n, 1 if i == 0 else 2))
            planes = out
        self.num_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(planes, num_classes)
        _he_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(flatten(self.avgpool(x), 1))


def _stem(stem: str, cin: int, width: int) -> tuple[nn.Conv2d, nn.MaxPool2d | None]:
    """'imagenet': a 7×7/2 convolution and a 3×3/2 max pool; otherwise a 3×3 convolution alone."""
    if stem == "imagenet":
        return nn.Conv2d(cin, width, 7, stride=2, padding=3, bias=False), nn.MaxPool2d(3, stride=2, padding=1)
    return _conv3x3(cin, width), None


def resnet18(num_classes: int = 10, stem: str = "cifar", width: int = 64, **kwargs) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2)."""
    return ResNet((2, 2, 2, 2), num_classes, stem, width, **kwargs)


def resnet34(num_classes: int = 10, stem: str = "cifar", width: int = 64, **kwargs) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3)."""
    return ResNet((3, 4, 6, 3), num_classes, stem, width, **kwargs)


class WideBasicBlock(nn.Module):
    """Pre-activation block: o = relu(bn1(x)); y = conv2(dropout(relu(bn2(conv1(o))))) + shortcut,
    shortcut = x, or a 1×1 convolution of o when the shape changes."""

    dropout: nn.Dropout | None
    shortcut: nn.Conv2d | None

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU()
        self.conv1 = _conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.conv2 = _conv3x3(planes, planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)
        else:
            self.shortcut = None

    def forward(self, x: Tensor) -> Tensor:
        o = self.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(o)
        y = self.relu(self.bn2(self.conv1(o)))
        if self.dropout is not None:
            y = self.dropout(y)
        return self.conv2(y) + skip


class WideResNet(nn.Module):
    """WRN-d-k: ``WideResNet(depth=16, widen_factor=4, num_classes=10, in_channels=3, dropout=0.0)``.

    depth = 6n + 4 (n blocks per group); group widths 16k, 32k, 64k (``base_width`` replaces 16 for
    smaller models); strides 1, 2, 2; then BN-ReLU, global average pooling and a Linear classifier."""

    block1: nn.Sequential
    block2: nn.Sequential
    block3: nn.Sequential

    def __init__(self, depth: int = 16, widen_factor: int = 4, num_classes: int = 10, in_channels: int = 3,
                 dropout: float = 0.0, base_width: int = 16):
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f"WideResNet: depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {depth}")
        n = (depth - 4) // 6
        widths = [base_width, base_width * widen_factor, 2 * base_width * widen_factor,
                  4 * base_width * widen_factor]
        self.depth, self.widen_factor = depth, widen_factor
        self.conv1 = _conv3x3(in_channels, widths[0])
        self.block1 = _stage(WideBasicBlock, widths[0], widths[1], n, 1, dropout=dropout)
        self.block2 = _stage(WideBasicBlock, widths[1], widths[2], n, 2, dropout=dropout)
        self.block3 = _stage(WideBasicBlock, widths[2], widths[3], n, 2, dropout=dropout)
        self.bn = nn.BatchNorm2d(widths[3])
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[3], num_classes)
        _he_init_(self)
        if self.fc.bias is not None:
            nn.init.zeros_(self.fc.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        x = self.block3(self.block2(self.block1(x)))
        return self.fc(flatten(self.avgpool(self.relu(self.bn(x))), 1))


def wide_resnet(depth: int = 16, widen_factor: int = 4, **kwargs) -> WideResNet:
    """WRN-``depth``-``widen_factor`` (e.g. ``wide_resnet(28, 10)`` is WRN-28-10)."""
    return WideResNet(depth, widen_factor, **kwargs)
