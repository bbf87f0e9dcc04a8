"""2-D convolution and transposed convolution (NCHW), as three ops built from one trilinear form.

The convolution maps U (X × Y × S) to V with
    V(x, y, t) = Σ_i Σ_j Σ_s K(i − x + δ, j − y + δ, s, t) U(i, j, s).
Written as a matrix product: gather every receptive field of U into a column ("im2col"),
then one GEMM per layer multiplies the weight matrix (O, C·kh·kw) with the column matrix
(C·kh·kw, N·OH·OW). 1×1 convolutions need no gathering; groups (depthwise when
groups = channels) become a batch of G smaller GEMMs.

Let T(x, w, g) = ⟨g, conv(x, w)⟩. Its three partial derivatives are the three ops here:
    conv2d(x, w)             = ∂T/∂g   (Conv2d)
    conv_transpose2d(g, w)   = ∂T/∂x   (ConvTranspose2d: the input gradient, "col2im")
    conv2d_weight(x, g)      = ∂T/∂w   (Conv2dWeight: the weight gradient)
so the backward of each one is made of the other two, and every gradient is again
differentiable (second derivatives, Hessian-vector products). conv is bilinear, so
the forward-mode rule is jvp = conv(ẋ, w) + conv(x, ẇ).

Large layers (a column matrix above 4 MB) are gathered and multiplied in bands of output rows that stay
in cache (``band_rows``). For stride 1 with 'same'-like padding x̄ is itself a convolution of ȳ with
the flipped kernel (``_gather_spec``), and under a plain backward one pass over its columns gives
both x̄ and w̄ (``fused_backward``).

Memory layout: tensors are NCHW, but the arrays allocated here are laid out (C, H, W, N) in memory
for batches of 16 or more and (C, N, H, W) for smaller ones (see ``memory_order``). The GEMM
(O, K) @ (K, M) then writes its result directly in that layout, every im2col copy, col2im add and
pooling step moves long contiguous runs (N·OW values) instead of short rows, and the weight
gradient needs only a small transpose. Consumers never see the difference: every op
works on strided arrays, and a reshape copies when it must.
"""
from __future__ import annotations

import numbers
import os
import sys
import threading
from collections import OrderedDict
from typing import NamedTuple

from .. import _mode
from ..autograd.op import Multilinear, Op, run
from ..autograd.op import sum_terms as _sum
from ..backend import as_strided, xp
from ..errors import ShapeError
from ..tensor import Tensor
from .conv_fft import conv_fft, conv_transpose_fft


class ConvSpec(NamedTuple):
    """Geometry of a convolution: stride, (before, after) padding per spatial dim, dilation, groups."""

    stride: tuple
    pads: tuple
    dilation: tuple
    groups: int


# ------------------------------------------------------------------------------ memory layout
def memory_order(n: int) -> tuple:
    """Memory order (a permutation of the logical axes N, C, H, W) of the activations allocated here.

    Batches of 16 or more are stored (C, H, W, N): every window copy, col2im add and pooling step
    then moves runs of N (or OW·N) contiguous values. Small batches are stored (C, N, H, W)."""
    return (1, 2, 3, 0) if n >= 16 else (1, 0, 2, 3)


class BufferCache:
    """Large buffers reused across training steps, once nothing references them any more.

    A fresh multi-megabyte array is paid for in page faults when it is first written (the C
    allocator hands freed memory back to the OS), and a training loop asks for the same sizes
    every step: on LeNet-5 this was 40% of the step time. A cached buffer is handed out again only
    when the cache holds the sole reference to it (``sys.getrefcount``): every tensor, view or
    value saved in a graph that still uses it keeps a reference to it, so it is never shared."""

    min_bytes = 1 << 18

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes, self.bytes = max_bytes, 0
        self._buffers: OrderedDict[int, list] = OrderedDict()  # nbytes -> [uint8 arrays], least recently used first
        self._lock = threading.Lock()

    def empty(self, shape, dtype) -> xp.ndarray:
        dtype = xp.dtype(dtype)
        nbytes = int(xp.prod(shape)) * dtype.itemsize
        if nbytes < self.min_bytes:
            return xp.empty(shape, dtype)
        with self._lock:
            found = None
            same = self._buffers.setdefault(nbytes, [])
            self._buffers.move_to_end(nbytes)
            for buf in same:
                if sys.getrefcount(buf) == 3:  # the list, the loop variable and getrefcount's argument
                    found = buf
                    break
            if found is None:
                found = xp.empty(nbytes, xp.uint8)
                same.append(found)
                self.bytes += nbytes
                self._evict()
            return found.view(dtype).reshape(shape)

    def _evict(self):
        for key in list(self._buffers):
            same, i = self._buffers[key], 0
            while i < len(same) and self.bytes > self.max_bytes:
                if sys.getrefcount(same[i]) == 2:  # unused (the list and the argument): forget it
                    del same[i]
                    self.bytes -= key
                else:  # in use: it stays with its users
                    i += 1
            if self.bytes <= self.max_bytes:
                return

    def clear(self) -> None:
        with self._lock:
            self._buffers.clear()
            self.bytes = 0


buffers = BufferCache()
# a process forked while another thread held the cache's lock gets a fresh lock
os.register_at_fork(after_in_child=lambda: setattr(buffers, "_lock", threading.Lock()))


def order_of(a: xp.ndarray) -> tuple:
    """The memory order of an array: its logical axes from the largest stride to the smallest."""
    return tuple(sorted(range(a.ndim), key=lambda i: -abs(a.strides[i])))


