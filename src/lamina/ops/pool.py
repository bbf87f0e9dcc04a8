"""Pooling (max, average, adaptive average) over NCHW tensors, as pairs of adjoint ops.

A pooling window at kernel offset (i, j) reads, for every output pixel at once, one strided
view of the padded input: x[:, :, i·d : : s, j·d : : s]. Each forward below is a short loop
over the kh·kw offsets, every step a whole-tensor NumPy operation (no loop over samples,
channels or pixels).

* Max pooling keeps, per output pixel, which offset won (``arg``). Its backward scatters the
  gradient to the winners (MaxPoolScatter); the scatter's backward gathers from the same
  positions (MaxPoolGather), so second derivatives work; its jvp gathers the tangent.
* Average pooling is linear: y = S x / divisor. Its backward is the adjoint Sᵀ(ȳ / divisor)
  (AvgPoolAdjoint), whose backward is average pooling again.
* Adaptive average pooling averages PyTorch's bins [⌊iH/OH⌋, ⌈(i+1)H/OH⌉): a separable linear
  map A_h · x · A_wᵀ (AxisLinear, whose backward is the same op with Aᵀ).
* Upsampling (``interpolate``: nearest, bilinear with align_corners False/True) resamples one axis
  at a time: y[o] = (1 − λ)·x[i0] + λ·x[i1] (AxisResample); its adjoint adds each ȳ[o] back onto
  rows i0, i1 (AxisResampleAdjoint, one xp.add.reduceat per tap), and the two are each other's backward.
Outputs keep the memory layout of their input (see ``conv.memory_order``).
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

from ..autograd.op import LinearMap, Op, run1
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor
from .conv import _batched, alloc, order_of, padded, pair


class PoolSpec(NamedTuple):
    kernel: tuple    # (kh, kw)
    stride: tuple
    pads: tuple      # ((top, bottom), (left, right)); bottom/right include ceil_mode's extra
    dilation: tuple
    in_hw: tuple
    out_hw: tuple

    @property
    def tiling(self) -> bool:
        """Whether the windows cover every input pixel exactly once (then scatters need no zero fill)."""
        return (self.pads == ((0, 0), (0, 0)) and self.dilation == (1, 1) and self.stride == self.kernel
                and all(o * k == n for o, k, n in zip(self.out_hw, self.kernel, self.in_hw)))

    @property
    def overlapping(self) -> bool:
        """Whether two windows can share an input pixel (then scatters must accumulate)."""
        return any(d * (k - 1) >= s for k, s, d in zip(self.kernel, self.stride, self.dilation))


def pool_out_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape: with ceil_mode the last window may start in the padding only."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _offsets(spec: PoolSpec):
    """(k, rows, cols): for each kernel offset, the slices of the padded input it reads."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = spec.kernel, spec.stride, spec.dilation, spec.out_hw
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            yield i * kw + j, rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def _like(a: xp.ndarray, ref: xp.ndarray) -> xp.ndarray:
    """``a`` in the memory layout of ``ref`` (copied if it differs), so elementwise steps stream through both."""
    order = order_of(ref)
    if a.size * a.itemsize < (1 << 16) or order_of(a) == order:
        return a
    out = alloc(a.shape, a.dtype, None, order)
    xp.copyto(out, a)
    return out


def _zeros_padded(shape, spec: PoolSpec, dtype, order):
    """A zero (N, C, Hp, Wp) buffer laid out in ``order`` for scatters, and the crop to its (N, C, H, W) part.
    When the windows tile the input exactly every pixel is written once, so the zero fill is skipped."""
    n, c, h, w = shape
    (pt, pb), (pl, pr) = spec.pads
    buf = alloc((n, c, h + pt + pb, w + pl + pr), dtype, None if spec.tiling else 0.0, order)
    return buf, (slice(None), slice(None), slice(pt, pt + h), slice(pl, pl + w))


