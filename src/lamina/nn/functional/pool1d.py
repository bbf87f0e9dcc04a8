"""1-D convolution and pooling over (N, C, L) (or unbatched (C, L)), computed by the 2-D kernels on a
unit-height image (N, C, 1, L) with kernel (1, k): the same values, gradients and flat indices."""
from __future__ import annotations

import numbers

from ...errors import ShapeError
from ...ops.conv import conv2d
from ...ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ...tensor import Tensor
from .adaptive_max import adaptive_max_pool2d

__all__ = ["conv1d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d"]


def single(v, name: str, op: str) -> int:
    """An int or a 1-tuple of ints -> int, with a clear error otherwise."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    if not isinstance(v, numbers.Integral):
        raise ValueError(f"{op}: {name} must be an int or a 1-tuple of ints, got {v!r}")
    return int(v)


def _as_2d(input: Tensor, op: str) -> Tensor:
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected a 3-D input (N, C, L) or an unbatched 2-D (C, L), "
                         f"got {getattr(input, 'shape', type(input).__name__)}")
    return input.unsqueeze(-2)


def _from_2d(y):
    if isinstance(y, tuple):
        return tuple(t.squeeze(-2) for t in y)
    return y.squeeze(-2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """y[n, o, l] = b[o] + Σ_{c,k} W[o, c, k]·x[n, c, s·l + d·k − p]; weight (C_out, C_in/groups, k),
    ``padding`` an int, 'valid' or 'same'."""
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        raise ShapeError(f"conv1d: weight must be a 3-D tensor (C_out, C_in/groups, k), "
                         f"got {getattr(weight, 'shape', type(weight).__name__)}")
    pad = padding if isinstance(padding, str) else (0, single(padding, "padding", "conv1d"))
    y = conv2d(_as_2d(input, "conv1d"), weight.unsqueeze(-2), bias, (1, single(stride, "stride", "conv1d")), pad,
               (1, single(dilation, "dilation", "conv1d")), groups)
    return _from_2d(y)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over each window of k values (stride defaults to k); with ``return_indices`` also each winner's
    position along L."""
    op = "max_pool1d"
    k = single(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else single(stride, "stride", op)
    y = max_pool2d(_as_2d(input, op), (1, k), (1, s), (0, single(padding, "padding", op)),
                   (1, single(dilation, "dilation", op)), ceil_mode, return_indices)
    return _from_2d(y)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over each window of k values; the divisor counts padded zeros when ``count_include_pad``."""
    op = "avg_pool1d"
    k = single(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else single(stride, "stride", op)
    return _from_2d(avg_pool2d(_as_2d(input, op), (1, k), (1, s), (0, single(padding, "padding", op)), ceil_mode,
                               count_include_pad))


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive bins so that L becomes ``output_size``."""
    op = "adaptive_avg_pool1d"
    return _from_2d(adaptive_avg_pool2d(_as_2d(input, op), (1, single(output_size, "output_size", op))))


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max over PyTorch's adaptive bins so that L becomes ``output_size`` (indices: positions along L)."""
    op = "adaptive_max_pool1d"
    return _from_2d(adaptive_max_pool2d(_as_2d(input, op), (1, single(output_size, "output_size", op)),
                                        return_indices))