def alloc(shape, dtype, fill=0.0, order=None) -> xp.ndarray:
    """A logical (N, C, H, W) array laid out in ``order`` (default ``memory_order``), filled with ``fill``
    (None: uninitialised)."""
    order = memory_order(shape[0]) if order is None else order
    buf = buffers.empty(tuple(shape[a] for a in order), dtype)
    if fill is not None:
        buf.fill(fill)
    return buf.transpose(xp.argsort(order))


def _fits(a: xp.ndarray, b, dtype) -> bool:
    """Whether a ⊕ b has a's shape and ``dtype``: b an array of that dtype (or a boolean mask) that broadcasts
    to a's shape."""
    if not isinstance(b, xp.ndarray) or (b.dtype != dtype and b.dtype != bool):
        return False
    return b.shape == a.shape or (b.ndim <= a.ndim and all(s in (1, t) for s, t in zip(b.shape[::-1], a.shape[::-1])))


def out_like(a: xp.ndarray, b=None, dtype=None):
    """An uninitialised array for an elementwise result on ``a`` (and ``b``): a reused buffer in a's memory
    order when the result is large (a fresh one costs page faults every step), else None (let NumPy allocate)."""
    dtype = a.dtype if dtype is None else dtype
    if a.nbytes < BufferCache.min_bytes or dtype.kind != "f" or (b is not None and not _fits(a, b, dtype)):
        return None
    order = order_of(a)
    return buffers.empty(tuple(a.shape[i] for i in order), dtype).transpose(xp.argsort(order))


def as_matrix(a: xp.ndarray) -> xp.ndarray:
    """(N, C, H, W) -> contiguous (C, M) with M in memory order; free when ``a`` already has that layout."""
    order = memory_order(a.shape[0])
    t = a.transpose(order)
    if not t.flags.c_contiguous:
        t = _copy(t)
    return t.reshape(a.shape[1], -1)


def _copy(a: xp.ndarray) -> xp.ndarray:
    """A C-contiguous copy of ``a`` in a reusable buffer."""
    out = buffers.empty(a.shape, a.dtype)
    xp.copyto(out, a)
    return out


def from_matrix(m: xp.ndarray, shape) -> xp.ndarray:
    """Inverse of ``as_matrix``: a (C, M) matrix viewed as the logical (N, C, H, W) array ``shape``."""
    order = memory_order(shape[0])
    return m.reshape(tuple(shape[a] for a in order)).transpose(xp.argsort(order))


def _m_axes(n: int) -> list:
    """The logical axes (among N, H, W) that make up a column index M, outermost first."""
    return [a for a in memory_order(n) if a != 1]


# ------------------------------------------------------------------------------ raw NumPy kernels
def padded(x: xp.ndarray, pads, value=0.0) -> xp.ndarray:
    """x (N, C, H, W) padded with ``value`` into a buffer in ``memory_order``. Without padding: x itself
    when it already has that layout (or is small), else a copy in that layout."""
    (pt, pb), (pl, pr) = pads
    n, c, h, w = x.shape
    if not (pt or pb or pl or pr):
        if order_of(x) == memory_order(n) or x.size < BufferCache.min_bytes // 4:
            return x
        return _copy(x.transpose(memory_order(n))).transpose(xp.argsort(memory_order(n)))
    buf = alloc((n, c, h + pt + pb, w + pl + pr), x.dtype, None)
    buf[:, :, pt:pt + h, pl:pl + w] = x
    for border in (buf[:, :, :pt], buf[:, :, pt + h:], buf[:, :, pt:pt + h, :pl], buf[:, :, pt:pt + h, pl + w:]):
        border.fill(value)  # only the border: the inside is written once, by the copy
    return buf


def _is_pointwise(kh, kw, spec, in_hw, out_hw) -> bool:
    return (kh == kw == 1 and spec.stride == (1, 1) and spec.pads == ((0, 0), (0, 0))
            and tuple(in_hw) == tuple(out_hw))


def im2col(x: xp.ndarray, kh: int, kw: int, spec: ConvSpec, out_hw) -> xp.ndarray:
    """Every receptive field of x as a column: (C·kh·kw, M), rows ordered (c, i, j) like the weight,
    columns M = (n, oh, ow) in memory order. One strided view (as_strided) and one copy; no loop."""
    n, c, h, w = x.shape
    if _is_pointwise(kh, kw, spec, (h, w), out_hw):
        return as_matrix(x)
    xpad = padded(x, spec.pads)
    sn, sc, sh, sw = xpad.strides
    (st_h, st_w), (d_h, d_w) = spec.stride, spec.dilation
    size = {0: n, 2: out_hw[0], 3: out_hw[1]}
    step = {0: sn, 2: sh * st_h, 3: sw * st_w}
    m_axes = _m_axes(n)
    windows = as_strided(xpad, (c, kh, kw) + tuple(size[a] for a in m_axes),
                         (sc, sh * d_h, sw * d_w) + tuple(step[a] for a in m_axes), writeable=False)
    return _copy(windows).reshape(c * kh * kw, -1)


