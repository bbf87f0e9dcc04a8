"""Dropout (inverted: kept units are scaled by 1/(1 − p) in training, so eval is the identity).

Masks are drawn from lamina's seeded generator (``lamina.manual_seed``), or from ``generator=``.
"""
from __future__ import annotations

from ...backend import float32, float64, rng, xp
from ...tensor import Tensor
from .activation import SELU_ALPHA, SELU_SCALE

__all__ = ["dropout", "dropout1d", "dropout2d", "alpha_dropout"]


def _check_p(name, p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability must be between 0 and 1, got {p}")


def _keep_mask(shape, p, dtype, generator) -> xp.ndarray:
    draw_dtype = dtype if dtype in (float32, float64) else float32
    return rng(generator).random(shape, dtype=draw_dtype) >= p


def _scaled_mask(shape, p, dtype, generator) -> Tensor:
    m = _keep_mask(shape, p, dtype, generator).astype(dtype)
    m *= dtype.type(1.0 / (1.0 - p))
    return Tensor._make(m)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p) (identity when not training)."""
    _check_p("dropout", p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return input * _scaled_mask(input.shape, p, input.dtype, generator)


def _channel_dropout(name, input, p, training, generator, spatial):
    _check_p(name, p)
    if input.ndim < 2 + spatial - 1:
        raise ValueError(f"{name}: expected an input with channels, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    lead = input.ndim - spatial
    shape = tuple(input.shape[:lead]) + (1,) * spatial
    return input * _scaled_mask(shape, p, input.dtype, generator)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Zero whole channels of (N, C, L) (or (C, L)) inputs."""
    return _channel_dropout("dropout1d", input, p, training, generator, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Zero whole channels (feature maps) of (N, C, H, W) (or (C, H, W)) inputs."""
    return _channel_dropout("dropout2d", input, p, training, generator, 2)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                  generator=None) -> Tensor:
    """Dropout for SELU networks: dropped units are set to SELU's negative saturation −λα and an affine
    map a·x + b restores zero mean and unit variance."""
    _check_p("alpha_dropout", p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * p
    keep = _keep_mask(input.shape, p, input.dtype, generator)
    dt = input.dtype
    mult = Tensor._make((keep * a).astype(dt))
    add = Tensor._make((~keep * (a * alpha_p) + b).astype(dt))
    return input * mult + add
