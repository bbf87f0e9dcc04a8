"""unfold (im2col) and fold (col2im) in PyTorch's (N, C·kh·kw, L) layout, each the other's adjoint.

    unfold(x)[n, (c, i, j), (p, q)] = x_pad[n, c, p·s_h + i·d_h, q·s_w + j·d_w]
    fold(y) = unfoldᵀ y: every column added back onto its block (overlaps accumulate)

L = OH·OW blocks, rows ordered (c, i, j) as a convolution weight. Both are linear, so the backward of
one is the other and forward mode applies the op to the tangent. The strided window copy and the
kernel-offset loop of col2im are the convolution's (``ops/conv.py``).
"""
from __future__ import annotations

import math

from ..autograd.op import LinearMap, run1
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor
from .conv import ConvSpec, _m_axes, col2im, im2col, out_size, pair

__all__ = ["unfold", "fold"]


def _to_nkl(cols, n: int, out_hw) -> xp.ndarray:
    """(K, M) columns with M in memory order -> a fresh (N, K, L) array."""
    size = {0: n, 2: out_hw[0], 3: out_hw[1]}
    axes = _m_axes(n)
    blocks = cols.reshape((cols.shape[0],) + tuple(size[a] for a in axes))
    logical = blocks.transpose((1 + axes.index(0), 0, 1 + axes.index(2), 1 + axes.index(3)))
    return xp.ascontiguousarray(logical).reshape(n, cols.shape[0], -1)


def _from_nkl(y, out_hw) -> xp.ndarray:
    """Inverse of ``_to_nkl``: (N, K, L) -> contiguous (K, M) with M in memory order."""
    n, k, _ = y.shape
    blocks = y.reshape(n, k, out_hw[0], out_hw[1])
    order = [1] + _m_axes(n)  # K first, then the column axes (N, H, W) in memory order
    return xp.ascontiguousarray(blocks.transpose(order)).reshape(k, -1)


class Geometry:
    """The block geometry shared by an unfold and its fold: image (C, H, W), kernel, spec and block grid."""

    def __init__(self, chw, kernel, spec: ConvSpec, out_hw):
        self.chw, self.kernel, self.spec, self.out_hw = tuple(chw), tuple(kernel), spec, tuple(out_hw)


class Unfold(LinearMap):
    """x (N, C, H, W) -> its sliding blocks (N, C·kh·kw, L); the adjoint is ``Fold``."""

    def __init__(self, geo: Geometry):
        self.geo = geo

    def forward(self, x):
        g = self.geo
        return _to_nkl(im2col(x, g.kernel[0], g.kernel[1], g.spec, g.out_hw), x.shape[0], g.out_hw)

    def backward(self, gy):
        return (run1(Fold(self.geo), gy),)


class Fold(LinearMap):
    """Blocks (N, C·kh·kw, L) summed back into (N, C, H, W); the adjoint is ``Unfold``."""

    def __init__(self, geo: Geometry):
        self.geo = geo

    def forward(self, y):
        g = self.geo
        shape = (y.shape[0],) + g.chw
        return xp.ascontiguousarray(col2im(_from_nkl(y, g.out_hw), shape, g.kernel[0], g.kernel[1], g.spec,
                                           g.out_hw))

    def backward(self, gx):
        return (run1(Unfold(self.geo), gx),)


def _spec(kernel_size, dilation, padding, stride, op: str):
    k = pair(kernel_size, "kernel_size", op)
    d, p, s = pair(dilation, "dilation", op), pair(padding, "padding", op), pair(stride, "stride", op)
    if min(k + d + s) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative; "
                         f"got kernel_size={k}, dilation={d}, padding={p}, stride={s}")
    return k, ConvSpec(s, ((p[0], p[0]), (p[1], p[1])), d, 1)


def _grid(hw, k, spec: ConvSpec, op: str) -> tuple:
    grid = tuple(out_size(hw[i], k[i], spec.stride[i], spec.pads[i][0], spec.pads[i][1], spec.dilation[i])
                 for i in range(2))
    if min(grid) < 1:
        raise ShapeError(f"{op}: a {k} kernel (dilation {spec.dilation}, padding {spec.pads[0][0]}, "
                         f"{spec.pads[1][0]}) does not fit in a {tuple(hw)} image")
    return grid


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every sliding block of input (N, C, H, W) as a column: (N, C·kh·kw, L), L = OH·OW (PyTorch's F.unfold).
    An unbatched (C, H, W) input gives (C·kh·kw, L)."""
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected a 4-D input (N, C, H, W) or a 3-D (C, H, W), "
                         f"got {getattr(input, 'shape', type(input).__name__)}")
    x = input if input.ndim == 4 else input.reshape((1,) + tuple(input.shape))
    k, spec = _spec(kernel_size, dilation, padding, stride, "unfold")
    geo = Geometry(x.shape[1:], k, spec, _grid(x.shape[2:], k, spec, "unfold"))
    out = run1(Unfold(geo), x)
    return out if input.ndim == 4 else out.reshape(tuple(out.shape[1:]))


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The adjoint of ``unfold``: blocks (N, C·kh·kw, L) added onto an (N, C, H, W) image of
    ``output_size`` = (H, W), overlapping entries summed (PyTorch's F.fold). (C·kh·kw, L) gives (C, H, W)."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ShapeError(f"fold: expected a 3-D input (N, C·kh·kw, L) or a 2-D (C·kh·kw, L), "
                         f"got {getattr(input, 'shape', type(input).__name__)}")
    y = input if input.ndim == 3 else input.reshape((1,) + tuple(input.shape))
    hw = pair(output_size, "output_size", "fold")
    k, spec = _spec(kernel_size, dilation, padding, stride, "fold")
    grid = _grid(hw, k, spec, "fold")
    if y.shape[1] % (k[0] * k[1]):
        raise ShapeError(f"fold: dim 1 of the input ({y.shape[1]}) must be divisible by kh·kw = {k[0] * k[1]}")
    if y.shape[2] != math.prod(grid):
        raise ShapeError(f"fold: the input has {y.shape[2]} blocks but output_size {hw} with kernel {k} gives "
                         f"{grid[0]}×{grid[1]} = {math.prod(grid)}")
    geo = Geometry((y.shape[1] // (k[0] * k[1]),) + hw, k, spec, grid)
    out = run1(Fold(geo), y)
    return out if input.ndim == 3 else out.reshape(tuple(out.shape[1:]))
