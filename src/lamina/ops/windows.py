"""Sliding windows along one dim: ``Tensor.unfold(dimension, size, step)``.

For x with length L along ``dimension``, window k (k = 0 … n−1, n = ⌊(L − size)/step⌋ + 1) holds
x[k·step : k·step + size]; the windows replace that dim by n and add a last dim of length ``size``:
y[…, k, …, j] = x[…, k·step + j, …]. The map is linear; its adjoint adds every window back onto the
positions it was read from, x̄[…, k·step + j, …] += ȳ[…, k, …, j] (one strided add per offset j).
"""
from __future__ import annotations

import numbers

from ..autograd.op import LinearMap, run1
from ..backend import as_strided, xp
from ..errors import ShapeError
from ..tensor import Tensor


def _count(length: int, size: int, step: int) -> int:
    return (length - size) // step + 1


class UnfoldDim(LinearMap):
    """y[…, k, …, j] = x[…, k·step + j, …] (windows of ``size`` every ``step`` along ``dim``)."""

    def __init__(self, dim: int, size: int, step: int):
        self.dim, self.size, self.step = dim, size, step

    def forward(self, x):
        d, n = self.dim, _count(x.shape[self.dim], self.size, self.step)
        shape = x.shape[:d] + (n,) + x.shape[d + 1:] + (self.size,)
        strides = x.strides[:d] + (x.strides[d] * self.step,) + x.strides[d + 1:] + (x.strides[d],)
        return as_strided(x, shape, strides, writeable=False).copy()

    def backward(self, g):
        return (run1(UnfoldDimAdjoint(self.dim, self.size, self.step, self.inputs[0].shape[self.dim]), g),)


class UnfoldDimAdjoint(LinearMap):
    """x̄[…, k·step + j, …] = Σ_k ȳ[…, k, …, j]: the windows added back where they were read."""

    def __init__(self, dim: int, size: int, step: int, length: int):
        self.dim, self.size, self.step, self.length = dim, size, step, length

    def forward(self, g):
        d, n = self.dim, g.shape[self.dim]
        out = xp.zeros(g.shape[:d] + (self.length,) + g.shape[d + 1:-1], dtype=g.dtype)
        lead = (slice(None),) * d
        for j in range(self.size):  # a loop over the window's offsets, each one whole-array add
            out[lead + (slice(j, j + self.step * (n - 1) + 1, self.step),)] += g[..., j]
        return out

    def backward(self, g):
        return (run1(UnfoldDim(self.dim, self.size, self.step), g),)


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``x.unfold(dimension, size, step)``: every window of ``size`` elements, ``step`` apart, along ``dimension``
    (that dim becomes the window count, and a last dim of length ``size`` is added)."""
    nd = max(x.ndim, 1)
    if not isinstance(dimension, numbers.Integral) or not -nd <= dimension < nd:
        raise IndexError(f"unfold: dimension {dimension} out of range for a tensor of {x.ndim} dims")
    d = dimension % nd
    if x.ndim == 0:  # torch: a 0-d tensor is one window of one element
        if size > 1:
            raise ShapeError(f"unfold: window size {size} exceeds the single element of a 0-d tensor")
        return x.reshape(1)
    length = x.shape[d]
    if not isinstance(size, numbers.Integral) or not isinstance(step, numbers.Integral) or step <= 0 or size < 0:
        raise ValueError(f"unfold: size must be an integer >= 0 and step an integer > 0, got size={size}, step={step}")
    if size > length:
        raise ShapeError(f"unfold: window size {size} exceeds dim {d} of shape {tuple(x.shape)} (length {length})")
    return run1(UnfoldDim(d, int(size), int(step)), x)