# Row bands: when the column matrix is much larger than the L2 cache, im2col writes it to memory and
# the GEMM reads it back. Gathering the columns of a band of output rows (about _BAND_BYTES of them)
# into one small buffer and multiplying band by band keeps them in cache: on a 16-channel 32×32
# 3×3 layer (batch 32, 1 thread) im2col + GEMM took 5.4 ms whole and 3.1 ms in 1-row bands; the
# weight gradient then gathers the bands again instead of keeping the whole matrix from the forward.
# Bands of about 2 MiB (three output rows there) were another 5–10 % faster than 1 MiB on 16- and
# 32-channel layers (forward + fused backward, both OpenBLAS Haswell and SkylakeX kernels) and the
# same on larger ones: fewer band calls, still resident in the caches.
_BAND_BYTES = 1 << 21
_BANDED_MIN = 4 << 20
# A GEMM with very few output rows (W·cols with O ≤ _FEW_CHANNELS) runs far below the BLAS's speed on wide
# column blocks; on bands of about 512 KiB it is 2.5x faster. LeNet-5's first layer (1 → 6 channels, 5×5,
# batch 64, 1 thread): forward 1.65 → 0.61 ms, forward + weight gradient 2.40 → 1.32 ms, against the whole
# column matrix multiplied as colsᵀ·Wᵀ (``_few_channels_product``).
_FEW_BAND_BYTES = 1 << 19


