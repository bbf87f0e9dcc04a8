"""Adaptive max pooling: the output is ``output_size`` whatever the input size, over PyTorch's bins
[⌊i·H/OH⌋, ⌈(i + 1)·H/OH⌉) along each spatial dim.

The winners are found on the raw arrays (every bin padded to the largest by repeating its last index,
which a max ignores); the values are then a ``gather`` of the flat winner indices h·W + w, so the gradient
goes to each winner alone, as in PyTorch.
"""
from __future__ import annotations

from ...backend import xp
from ...errors import ShapeError
from ...ops.pool import _adaptive_size
from ...ops.shape import gather
from ...tensor import Tensor

__all__ = ["adaptive_max_pool2d", "adaptive_max_pool2d_with_indices"]


def _bins(n: int, out: int) -> xp.ndarray:
    """(out, widest bin) indices of the adaptive bins over n positions; short bins repeat their last index."""
    i = xp.arange(out)
    start, stop = (i * n) // out, -((-(i + 1) * n) // out)
    width = int((stop - start).max())
    idx = start[:, None] + xp.arange(width)[None, :]
    return xp.minimum(idx, stop[:, None] - 1)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive bins so that the output is ``output_size`` (an int, or a pair with None keeping a
    dim). With ``return_indices`` also returns each winner's flat index h·W + w in its plane."""
    op = "adaptive_max_pool2d"
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 4-D input (N, C, H, W) or an unbatched 3-D (C, H, W), "
                         f"got {getattr(input, 'shape', type(input).__name__)}")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    oh, ow = _adaptive_size(output_size, h, w, op)
    bh, bw = _bins(h, oh), _bins(w, ow)
    # windows (N, C, OH, OW, KH·KW) of the raw values, and the winner's flat index in its plane
    win = x._data[:, :, bh[:, None, :, None], bw[None, :, None, :]].reshape(n, c, oh, ow, -1)
    flat = (bh[:, None, :, None] * w + bw[None, :, None, :]).reshape(oh, ow, -1)
    best = xp.argmax(win, axis=-1)
    idx = xp.take_along_axis(xp.broadcast_to(flat, (n, c, oh, ow, flat.shape[-1])), best[..., None], -1)[..., 0]
    y = gather(x.reshape(n, c, h * w), 2, Tensor._make(idx.reshape(n, c, -1))).reshape(n, c, oh, ow)
    if input.ndim == 3:
        y, idx = y.squeeze(0), idx[0]
    return (y, Tensor._make(idx.astype(xp.int64))) if return_indices else y


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """``adaptive_max_pool2d`` returning (values, indices), as PyTorch's helper of that name."""
    return adaptive_max_pool2d(input, output_size, True)