# ------------------------------------------------------------------------------ max pooling
class MaxPool2d(Op):
    """y = max over each window; ``arg`` records the winning kernel offset (first one on ties)."""

    def __init__(self, spec: PoolSpec):
        self.spec = spec

    def forward(self, x):
        self.order = order_of(x)  # outputs and gradients keep the input's memory layout
        lowest = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min if x.dtype.kind in "iu" else False
        xpad = padded(x, self.spec.pads, lowest)
        views = [xpad[:, :, r, c] for _, r, c in _offsets(self.spec)]
        out = alloc(views[0].shape, x.dtype, None, self.order)
        arg_type = xp.uint8 if len(views) <= 256 else xp.int32
        if len(views) == 1:
            xp.copyto(out, views[0])
            self.arg = xp.zeros_like(out, dtype=arg_type)
            return out
        won = xp.greater(views[1], views[0])  # strictly greater: the first maximum wins ties, as in PyTorch
        xp.maximum(views[0], views[1], out=out)
        arg = won.astype(arg_type)
        step = xp.empty_like(arg)
        for k in range(2, len(views)):
            xp.greater(views[k], out, out=won)
            xp.maximum(out, views[k], out=out)
            # offsets come in increasing order, so "the latest winner" is a running maximum
            xp.maximum(arg, xp.multiply(won, arg_type(k), out=step), out=arg)
        self.arg = arg
        return out

    def indices(self) -> xp.ndarray:
        """PyTorch's return_indices: the winner's flat position h·W + w in its (unpadded) input plane."""
        (_, kw), (sh, sw), (dh, dw) = self.spec.kernel, self.spec.stride, self.spec.dilation
        (pt, _), (pl, _) = self.spec.pads
        oh, ow = self.spec.out_hw
        a = self.arg.astype(xp.int64)
        h = xp.arange(oh).reshape(-1, 1) * sh - pt + (a // kw) * dh
        w = xp.arange(ow) * sw - pl + (a % kw) * dw
        return h * self.spec.in_hw[1] + w

    def backward(self, g):
        return (run1(MaxPoolScatter(self.spec, self.arg, self.inputs[0].shape, self.order), g),)

    def jvp(self, t):
        return run1(MaxPoolGather(self.spec, self.arg), t)


class MaxPoolScatter(LinearMap):
    """x̄: each output gradient goes to the input pixel that won its window (summed where windows overlap)."""

    def __init__(self, spec: PoolSpec, arg, in_shape, order=None):
        self.spec, self.arg, self.in_shape, self.order = spec, arg, tuple(in_shape), order

    def forward(self, g):
        buf, crop = _zeros_padded(self.in_shape, self.spec, g.dtype, self.order)
        arg, overlapping = self.arg, self.spec.overlapping
        g = _like(g, arg)
        for k, r, c in _offsets(self.spec):
            if overlapping:
                buf[:, :, r, c] += g * (arg == k)
            else:  # each input pixel belongs to one window: write instead of accumulate
                xp.multiply(g, arg == k, out=buf[:, :, r, c])
        return buf[crop]

    def backward(self, gg):
        return (run1(MaxPoolGather(self.spec, self.arg), gg),)



class MaxPoolGather(LinearMap):
    """y = x at the recorded winners (the adjoint of MaxPoolScatter; linear in x)."""

    def __init__(self, spec: PoolSpec, arg):
        self.spec, self.arg = spec, arg

    def forward(self, x):
        self.in_shape = x.shape
        xpad = padded(x, self.spec.pads, 0)
        out = None
        for k, r, c in _offsets(self.spec):
            v = xpad[:, :, r, c]
            out = v.copy(order="K") if out is None else xp.where(self.arg == k, v, out)
        return out

    def backward(self, g):
        return (run1(MaxPoolScatter(self.spec, self.arg, self.in_shape, order_of(self.inputs[0]._data)), g),)



# ------------------------------------------------------------------------------ average pooling
def avg_divisor(spec: PoolSpec, pad: tuple, count_include_pad: bool, divisor_override, dtype):
    """PyTorch's divisor per output pixel: the window clipped to the padded input (count_include_pad)
    or to the real input, or ``divisor_override``. Returns a scalar or an (OH, OW) array."""
    if divisor_override is not None:
        return dtype.type(divisor_override)
    sizes = []
    for n, k, s, p, o in zip(spec.in_hw, spec.kernel, spec.stride, pad, spec.out_hw):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        sizes.append(end - start)
    div = xp.multiply.outer(sizes[0], sizes[1]).astype(dtype)
    return div.flat[0] if xp.all(div == div.flat[0]) else div


class AvgPool2d(LinearMap):
    """y = (Σ over the window of x) / divisor: a sum of kh·kw strided views."""

    def __init__(self, spec: PoolSpec, divisor):
        self.spec, self.divisor = spec, divisor

    def forward(self, x):
        self.order = order_of(x)
        xpad = padded(x, self.spec.pads, 0)
        acc = None
        for _, r, c in _offsets(self.spec):
            v = xpad[:, :, r, c]
            if acc is None:
                acc = alloc(v.shape, v.dtype, None, self.order)
                xp.copyto(acc, v)
            else:
                acc += v
        acc /= self.divisor
        return acc

    def backward(self, g):
        return (run1(AvgPoolAdjoint(self.spec, self.divisor, self.inputs[0].shape, self.order), g),)



class AvgPoolAdjoint(LinearMap):
    """x̄ = Sᵀ(ȳ / divisor): every output gradient spread evenly over its window (col2im of a mean)."""

    def __init__(self, spec: PoolSpec, divisor, in_shape, order=None):
        self.spec, self.divisor, self.in_shape, self.order = spec, divisor, tuple(in_shape), order

    def forward(self, g):
        buf, crop = _zeros_padded(self.in_shape, self.spec, g.dtype, self.order)
        gs = g / self.divisor
        for _, r, c in _offsets(self.spec):
            if self.spec.overlapping:
                buf[:, :, r, c] += gs
            else:  # each input pixel belongs to one window
                buf[:, :, r, c] = gs
        return buf[crop]

    def backward(self, gg):
        return (run1(AvgPool2d(self.spec, self.divisor), gg),)



# ------------------------------------------------------------------------------ separable linear maps
class AxisLinear(LinearMap):
    """y = A x along one axis (-1 or -2): y[..., o, :] = Σ_h A[o, h] x[..., h, :]. Backward: Aᵀ ȳ."""

    def __init__(self, a: xp.ndarray, axis: int):
        self.a, self.axis = a, axis

    def forward(self, x):
        a = self.a.astype(x.dtype, copy=False)
        return xp.matmul(x, a.T) if self.axis == -1 else xp.matmul(a, x)

    def backward(self, g):
        return (run1(AxisLinear(self.a.T, self.axis), g),)



def adaptive_avg_matrix(n_in: int, n_out: int) -> xp.ndarray:
    """Row o averages PyTorch's adaptive bin [⌊o·n_in/n_out⌋, ⌈(o+1)·n_in/n_out⌉)."""
    o = xp.arange(n_out)
    start = (o * n_in) // n_out
    end = -((-(o + 1) * n_in) // n_out)
    cols = xp.arange(n_in)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return inside / (end - start)[:, None]


# ------------------------------------------------------------------------------ functional API
def _pool_args(kernel_size, stride, padding, dilation, op):
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else pair(stride, "stride", op)
    p = pair(padding, "padding", op)
    d = pair(dilation, "dilation", op)
    for name, v, lo in (("kernel_size", k, 1), ("stride", s, 1), ("dilation", d, 1), ("padding", p, 0)):
        if min(v) < lo:
            raise ValueError(f"{op}: {name} must be {'positive' if lo else 'non-negative'}, got {v}")
    return k, s, p, d


def _spec(x, k, s, p, d, ceil_mode, op):
    h, w = x.shape[2:]
    oh = pool_out_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = pool_out_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise ShapeError(f"{op}: kernel {k} (dilation {d}) with padding {p} does not fit input of shape "
                         f"{tuple(x.shape)}: output size would be ({oh}, {ow})")
    extra = [max(0, (o - 1) * st + dl * (kk - 1) + 1 - (n + 2 * pp))
             for o, st, dl, kk, n, pp in zip((oh, ow), s, d, k, (h, w), p)]
    pads = ((p[0], p[0] + extra[0]), (p[1], p[1] + extra[1]))
    return PoolSpec(k, s, pads, d, (h, w), (oh, ow))


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over each kh×kw window (stride defaults to kernel_size; padding counts as −∞).
    With ``return_indices`` also returns each winner's flat index h·W + w in its input plane."""
    op = "max_pool2d"
    x, unbatched = _batched(input, op)
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation, op)
    for kk, pp, dd in zip(k, p, d):
        if pp > (dd * (kk - 1) + 1) // 2:
            raise ValueError(f"{op}: padding {p} should be at most half of the effective kernel size "
                             f"(kernel {k}, dilation {d})")
    pool = MaxPool2d(_spec(x, k, s, p, d, ceil_mode, op))
    y = run1(pool, x)
    if unbatched:
        y = y.reshape(y.shape[1:])
    if not return_indices:
        return y
    idx = pool.indices()
    return y, Tensor._make(idx[0] if unbatched else idx)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """Mean over each kh×kw window. The divisor counts padded zeros when ``count_include_pad``."""
    op = "avg_pool2d"
    x, unbatched = _batched(input, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating point tensor, got dtype {x.dtype}")
    k, s, p, d = _pool_args(kernel_size, stride, padding, 1, op)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} should be at most half of the kernel size {k}")
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Number) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero number, got {divisor_override!r}")
    spec = _spec(x, k, s, p, d, ceil_mode, op)
    div = avg_divisor(spec, p, count_include_pad, divisor_override, x.dtype)
    y = run1(AvgPool2d(spec, div), x)
    return y.reshape(y.shape[1:]) if unbatched else y


