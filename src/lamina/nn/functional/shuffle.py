"""Pixel shuffle: (*, C·r², H, W) ↔ (*, C, H·r, W·r), out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w]
(sub-pixel convolution); ``pixel_unshuffle`` is its inverse. Both are a reshape and a permutation."""
from __future__ import annotations

from ...errors import ShapeError
from ...tensor import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(name: str, input: Tensor, r) -> None:
    if not isinstance(r, int) or r < 1:
        raise ValueError(f"{name}: the factor must be a positive int, got {r!r}")
    if input.ndim < 3:
        raise ShapeError(f"{name}: expected an input of shape (*, C, H, W), got {tuple(input.shape)}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r)."""
    r = upscale_factor
    _check("pixel_shuffle", input, r)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: the {c} channels must be divisible by upscale_factor² = {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of ``pixel_shuffle``."""
    r = downscale_factor
    _check("pixel_unshuffle", input, r)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: height {h} and width {w} must be divisible by downscale_factor {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
