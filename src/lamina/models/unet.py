"""UNet (Ronneberger et al. 2015), an encoder–decoder with skip connections, for dense (per-pixel) prediction.

Encoder: double 3×3 convolutions (conv-BN-ReLU twice) and 2×2 max pooling, doubling the width at
each level. Decoder: upsample (a 2×2 transposed convolution, or nearest / bilinear upsampling followed by
a 1×1 convolution), concatenate the encoder's feature map of the same resolution (the skip connection),
double convolution. A final 1×1 convolution gives ``out_channels`` scores per pixel. Odd sizes are
handled by padding the upsampled map to the skip's size, so 28×28 inputs work at any depth.
"""
from __future__ import annotations

from .. import nn
from ..ops.shape import cat, pad
from ..tensor import Tensor

__all__ = ["UNet", "DoubleConv"]


class DoubleConv(nn.Module):
    """(conv3×3 → BN → ReLU) × 2, keeping the spatial size."""

    def __init__(self, cin: int, cout: int, batchnorm: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        for a, b in ((cin, cout), (cout, cout)):
            layers.append(nn.Conv2d(a, b, 3, padding=1, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.ReLU())
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class _Up(nn.Module):
    """Upsample 2× to cin // 2 channels, concatenate the skip (cout channels), double convolution to cout."""

    up: nn.ConvTranspose2d | nn.Sequential

    def __init__(self, cin: int, cout: int, mode: str, batchnorm: bool):
        super().__init__()
        if mode == "transpose":
            self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        else:
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode=mode,
                                                align_corners=False if mode == "bilinear" else None),
                                    nn.Conv2d(cin, cin // 2, 1))
        self.conv = DoubleConv(cin // 2 + cout, cout, batchnorm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.up(x)
        dh, dw = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
        if dh or dw:
            x = pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
        return self.conv(cat([skip, x], 1))


class UNet(nn.Module):
    """``UNet(in_channels=1, out_channels=2, base_width=16, depth=2, up_mode='transpose', batchnorm=True)``.

    ``depth`` is the number of 2× downsamplings (level i has base_width·2^i channels); ``up_mode`` is
    'transpose', 'bilinear' or 'nearest'. Input (N, in_channels, H, W) → output (N, out_channels, H, W)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 2, base_width: int = 16, depth: int = 2,
                 up_mode: str = "transpose", batchnorm: bool = True):
        super().__init__()
        if up_mode not in ("transpose", "bilinear", "nearest"):
            raise ValueError(f"UNet: up_mode must be 'transpose', 'bilinear' or 'nearest', got {up_mode!r}")
        if depth < 1:
            raise ValueError(f"UNet: depth must be >= 1, got {depth}")
        widths = [base_width * 2 ** i for i in range(depth + 1)]
        self.depth = depth
        self.inc = DoubleConv(in_channels, widths[0], batchnorm)
        self.pool = nn.MaxPool2d(2)
        self.down = nn.ModuleList([DoubleConv(widths[i], widths[i + 1], batchnorm) for i in range(depth)])
        self.up = nn.ModuleList([_Up(widths[i + 1], widths[i], up_mode, batchnorm) for i in reversed(range(depth))])
        self.outc = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        if min(x.shape[-2:]) < 2 ** self.depth:
            raise ValueError(f"UNet: input of shape {tuple(x.shape)} is too small for depth {self.depth} "
                             f"(needs H, W >= {2 ** self.depth})")
        skips = [self.inc(x)]
        for down in self.down:
            skips.append(down(self.pool(skips[-1])))
        y = skips.pop()
        for up in self.up:
            y = up(y, skips.pop())
        return self.outc(y)