def _adaptive_size(output_size, h: int, w: int, op: str) -> tuple:
    """``output_size`` (an int, or a pair whose None entries keep that dim) as a pair of positive ints."""
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size, output_size)
    if not isinstance(output_size, (tuple, list)) or len(output_size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair (entries may be None), got {output_size!r}")
    oh, ow = (h if output_size[0] is None else int(output_size[0])), (w if output_size[1] is None else int(output_size[1]))
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: output_size must be positive, got {(oh, ow)}")
    return oh, ow


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive bins so that the output is ``output_size`` (None keeps a dim)."""
    op = "adaptive_avg_pool2d"
    x, unbatched = _batched(input, op)
    h, w = x.shape[2:]
    oh, ow = _adaptive_size(output_size, h, w, op)
    if (oh, ow) == (1, 1):
        y = x.mean((2, 3), keepdim=True)
    elif h % oh == 0 and w % ow == 0:  # equal bins: a plain average pool
        y = avg_pool2d(x, (h // oh, w // ow))
    else:
        y = x if oh == h else run1(AxisLinear(adaptive_avg_matrix(h, oh), -2), x)
        y = y if ow == w else run1(AxisLinear(adaptive_avg_matrix(w, ow), -1), y)
    return y.reshape(y.shape[1:]) if unbatched else y


# ------------------------------------------------------------------------------ upsampling (interpolation)
def _add_along(vals: xp.ndarray, idx: xp.ndarray, n: int, axis: int) -> xp.ndarray:
    """out[..., h, ...] = Σ_{o: idx[o] = h} vals[..., o, ...] along ``axis``, for a non-decreasing ``idx``:
    consecutive equal indices form segments, summed at once by xp.add.reduceat."""
    v = xp.moveaxis(vals, axis, 0)
    starts = xp.flatnonzero(xp.diff(idx, prepend=-1))
    out = xp.zeros((n,) + v.shape[1:], dtype=vals.dtype)
    out[idx[starts]] = xp.add.reduceat(v, starts, axis=0)
    return xp.moveaxis(out, 0, axis)


class AxisResample(LinearMap):
    """Interpolation along one axis: y[o] = (1 − λ[o])·x[i0[o]] + λ[o]·x[i1[o]] (nearest: y[o] = x[i0[o]]).

    Linear in x; the backward is the adjoint (AxisResampleAdjoint), the jvp this op on the tangent."""

    def __init__(self, axis: int, n_in: int, i0, i1=None, lam=None):
        self.axis, self.n_in, self.i0, self.i1, self.lam = axis, n_in, i0, i1, lam

    def _weights(self, dtype):
        shape = (-1, 1) if self.axis == -2 else (-1,)
        lam = self.lam.astype(dtype).reshape(shape)
        return 1 - lam, lam

    def forward(self, x):
        a = xp.take(x, self.i0, axis=self.axis)
        if self.lam is None:
            return a
        w0, w1 = self._weights(x.dtype)
        a *= w0
        a += w1 * xp.take(x, self.i1, axis=self.axis)
        return a

    def backward(self, g):
        return (run1(AxisResampleAdjoint(self), g),)



class AxisResampleAdjoint(LinearMap):
    """x̄[h] = Σ_{o: i0[o]=h} (1 − λ[o]) ȳ[o] + Σ_{o: i1[o]=h} λ[o] ȳ[o] (scatter-add; its adjoint is AxisResample)."""

    def __init__(self, fwd: AxisResample):
        self.fwd = AxisResample(fwd.axis, fwd.n_in, fwd.i0, fwd.i1, fwd.lam)

    def forward(self, g):
        f = self.fwd
        if f.lam is None:
            return _add_along(g, f.i0, f.n_in, f.axis)
        w0, w1 = f._weights(g.dtype)
        out = _add_along(g * w0, f.i0, f.n_in, f.axis)
        out += _add_along(g * w1, f.i1, f.n_in, f.axis)
        return out

    def backward(self, gg):
        f = self.fwd
        return (run1(AxisResample(f.axis, f.n_in, f.i0, f.i1, f.lam), gg),)



def source_index(n_in: int, n_out: int, mode: str, align_corners: bool, scale_factor, dtype):
    """PyTorch's source coordinates for each output position: (i0, i1, λ) for linear modes,
    (i0, None, None) for nearest. Arithmetic in the input's precision, as PyTorch does."""
    ft = xp.float64 if xp.dtype(dtype) == xp.float64 else xp.float32
    o: xp.ndarray = xp.arange(n_out, dtype=ft)
    if align_corners:
        scale = ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    elif scale_factor is not None and scale_factor > 0:
        scale = ft(1.0 / scale_factor)
    else:
        scale = ft(n_in) / ft(n_out)
    if mode in ("nearest", "nearest-exact"):
        src = o * scale if mode == "nearest" else (o + ft(0.5)) * scale
        return xp.minimum(xp.floor(src).astype(xp.int64), n_in - 1), None, None
    src = o * scale if align_corners else xp.maximum(scale * (o + ft(0.5)) - ft(0.5), ft(0))
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), n_in - 1)
    lam = xp.clip(src - i0, 0, 1)
    return i0, xp.minimum(i0 + 1, n_in - 1), lam