def band_rows(x_shape, kernel_hw, spec: ConvSpec, out_hw, itemsize: int, out_channels=None):
    """Output rows per band for a banded im2col + GEMM, or None to gather the whole column matrix.

    Banded: (C, H, W, N) memory (a band of output rows is then a contiguous run of columns), no groups,
    not pointwise (that needs no gathering) and a column matrix of at least _BANDED_MIN bytes. Bands hold
    about _BAND_BYTES of columns, or _FEW_BAND_BYTES when the product has at most _FEW_CHANNELS output
    channels (``out_channels``)."""
    n, c, h, w = x_shape
    (kh, kw), (oh, ow) = kernel_hw, out_hw
    if memory_order(n) != (1, 2, 3, 0) or spec.groups != 1 or _is_pointwise(kh, kw, spec, (h, w), out_hw):
        return None
    row_bytes = c * kh * kw * ow * n * itemsize
    if row_bytes * oh < _BANDED_MIN:
        return None
    few = out_channels is not None and out_channels <= _FEW_CHANNELS
    return max(1, min(oh, (_FEW_BAND_BYTES if few else _BAND_BYTES) // row_bytes))


def _bands(xpad: xp.ndarray, kh: int, kw: int, spec: ConvSpec, out_hw, rows: int):
    """For each band of ``rows`` output rows: (column slice of M, its columns (C·kh·kw, rows·OW·N)),
    gathered into one reused buffer (valid until the next band)."""
    n, c = xpad.shape[:2]
    oh, ow = out_hw
    sn, sc, sh, sw = xpad.strides
    (st_h, st_w), (d_h, d_w) = spec.stride, spec.dilation
    k, width = c * kh * kw, ow * n
    buf = buffers.empty((k, rows * width), xpad.dtype)
    for r0 in range(0, oh, rows):
        r = min(rows, oh - r0)
        windows = as_strided(xpad[:, :, r0 * st_h:], (c, kh, kw, r, ow, n),
                             (sc, sh * d_h, sw * d_w, sh * st_h, sw * st_w, sn), writeable=False)
        part = buf[:, :r * width]
        xp.copyto(part.reshape(c, kh, kw, r, ow, n), windows)
        yield slice(r0 * width, (r0 + r) * width), part


def col2im(cols: xp.ndarray, shape, kh: int, kw: int, spec: ConvSpec, out_hw) -> xp.ndarray:
    """Adjoint of im2col: add every column back onto its receptive field; returns (N, C, H, W).

    The loop runs over the kh·kw kernel offsets only; each step adds a whole (N, C, OH, OW) block."""
    n, c, h, w = shape
    oh, ow = out_hw
    if _is_pointwise(kh, kw, spec, (h, w), out_hw):
        return from_matrix(cols, shape)
    (pt, pb), (pl, pr) = spec.pads
    (st_h, st_w), (d_h, d_w) = spec.stride, spec.dilation
    m_axes = _m_axes(n)
    size = {0: n, 2: oh, 3: ow}
    blocks = cols.reshape((c, kh, kw) + tuple(size[a] for a in m_axes))
    # logical (kh, kw, N, C, OH, OW) view of the blocks, whatever their memory order
    blocks = blocks.transpose((1, 2, 3 + m_axes.index(0), 0, 3 + m_axes.index(2), 3 + m_axes.index(3)))
    buf = alloc((n, c, h + pt + pb, w + pl + pr), cols.dtype)
    for i in range(kh):
        r = slice(i * d_h, i * d_h + st_h * (oh - 1) + 1, st_h)
        for j in range(kw):
            buf[:, :, r, j * d_w:j * d_w + st_w * (ow - 1) + 1:st_w] += blocks[i, j]
    return buf[:, :, pt:pt + h, pl:pl + w]


# BLAS computes W·cols slowly when W has very few rows; below this many output channels the
# product is formed as colsᵀ·Wᵀ and transposed back while the bias is added (measured 1.3x faster).
_FEW_CHANNELS = 8


def conv_forward(x, w, b, spec: ConvSpec, out_hw, cols=None):
    """y = conv(x, w) + b as one GEMM (O, K) @ (K, M) (a batch of G GEMMs with groups), or band by band
    (``band_rows``). Returns (y, what the weight gradient reuses: cols, or the padded input when banded)."""
    o, cg, kh, kw = w.shape
    dtype = xp.result_type(x, w)
    rows = band_rows(x.shape, (kh, kw), spec, out_hw, dtype.itemsize, o) if cols is None else None
    if rows is not None:
        return _conv_forward_banded(x, w, b, spec, out_hw, rows, dtype)
    if cols is None:
        cols = im2col(x, kh, kw, spec, out_hw)
    out = buffers.empty((o, cols.shape[1]), dtype)
    if spec.groups == 1 and o <= _FEW_CHANNELS:
        _few_channels_product(cols, w, b, out)
    else:
        _weight_product(cols, w, spec.groups, out)
        if b is not None:
            out += b.reshape(o, 1)
    return from_matrix(out, (x.shape[0], o) + tuple(out_hw)), cols


def _conv_forward_banded(x, w, b, spec: ConvSpec, out_hw, rows: int, dtype):
    """conv_forward band by band; the weight gradient gathers the bands again, from the padded input returned."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    out = buffers.empty((o, n * out_hw[0] * out_hw[1]), dtype)
    wm = w.reshape(o, cg * kh * kw)
    xpad = padded(x, spec.pads)
    for band, part in _bands(xpad, kh, kw, spec, out_hw, rows):
        xp.matmul(wm, part, out=out[:, band])
    if b is not None:
        out += b.reshape(o, 1)
    return from_matrix(out, (n, o) + tuple(out_hw)), xpad


def _few_channels_product(cols, w, b, out) -> None:
    """out = W·cols (+ b) formed as colsᵀ·Wᵀ and transposed back (faster for very few output channels)."""
    o, m = out.shape
    out_t = xp.matmul(cols.T, w.reshape(o, -1).T, out=buffers.empty((m, o), out.dtype))
    if b is None:
        xp.copyto(out, out_t.T)
    else:
        xp.add(out_t.T, b.reshape(o, 1), out=out)


def _weight_product(cols, w, groups: int, out) -> None:
    """out = W·cols: one GEMM, or a batch of G GEMMs with groups."""
    o, m = out.shape
    if groups == 1:
        xp.matmul(w.reshape(o, -1), cols, out=out)
    else:
        k = cols.shape[0] // groups
        xp.matmul(w.reshape(groups, o // groups, k), cols.reshape(groups, k, m), out=out.reshape(groups, o // groups, m))


def _gather_spec(spec: ConvSpec, kernel_hw, in_hw, out_hw, channels):
    """The stride-1 convolution of ȳ that gives x̄ directly, or None when col2im is the cheaper way.

    For stride 1, x̄(h, w) = Σ_(o, i, j) ȳ(h + p_t − i·d, w + p_l − j·d, o) W(o, c, i, j): a convolution of ȳ,
    padded by d·(k − 1) − p on each side, with the kernel flipped and its channel axes swapped. It reads
    ȳ through one im2col instead of adding kh·kw blocks into x̄; chosen when its column matrix
    (O·kh·kw × N·H·W) is not much larger than col2im's (C·kh·kw × N·OH·OW), i.e. with 'same' padding."""
    if spec.stride != (1, 1):
        return None
    reach = [d * (k - 1) for d, k in zip(spec.dilation, kernel_hw)]
    pads = tuple((r - a, r - b) for r, (a, b) in zip(reach, spec.pads))
    if min(min(p) for p in pads) < 0:
        return None
    o, c = channels
    if o * in_hw[0] * in_hw[1] > 1.25 * c * out_hw[0] * out_hw[1]:
        return None
    return ConvSpec((1, 1), pads, spec.dilation, spec.groups)


def flipped_transpose(w: xp.ndarray, groups: int) -> xp.ndarray:
    """W (O, C/G, kh, kw) -> W' (C, O/G, kh, kw), W'(c, o, i, j) = W(o, c, kh − 1 − i, kw − 1 − j) within each group."""
    o, cg, kh, kw = w.shape
    wt = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return xp.ascontiguousarray(wt).reshape(groups * cg, o // groups, kh, kw)


def conv_input_grad(gy, w, spec: ConvSpec, in_hw):
    """x̄ = ∂⟨ȳ, conv(x, w)⟩/∂x: the transposed convolution of ȳ (GEMM Wᵀ Ȳ, then col2im; for stride 1
    with 'same'-like padding a direct convolution of ȳ with the flipped kernel, see ``_gather_spec``)."""
    n, o, oh, ow = gy.shape
    _, cg, kh, kw = w.shape
    g = spec.groups
    gather = _gather_spec(spec, (kh, kw), in_hw, (oh, ow), (o, cg * g))
    if gather is not None and not _is_pointwise(kh, kw, spec, in_hw, (oh, ow)):
        return conv_forward(gy, flipped_transpose(w, g), None, gather, in_hw)[0]
    gm = as_matrix(gy)
    k = cg * kh * kw
    dtype = xp.result_type(gy, w)
    rows = band_rows((n, cg * g) + tuple(in_hw), (kh, kw), spec, (oh, ow), dtype.itemsize)
    if rows is not None:
        return _col2im_bands(gm, w.reshape(o, k).T, (n, cg) + tuple(in_hw), (kh, kw), spec, rows)
    cols = buffers.empty((g, k, gm.shape[1]), dtype)
    if g == 1:
        xp.matmul(w.reshape(o, k).T, gm, out=cols[0])
    else:
        xp.matmul(w.reshape(g, o // g, k).transpose(0, 2, 1), gm.reshape(g, o // g, -1), out=cols)
    return col2im(cols.reshape(g * k, -1), (n, cg * g) + tuple(in_hw), kh, kw, spec, (oh, ow))


def _col2im_bands(gm, wt, shape, kernel_hw, spec: ConvSpec, rows: int):
    """Wᵀ Ȳ and col2im band by band (see ``band_rows``): each band's columns are added onto x̄ while in cache."""
    n, c, h, w = shape
    (kh, kw), ((pt, pb), (pl, pr)) = kernel_hw, spec.pads
    (st_h, st_w), (d_h, d_w) = spec.stride, spec.dilation
    ow = (w + pl + pr - d_w * (kw - 1) - 1) // st_w + 1
    width = ow * n
    oh = gm.shape[1] // width
    buf = alloc((n, c, h + pt + pb, w + pl + pr), gm.dtype)
    part_buf = buffers.empty((wt.shape[0], rows * width), gm.dtype)
    for r0 in range(0, oh, rows):
        r = min(rows, oh - r0)
        part = xp.matmul(wt, gm[:, r0 * width:(r0 + r) * width], out=part_buf[:, :r * width])
        blocks = part.reshape(c, kh, kw, r, ow, n).transpose(5, 0, 1, 2, 3, 4)  # logical (N, C, kh, kw, r, OW)
        for i in range(kh):
            top = r0 * st_h + i * d_h
            rs = slice(top, top + st_h * (r - 1) + 1, st_h)
            for j in range(kw):
                buf[:, :, rs, j * d_w:j * d_w + st_w * (ow - 1) + 1:st_w] += blocks[:, :, i, j]
    return buf[:, :, pt:pt + h, pl:pl + w]


def conv_weight_grad(x, gy, wshape, spec: ConvSpec, cols=None):
    """w̄ = ∂⟨ȳ, conv(x, w)⟩/∂w = Ȳ colsᵀ, computed as (cols Ȳᵀ)ᵀ (the faster GEMM orientation).
    ``cols``: the forward's column matrix, or its padded input (4-D) for a banded layer."""
    o, cg, kh, kw = wshape
    g = spec.groups
    gm = as_matrix(gy)
    xpad = None
    if cols is not None and cols.ndim == 4:
        xpad, cols = cols, None
    rows = None if cols is not None else band_rows(x.shape, (kh, kw), spec, gy.shape[2:], gm.itemsize, o)
    if rows is not None:  # Σ over bands of cols_band Ȳ_bandᵀ
        acc = xp.zeros((cg * kh * kw, o), xp.result_type(x, gy))
        xpad = padded(x, spec.pads) if xpad is None else xpad
        for band, part in _bands(xpad, kh, kw, spec, gy.shape[2:], rows):
            acc += part @ gm[:, band].T
        return xp.ascontiguousarray(acc.T).reshape(wshape)
    if cols is None:
        cols = im2col(x, kh, kw, spec, gy.shape[2:])
    if g == 1:
        gw = xp.matmul(cols, gm.T).T
    else:
        gw = xp.matmul(cols.reshape(g, cg * kh * kw, -1), gm.reshape(g, o // g, -1).transpose(0, 2, 1))
        gw = gw.transpose(0, 2, 1)
    return xp.ascontiguousarray(gw).reshape(wshape)


def fused_backward(x, w, gy, spec: ConvSpec):
    """(x̄, w̄) together for a banded stride-1 layer with 'same'-like padding, or None (then separately).

    x̄ is the convolution of ȳ with the flipped kernel (``_gather_spec``); its columns P hold, for each
    input pixel p, ȳ(p + p_t − i·d, o) for the taps (o, kh − 1 − i, kw − 1 − j). The same columns give
    w̄(o, c, i, j) = Σ_p x(p, c) ȳ(p + p_t − i·d, o) = (X Pᵀ)(c; o, kh − 1 − i, kw − 1 − j), so one pass
    over the bands of P serves both GEMMs and x is never gathered again."""
    n, o, oh, ow = gy.shape
    _, c, kh, kw = w.shape
    in_hw = x.shape[2:]
    gather = _gather_spec(spec, (kh, kw), in_hw, (oh, ow), (o, c))
    if spec.groups != 1 or gather is None or _is_pointwise(kh, kw, spec, in_hw, (oh, ow)):
        return None
    dtype = xp.result_type(x, w, gy)
    rows = band_rows(gy.shape, (kh, kw), gather, in_hw, dtype.itemsize)
    if rows is None:
        return None
    wm = flipped_transpose(w, 1).reshape(c, o * kh * kw)
    xm = as_matrix(x)
    gx = buffers.empty((c, xm.shape[1]), dtype)
    acc = xp.zeros((o * kh * kw, c), dtype)  # (X Pᵀ)ᵀ: the faster GEMM orientation, as in conv_weight_grad
    for band, part in _bands(padded(gy, gather.pads), kh, kw, gather, in_hw, rows):
        xp.matmul(wm, part, out=gx[:, band])
        acc += part @ xm[:, band].T
    gw = acc.reshape(o, kh, kw, c)[:, ::-1, ::-1].transpose(0, 3, 1, 2)
    return from_matrix(gx, x.shape), xp.ascontiguousarray(gw)


# ------------------------------------------------------------------------------ the three ops
class Conv2d(Op):
    """y = conv(x, w) (+ b), optionally fused with ReLU: y = max(conv(x, w) + b, 0).
    Backward: with ȳ' = ȳ ∘ [y > 0] for the fused ReLU (else ȳ' = ȳ),
    x̄ = conv_transpose(ȳ', w), w̄ = conv_weight(x, ȳ'), b̄ = Σ ȳ'."""

    def __init__(self, spec: ConvSpec, out_hw, keep_cols=False, relu=False):
        self.spec, self.out_hw, self.keep_cols, self.relu = spec, tuple(out_hw), keep_cols, relu
        self.cols = None

    def forward(self, x, w, b=None):
        y, cols = conv_forward(x, w, b, self.spec, self.out_hw)
        if self.relu:  # in place on the fresh GEMM result: no extra array
            xp.maximum(y, 0, out=y)
        if self.keep_cols:  # the weight gradient reuses the column matrix
            self.cols = cols
        return y

    def _through_relu(self, g: Tensor) -> Tensor:
        if not self.relu:
            return g
        return g * Tensor._make(self.out > 0)  # ȳ ∘ [y > 0]; a boolean mask keeps ȳ's dtype

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        g = self._through_relu(g)
        gb = g.sum((0, 2, 3)) if len(self.inputs) == 3 and self.needs[2] else None
        fused = None
        if self.needs[0] and self.needs[1] and not _mode.grad_enabled and not _mode.fw_level:
            fused = fused_backward(x._data, w._data, g._data, self.spec)  # on arrays: no gradient graph wanted
        if fused is not None:
            self.cols = None
            return Tensor._make(fused[0]), Tensor._make(fused[1]), gb
        gx = _conv_t(g, w, None, self.spec, x.shape[2:]) if self.needs[0] else None
        gw = _conv_w(x, g, w.shape, self.spec, self.cols) if self.needs[1] else None
        return gx, gw, gb

    def jvp(self, tx, tw, tb=None):
        x, w = self.inputs[0], self.inputs[1]
        t = _sum(None if tx is None else _conv(tx, w, None, self.spec, self.out_hw),
                 None if tw is None else _conv(x, tw, None, self.spec, self.out_hw),
                 None if tb is None else tb.reshape(1, -1, 1, 1))
        return None if t is None else self._through_relu(t)


class ConvTranspose2d(Op):
    """The adjoint of Conv2d(spec) in its input: y = convᵀ(x, w) (+ b), with output size ``out_hw``.

    Backward: x̄ = conv(ȳ, w), w̄ = conv_weight(ȳ, x) (⟨ȳ, convᵀ(x, w)⟩ = ⟨x, conv(ȳ, w)⟩), b̄ = Σ ȳ."""

    def __init__(self, spec: ConvSpec, out_hw):
        self.spec, self.out_hw = spec, tuple(out_hw)

    def forward(self, x, w, b=None):
        y = conv_input_grad(x, w, self.spec, self.out_hw)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        gx = _conv(g, w, None, self.spec, x.shape[2:]) if self.needs[0] else None
        gw = _conv_w(g, x, w.shape, self.spec) if self.needs[1] else None
        gb = g.sum((0, 2, 3)) if len(self.inputs) == 3 and self.needs[2] else None
        return gx, gw, gb

    def jvp(self, tx, tw, tb=None):
        x, w = self.inputs[0], self.inputs[1]
        return _sum(None if tx is None else _conv_t(tx, w, None, self.spec, self.out_hw),
                    None if tw is None else _conv_t(x, tw, None, self.spec, self.out_hw),
                    None if tb is None else tb.reshape(1, -1, 1, 1))


class Conv2dWeight(Multilinear):
    """w̄ = conv_weight(x, ȳ), the gradient of ⟨ȳ, conv(x, w)⟩ in w (bilinear in x and ȳ).

    Backward of w̄ against a cotangent v: x̄ = convᵀ(ȳ, v), ȳ̄ = conv(x, v)."""

    def __init__(self, spec: ConvSpec, wshape, cols=None):
        self.spec, self.wshape, self.cols = spec, tuple(wshape), cols

    def forward(self, x, gy):
        cols, self.cols = self.cols, None  # used once; the Conv2d op keeps its own reference
        return conv_weight_grad(x, gy, self.wshape, self.spec, cols)

    def backward(self, v):
        x, gy = self.inputs
        gx = _conv_t(gy, v, None, self.spec, x.shape[2:]) if self.needs[0] else None
        ggy = _conv(x, v, None, self.spec, gy.shape[2:]) if self.needs[1] else None
        return gx, ggy



def _conv(x, w, b, spec, out_hw, keep_cols=False, relu=False) -> Tensor:
    args = (x, w) if b is None else (x, w, b)
    return run(Conv2d(spec, out_hw, keep_cols, relu), *args)


def _conv_t(x, w, b, spec, out_hw) -> Tensor:
    args = (x, w) if b is None else (x, w, b)
    return run(ConvTranspose2d(spec, out_hw), *args)


def _conv_w(x, gy, wshape, spec, cols=None) -> Tensor:
    return run(Conv2dWeight(spec, wshape, cols), x, gy)


# ------------------------------------------------------------------------------ argument handling
def pair(v, name: str, op: str) -> tuple:
    """An int or a pair of ints -> (a, b), with a clear error otherwise."""
    if isinstance(v, numbers.Integral):
        return int(v), int(v)
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(i, numbers.Integral) for i in v):
        return int(v[0]), int(v[1])
    if isinstance(v, (tuple, list)) and len(v) == 1 and isinstance(v[0], numbers.Integral):
        return int(v[0]), int(v[0])
    raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")


def out_size(n: int, k: int, s: int, p0: int, p1: int, d: int) -> int:
    """Positions of a k-wide window (dilation d) sliding with stride s over n + p0 + p1 values."""
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _check_float(x: Tensor, w: Tensor, b, op: str):
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating point tensor, got dtype {x.dtype} "
                        "(convert with .float())")
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{op}: input dtype {x.dtype} and {name} dtype {t.dtype} differ; "
                            f"convert one of them (e.g. input.to({name}.dtype))")


def _batched(x: Tensor, op: str):
    """Accept (N, C, H, W) or an unbatched (C, H, W) input, as PyTorch does."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 4:
        return x, False
    if x.ndim == 3:
        return x.reshape((1,) + x.shape), True
    raise ShapeError(f"{op}: expected a 4-D input (N, C, H, W) or an unbatched 3-D input (C, H, W), "
                     f"got shape {tuple(x.shape)}")


def _conv_pads(padding, ksize, dilation, stride, op: str):
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride}); give the padding explicitly")
            pads = []
            for k, d in zip(ksize, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))  # the extra one goes after, as in PyTorch
            return tuple(pads)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a pair of ints, got {padding!r}")
    ph, pw = pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return (ph, ph), (pw, pw)


def _positive(v, name, op):
    if v[0] < 1 or v[1] < 1:
        raise ValueError(f"{op}: {name} must be positive, got {v}")
    return v


def _conv_args(input: Tensor, weight: Tensor, bias, stride, dilation, layout: str, op: str) -> tuple:
    """The arguments both convolutions share, checked: (batched input, unbatched?, stride, dilation) with
    the stride and dilation as pairs of positive ints; ``layout`` names the weight's dims."""
    x, unbatched = _batched(input, op)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ShapeError(f"{op}: weight must be a 4-D tensor {layout}, "
                         f"got {getattr(weight, 'shape', type(weight).__name__)}")
    _check_float(x, weight, bias, op)
    stride = _positive(pair(stride, "stride", op), "stride", op)
    dilation = _positive(pair(dilation, "dilation", op), "dilation", op)
    return x, unbatched, stride, dilation


def _check_groups(groups, op: str) -> None:
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")


def _check_bias(bias, channels: int, op: str) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ShapeError(f"{op}: bias must have shape ({channels},) (one per output channel), "
                         f"got {tuple(bias.shape)}")


def _check_conv_channels(input: Tensor, weight: Tensor, bias, groups, op: str) -> None:
    """conv2d's channel rules: in_channels = weight.shape[1]·groups, out_channels divisible by groups."""
    c, (o, cg) = input._data.shape[-3], weight._data.shape[:2]
    _check_groups(groups, op)
    if c != cg * groups:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} has {c} channels but weight of shape "
                         f"{tuple(weight.shape)} with groups={groups} expects {cg * groups} "
                         f"(in_channels = weight.shape[1] * groups)")
    if o % groups:
        raise ShapeError(f"{op}: weight of shape {tuple(weight.shape)} has {o} output channels, "
                         f"not divisible by groups={groups}")
    _check_bias(bias, o, op)


ALGORITHMS = ("auto", "direct", "fft")


def check_algorithm(algorithm, op: str) -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"{op}: algorithm must be 'auto', 'direct' or 'fft', got {algorithm!r}")
    return algorithm


def pick_algorithm(in_hw, kernel_hw, spec: ConvSpec) -> str:
    """The algorithm 'auto' runs: 'fft' when the kernel is large enough for the FFT to be faster.

    The FFT's cost does not grow with the kernel (its transforms have the padded input's size), the direct
    GEMM's grows with kh·kw. Measured with ``bench/conv_fft.py`` (forward + backward, float32, input
    2×8×64×64, 8 output channels, padding k//2, median of rounds; the 2 cores were shared, load average 4.8
    and 8.3, so the absolute times are noisy, the ratios less so), fft/direct time ratio:
        k                              3     5     7     9    11    15    21
        2 BLAS threads, load 4.8     2.26  1.38  1.02  0.59  0.31  0.27  0.29
        1 BLAS thread,  load 8.3     4.74  1.92  0.74  0.50  0.40  0.16  0.18
    (1 thread, ms: direct 15 38 70 101 121 241 523, fft 72 73 52 51 49 39 94): the crossover is at k = 7,
    so 'fft' from kh·kw ≥ 49 taps. A strided convolution computes the full correlation before subsampling
    (stride_h·stride_w times the work it keeps), so it needs that many times the taps; inputs too small for
    the transforms to pay (fewer than 16×16 padded pixels) stay direct: on a 2×8×8×8 input (1 thread,
    load 10) the ratio was 6.80 1.20 1.30 0.60 for k = 3 5 7 9, the crossover one size later."""
    (pt, pb), (pl, pr) = spec.pads
    taps = kernel_hw[0] * kernel_hw[1]
    pixels = (in_hw[0] + pt + pb) * (in_hw[1] + pl + pr)
    s = spec.stride[0] * spec.stride[1]
    return "fft" if taps >= _FFT_TAPS * s and pixels >= _FFT_PIXELS else "direct"


_FFT_TAPS = 49
_FFT_PIXELS = 256


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1, *, activation: str | None = None, algorithm: str = "auto") -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of input (N, C, H, W) with weight (O, C/groups, kh, kw).

    Output (N, O, OH, OW), OH = ⌊(H + 2·pad − dilation·(kh − 1) − 1) / stride⌋ + 1. ``padding`` may be an int,
    a pair, 'valid' or 'same' (stride 1). ``groups`` splits channels: groups = C is depthwise.
    ``activation='relu'`` (a lamina extension) fuses relu(conv + bias) into one op: same values and
    gradients as ``relu(conv2d(...))``, without the separate activation array and its mask.
    ``algorithm`` (a lamina extension): 'direct' (im2col + GEMM), 'fft' (products of Fourier transforms,
    ``ops/conv_fft.py``; its gradients by FFT too) or 'auto' (the default: FFT for large kernels, see
    ``pick_algorithm``); both give the same values and gradients up to rounding."""
    op = "conv2d"
    check_algorithm(algorithm, op)
    x, unbatched, stride, dilation = _conv_args(input, weight, bias, stride, dilation,
                                                "(out_channels, in_channels/groups, kh, kw)", op)
    _check_conv_channels(input, weight, bias, groups, op)
    h, w = x._data.shape[2:]
    kh, kw = weight._data.shape[2:]
    pads = _conv_pads(padding, (kh, kw), dilation, stride, op)
    (top, bottom), (left, right) = pads
    oh = out_size(h, kh, stride[0], top, bottom, dilation[0])
    ow = out_size(w, kw, stride[1], left, right, dilation[1])
    if oh < 1 or ow < 1:
        raise ShapeError(f"{op}: kernel ({kh}, {kw}) with dilation {dilation} spans "
                         f"({dilation[0] * (kh - 1) + 1}, {dilation[1] * (kw - 1) + 1}), larger than the padded "
                         f"input ({h + sum(pads[0])}, {w + sum(pads[1])}) of input shape {tuple(input.shape)}")
    if activation not in (None, "relu"):
        raise ValueError(f"{op}: activation must be None or 'relu', got {activation!r}")
    spec = ConvSpec(stride, pads, dilation, int(groups))
    if algorithm == "auto":
        algorithm = pick_algorithm((h, w), (kh, kw), spec)
    if algorithm == "fft":
        spectra = (_mode.grad_enabled and weight.requires_grad, _mode.grad_enabled and x.requires_grad)
        y = conv_fft(x, weight, bias, spec, (oh, ow), keep=spectra, relu=activation == "relu")
    else:
        keep = _mode.grad_enabled and weight.requires_grad
        y = _conv(x, weight, bias, spec, (oh, ow), keep_cols=keep, relu=activation == "relu")
    return y.reshape(y.shape[1:]) if unbatched else y


def _transpose_pads(padding, output_padding, stride: tuple, dilation: tuple, op: str) -> tuple:
    """(padding, output_padding) of a transposed convolution as pairs, each output_padding below stride or dilation."""
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a pair of ints (PyTorch has no '{padding}' "
                         "padding for transposed convolutions)")
    ph, pw = pair(padding, "padding", op)
    oph, opw = pair(output_padding, "output_padding", op)
    if min(ph, pw, oph, opw) < 0:
        raise ValueError(f"{op}: padding {padding!r} and output_padding {output_padding!r} must be non-negative")
    for a, s, d in ((oph, stride[0], dilation[0]), (opw, stride[1], dilation[1])):
        if a >= s and a >= d:
            raise ValueError(f"{op}: output_padding {(oph, opw)} must be smaller than either stride {stride} "
                             f"or dilation {dilation}")
    return (ph, pw), (oph, opw)


def _check_transpose_channels(input: Tensor, weight: Tensor, bias, groups, op: str) -> int:
    """conv_transpose2d's channel rules: in_channels = weight.shape[0], divisible by groups. Returns out_channels."""
    c, (ci, cog) = input.shape[-3], weight.shape[:2]
    _check_groups(groups, op)
    if c != ci:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} has {c} channels but weight of shape "
                         f"{tuple(weight.shape)} expects {ci} (weight.shape[0] = in_channels)")
    if ci % groups:
        raise ShapeError(f"{op}: in_channels {ci} is not divisible by groups={groups}")
    _check_bias(bias, cog * groups, op)
    return cog * groups


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1, *, algorithm: str = "auto") -> Tensor:
    """Transposed convolution (the gradient of conv2d in its input) of input (N, C_in, H, W) with weight
    (C_in, C_out/groups, kh, kw). Output size OH = (H − 1)·stride − 2·pad + dilation·(kh − 1) + output_padding + 1.
    ``algorithm`` 'direct', 'fft' or 'auto', as for ``conv2d`` ('auto' judges the convolution it is the adjoint of)."""
    op = "conv_transpose2d"
    check_algorithm(algorithm, op)
    x, unbatched, stride, dilation = _conv_args(input, weight, bias, stride, dilation,
                                                "(in_channels, out_channels/groups, kh, kw)", op)
    (ph, pw), (oph, opw) = _transpose_pads(padding, output_padding, stride, dilation, op)
    _check_transpose_channels(input, weight, bias, groups, op)
    h, w = x.shape[2:]
    kh, kw = weight.shape[2:]
    oh = (h - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    ow = (w - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if oh < 1 or ow < 1:
        raise ShapeError(f"{op}: output size ({oh}, {ow}) is not positive for input shape {tuple(input.shape)}, "
                         f"kernel ({kh}, {kw}), stride {stride}, padding {(ph, pw)}")
    spec = ConvSpec(stride, ((ph, ph), (pw, pw)), dilation, int(groups))
    if algorithm == "auto":
        algorithm = pick_algorithm((oh, ow), (kh, kw), spec)
    if algorithm == "fft":
        y = conv_transpose_fft(x, weight, bias, spec, (oh, ow))
    else:
        y = _conv_t(x, weight, bias, spec, (oh, ow))
    return y.reshape(y.shape[1:]) if unbatched else y
