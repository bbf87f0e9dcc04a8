"""A small CNN for small images (the default model of ``lamina train`` on the 8×8 digits).

conv 3×3 (w) → BN → ReLU → conv 3×3 (2w) → BN → ReLU → max-pool 2 → conv 3×3 (2w) → BN → ReLU
→ global average pool → dropout → linear (classes).
"""
from __future__ import annotations

from .. import nn
from ..tensor import Tensor

__all__ = ["SmallCNN"]


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 32, dropout: float = 0.2):
        super().__init__()
        w = int(width)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * w, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