_MODES = {1: ("nearest", "nearest-exact", "linear", "area"), 2: ("nearest", "nearest-exact", "bilinear", "area")}


def _sizes(x, size, scale_factor, op):
    """The output's spatial sizes and the scale factor of each dim (None when given by ``size``)."""
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor (got size={size!r}, "
                         f"scale_factor={scale_factor!r})")
    if size is not None:
        return _sizes_given(x, size, op)
    return _sizes_scaled(x, scale_factor, op)


def _sizes_given(x, size, op):
    dims = x.ndim - 2
    size = (size,) * dims if isinstance(size, numbers.Integral) else tuple(size)
    if len(size) != dims or any(int(s) < 1 for s in size):
        raise ValueError(f"{op}: size must be {dims} positive ints for input of shape {tuple(x.shape)}, "
                         f"got {size!r}")
    return tuple(int(s) for s in size), (None,) * dims


def _sizes_scaled(x, scale_factor, op):
    """Output size ⌊n·s⌋ per dim for scale factors s > 0."""
    dims = x.ndim - 2
    in_sizes = x.shape[2:]
    sf = (scale_factor,) * dims if isinstance(scale_factor, numbers.Number) else tuple(scale_factor)
    if len(sf) != dims or any(s <= 0 for s in sf):
        raise ValueError(f"{op}: scale_factor must be {dims} positive numbers for input of shape "
                         f"{tuple(x.shape)}, got {scale_factor!r}")
    out = tuple(int(xp.floor(n * float(s))) for n, s in zip(in_sizes, sf))
    if min(out) < 1:
        raise ValueError(f"{op}: scale_factor {scale_factor!r} gives an empty output for input {tuple(x.shape)}")
    return out, tuple(float(s) for s in sf)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor`` (PyTorch's F.interpolate):
    modes 'nearest', 'nearest-exact', 'linear' (3-D) / 'bilinear' (4-D) with ``align_corners``, 'area'."""
    op = "interpolate"
    _check_interpolate(input, mode, align_corners, antialias, op)
    dims = input.ndim - 2
    out_sizes, scales = _sizes(input, size, scale_factor, op)
    if recompute_scale_factor:
        scales = (None,) * dims
    if mode == "area":
        if dims == 2:
            return adaptive_avg_pool2d(input, out_sizes)
        return run1(AxisLinear(adaptive_avg_matrix(input.shape[-1], out_sizes[0]), -1), input)
    y = input
    for axis, n_in, n_out, sf in zip(range(-dims, 0), input.shape[2:], out_sizes, scales):
        i0, i1, lam = source_index(n_in, n_out, mode, bool(align_corners), sf, input.dtype)
        if n_in == n_out and xp.array_equal(i0, xp.arange(n_in)) and (lam is None or not lam.any()):
            continue  # the identity along this axis
        y = run1(AxisResample(axis, n_in, i0, i1, lam), y)
    return y


def _check_interpolate(input, mode: str, align_corners, antialias: bool, op: str) -> None:
    """interpolate's input (3-D or 4-D tensor) and mode rules."""
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-D (N, C, L) or 4-D (N, C, H, W) tensor, got "
                         f"{tuple(getattr(input, 'shape', ())) or type(input).__name__}")
    dims = input.ndim - 2
    if mode not in _MODES[dims]:
        raise ValueError(f"{op}: mode {mode!r} is not supported for {input.ndim}-D input; choose one of "
                         f"{_MODES[dims]}")
    linear = mode in ("linear", "bilinear")
    if align_corners is not None and not linear:
        raise ValueError(f"{op}: align_corners can only be set with the interpolating modes linear | bilinear, "
                         f"not {mode!r}")
    if antialias:
        raise ValueError(f"{op}: antialias=True is not supported by lamina (use mode='area' to downsample "
                         "with averaging)")
    if input.dtype.kind != "f" and mode != "nearest":
        raise TypeError(f"{op}: mode {mode!r} needs a floating point input, got dtype {input.dtype}")
