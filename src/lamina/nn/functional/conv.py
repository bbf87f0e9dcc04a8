"""Convolution, pooling and upsampling functions (``lamina.nn.functional``), as ``torch.nn.functional``.

The differentiable primitives live in ``lamina.ops.conv`` (convolution) and
``lamina.ops.pool`` (pooling and interpolation); this module is their public face.
"""
from __future__ import annotations

from ...ops.conv import conv2d, conv_transpose2d
from ...ops.pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d

__all__ = ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate",
           "upsample", "upsample_nearest", "upsample_bilinear"]


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    """The older name of ``interpolate`` (kept by PyTorch for compatibility)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Nearest-neighbour upsampling of a 4-D input."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Bilinear upsampling with ``align_corners=True`` (what PyTorch's old helper uses)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
