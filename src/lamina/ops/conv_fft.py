"""2-D convolution by the fast Fourier transform: the same three ops as ``ops/conv.py``, computed in the
frequency domain.

With x_p the zero-padded input (N, C, H_p, W_p) and w_d the dilated kernel (O, C/G, K_h, K_w),
K = d·(k − 1) + 1, the convolution (a cross-correlation, as in PyTorch) is
    z[n, o, p, q] = Σ_c Σ_{a, b} w_d[o, c, a, b] · x_p[n, c, p + a, q + b],     y = z[:, :, ::s_h, ::s_w]
(stride: the full correlation, subsampled). A circular correlation of length L ≥ H_p equals z on the
H_p − K + 1 valid positions (p + a ≤ H_p − 1 < L never wraps), and by the correlation theorem
    Z[k] = Σ_c conj(W[k]) · X[k]        (X = DFT_L(x_p), W = DFT_L(w_d), for real signals)
one channel contraction per frequency: a batch of small GEMMs (N, C/G) @ (C/G, O/G), one per
frequency and group. The cost is O((NC + OC + NO)·L² log L + NCO·L²), independent of the kernel size,
against NCO·L²·k² for the direct sum: the FFT wins for large kernels.

The two adjoints are products in the frequency domain too (same L, no wrap-around):
    input gradient   x̄_p[r] = Σ_p z̄[p] w_d[r − p]   (a full convolution)   X̄ = Σ_o Z̄ · W
    weight gradient  w̄_d[a] = Σ_p z̄[p] x_p[p + a]   (x correlated with z̄)   W̄ = Σ_n conj(Z̄) · X
where z̄ is ȳ put back on the stride grid (zeros between) and x̄ = x̄_p without its padding,
w̄ = w̄_d on the dilation grid. As in ``ops/conv.py`` (T(x, w, g) = ⟨g, conv(x, w)⟩):
    Conv2dFFT(x, w) = ∂T/∂g,  ConvTranspose2dFFT(g, w) = ∂T/∂x,  Conv2dWeightFFT(x, g) = ∂T/∂w,
and the backward of each is made of the other two, so gradients of gradients follow.

Layout: every spectrum is stored (F_h, F_w, G, rows, cols), frequencies first, so the channel
contraction is one batched ``matmul`` on contiguous matrices and the transforms run over axes (0, 1).
"""
from __future__ import annotations

from ..autograd.op import Multilinear, Op, run
from ..autograd.op import sum_terms as _sum
from ..backend import fft, xp
from ..tensor import Tensor


def next_fast_len(n: int) -> int:
    """The smallest m ≥ n of the form 2^a·3^b·5^c·7^d (a length the FFT handles at its fastest)."""
    best = 1 << max(n - 1, 0).bit_length()  # a power of two ≥ n
    p7 = 1
    while p7 < best:
        p5 = p7
        while p5 < best:
            p3 = p5
            while p3 < best:
                m = p3
                while m < n:
                    m *= 2
                best = min(best, m)
                p3 *= 3
            p5 *= 5
        p7 *= 7
    return best


def fft_shape(in_hw, spec) -> tuple:
    """The transform size (L_h, L_w): the padded input size, rounded up to a fast length."""
    (pt, pb), (pl, pr) = spec.pads
    return next_fast_len(in_hw[0] + pt + pb), next_fast_len(in_hw[1] + pl + pr)


def _real(a):
    """``a`` in a dtype the transforms run in (float32 and float64 as they are, others as float64)."""
    return a if a.dtype in (xp.float32, xp.float64) else a.astype(xp.float64)


# The padding is never written out: x is transformed as it is (zero-extended to L at the end), and
# x_p[r] = x[r − p_t] becomes a cyclic shift of the result, read off at positions (r − p_t) mod L.
# Since L ≥ H + p_t + p_b, every index the valid positions read wraps onto a zero, never onto x.
def _x_spectrum(x, spec, size):
    """DFT_L of the input, zero-extended: (F_h, F_w, G, N, C/G)."""
    n, c, h, w = x.shape
    g = spec.groups
    return fft.rfft2(_real(x).reshape(n, g, c // g, h, w).transpose(3, 4, 1, 0, 2), s=size, axes=(0, 1))


def _w_spectrum(w, spec, size):
    """DFT_L of the dilated kernel: (F_h, F_w, G, C/G, O/G)."""
    o, cg, kh, kw = w.shape
    g = spec.groups
    (dh, dw) = spec.dilation
    wt = _real(w).reshape(g, o // g, cg, kh, kw).transpose(3, 4, 0, 2, 1)
    if (dh, dw) != (1, 1):
        buf = xp.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1, g, cg, o // g), wt.dtype)
        buf[::dh, ::dw] = wt
        wt = buf
    return fft.rfft2(wt, s=size, axes=(0, 1))


def _y_spectrum(gy, spec, size):
    """DFT_L of z̄, ȳ put back on the stride grid (zeros between the strided positions): (F_h, F_w, G, N, O/G)."""
    n, o, oh, ow = gy.shape
    g = spec.groups
    sh, sw = spec.stride
    yt = _real(gy).reshape(n, g, o // g, oh, ow).transpose(3, 4, 1, 0, 2)
    if (sh, sw) != (1, 1):
        buf = xp.zeros((sh * (oh - 1) + 1, sw * (ow - 1) + 1, g, n, o // g), yt.dtype)
        buf[::sh, ::sw] = yt
        yt = buf
    return fft.rfft2(yt, s=size, axes=(0, 1))


def _inverse(spectrum, size, rows, cols):
    """The inverse DFT_L at the given rows and columns only: the row transform runs in full, the
    column transform (the second, real one) on the rows kept. Returns (rows, cols, …) real."""
    a = fft.ifft(spectrum, axis=0).take(rows, axis=0)
    return fft.irfft(a, n=size[1], axis=1).take(cols, axis=1)


def _positions(count, step, shift, length):
    """Indices (i·step − shift) mod L, i < count: where the unpadded, cyclic result holds the wanted values."""
    return (xp.arange(count) * step - shift) % length


def _to_nchw(a):
    """(H, W, G, N, C/G) -> a C-contiguous (N, C, H, W) array."""
    h, w, g, n, cg = a.shape
    return xp.ascontiguousarray(a.transpose(3, 2, 4, 0, 1)).reshape(n, g * cg, h, w)


def fft_conv_forward(x, w, b, spec, out_hw, xf=None, wf=None):
    """y = conv(x, w) + b: Z = X·conj(W) per frequency, inverse DFT at the strided output positions.
    Returns (y, X, W) so that the gradients can reuse both spectra."""
    size = fft_shape(x.shape[2:], spec)
    xf = _x_spectrum(x, spec, size) if xf is None else xf
    wf = _w_spectrum(w, spec, size) if wf is None else wf
    (sh, sw), (oh, ow), ((pt, _), (pl, _)) = spec.stride, out_hw, spec.pads
    z = _inverse(xp.matmul(xf, wf.conj()), size, _positions(oh, sh, pt, size[0]), _positions(ow, sw, pl, size[1]))
    y = _to_nchw(z).astype(xp.result_type(x, w), copy=False)
    if b is not None:
        y += b.reshape(-1, 1, 1)
    return y, xf, wf


def fft_conv_input_grad(gy, w, spec, in_hw, wf=None, gf=None):
    """x̄ = convᵀ(ȳ, w): X̄_p = Z̄·W per frequency (a full convolution), inverse DFT without the padding."""
    size = fft_shape(in_hw, spec)
    wf = _w_spectrum(w, spec, size) if wf is None else wf
    gf = _y_spectrum(gy, spec, size) if gf is None else gf
    (pt, _), (pl, _) = spec.pads
    xpad = _inverse(xp.matmul(gf, wf.swapaxes(-1, -2)), size, xp.arange(pt, pt + in_hw[0]),
                    xp.arange(pl, pl + in_hw[1]))
    return _to_nchw(xpad).astype(xp.result_type(gy, w), copy=False)


def fft_conv_weight_grad(x, gy, wshape, spec, xf=None, gf=None):
    """w̄ = conv_weight(x, ȳ): W̄_d = Σ_n conj(Z̄)·X per frequency (x correlated with z̄), inverse DFT
    at the lags on the dilation grid."""
    o, cg, kh, kw = wshape
    size = fft_shape(x.shape[2:], spec)
    xf = _x_spectrum(x, spec, size) if xf is None else xf
    gf = _y_spectrum(gy, spec, size) if gf is None else gf
    (dh, dw), ((pt, _), (pl, _)) = spec.dilation, spec.pads
    lags = _inverse(xp.matmul(xf.swapaxes(-1, -2), gf.conj()), size, _positions(kh, dh, pt, size[0]),
                    _positions(kw, dw, pl, size[1]))  # (kh, kw, G, C/G, O/G)
    gw = xp.ascontiguousarray(lags.transpose(2, 4, 3, 0, 1)).reshape(o, cg, kh, kw)
    return gw.astype(xp.result_type(x, gy), copy=False)


# ------------------------------------------------------------------------------ the three ops
class Conv2dFFT(Op):
    """y = conv(x, w) (+ b) by FFT, optionally fused with ReLU: y = max(conv(x, w) + b, 0).
    Backward: with ȳ' = ȳ ∘ [y > 0] for the fused ReLU (else ȳ' = ȳ),
    x̄ = conv_transpose_fft(ȳ', w), w̄ = conv_weight_fft(x, ȳ'), b̄ = Σ ȳ'.
    ``keep`` = (keep X, keep W): the spectra kept for the gradients (X for w̄, W for x̄; each used once); the spectrum
    of ȳ' is computed once for both gradients."""

    def __init__(self, spec, out_hw, keep=(False, False), relu=False):
        self.spec, self.out_hw, self.keep, self.relu = spec, tuple(out_hw), keep, relu
        self.xf = self.wf = None

    def forward(self, x, w, b=None):
        y, xf, wf = fft_conv_forward(x, w, b, self.spec, self.out_hw)
        if self.relu:
            xp.maximum(y, 0, out=y)
        self.xf = xf if self.keep[0] else None
        self.wf = wf if self.keep[1] else None
        return y

    def _through_relu(self, g: Tensor) -> Tensor:
        if not self.relu:
            return g
        return g * Tensor._make(self.out > 0)  # ȳ ∘ [y > 0]; a boolean mask keeps ȳ's dtype

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        g = self._through_relu(g)
        xf, wf, self.xf, self.wf = self.xf, self.wf, None, None
        gf = None
        if self.needs[0] and self.needs[1]:
            gf = _y_spectrum(g._data, self.spec, fft_shape(x.shape[2:], self.spec))
        gx = conv_transpose_fft(g, w, None, self.spec, x.shape[2:], wf, gf) if self.needs[0] else None
        gw = conv_weight_fft(x, g, w.shape, self.spec, xf, gf) if self.needs[1] else None
        gb = g.sum((0, 2, 3)) if len(self.inputs) == 3 and self.needs[2] else None
        return gx, gw, gb

    def jvp(self, tx, tw, tb=None):
        x, w = self.inputs[0], self.inputs[1]
        t = _sum(None if tx is None else conv_fft(tx, w, None, self.spec, self.out_hw),
                 None if tw is None else conv_fft(x, tw, None, self.spec, self.out_hw),
                 None if tb is None else tb.reshape(1, -1, 1, 1))
        return None if t is None else self._through_relu(t)


class ConvTranspose2dFFT(Op):
    """The adjoint of Conv2dFFT(spec) in its input, by FFT: y = convᵀ(x, w) (+ b), output size ``out_hw``.

    Backward: x̄ = conv_fft(ȳ, w), w̄ = conv_weight_fft(ȳ, x) (⟨ȳ, convᵀ(x, w)⟩ = ⟨x, conv(ȳ, w)⟩), b̄ = Σ ȳ."""

    def __init__(self, spec, out_hw, wf=None, gf=None):
        self.spec, self.out_hw, self.wf, self.gf = spec, tuple(out_hw), wf, gf

    def forward(self, x, w, b=None):
        wf, gf, self.wf, self.gf = self.wf, self.gf, None, None  # spectra handed over are used once
        y = fft_conv_input_grad(x, w, self.spec, self.out_hw, wf, gf)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        gx = conv_fft(g, w, None, self.spec, x.shape[2:]) if self.needs[0] else None
        gw = conv_weight_fft(g, x, w.shape, self.spec) if self.needs[1] else None
        gb = g.sum((0, 2, 3)) if len(self.inputs) == 3 and self.needs[2] else None
        return gx, gw, gb

    def jvp(self, tx, tw, tb=None):
        x, w = self.inputs[0], self.inputs[1]
        return _sum(None if tx is None else conv_transpose_fft(tx, w, None, self.spec, self.out_hw),
                    None if tw is None else conv_transpose_fft(x, tw, None, self.spec, self.out_hw),
                    None if tb is None else tb.reshape(1, -1, 1, 1))


class Conv2dWeightFFT(Multilinear):
    """w̄ = conv_weight(x, ȳ) by FFT, the gradient of ⟨ȳ, conv(x, w)⟩ in w (bilinear in x and ȳ).

    Backward of w̄ against a cotangent v: x̄ = convᵀ_fft(ȳ, v), ȳ̄ = conv_fft(x, v)."""

    def __init__(self, spec, wshape, xf=None, gf=None):
        self.spec, self.wshape, self.xf, self.gf = spec, tuple(wshape), xf, gf

    def forward(self, x, gy):
        xf, gf, self.xf, self.gf = self.xf, self.gf, None, None  # used once; fresh copies recompute them
        return fft_conv_weight_grad(x, gy, self.wshape, self.spec, xf, gf)

    def backward(self, v):
        x, gy = self.inputs
        gx = conv_transpose_fft(gy, v, None, self.spec, x.shape[2:]) if self.needs[0] else None
        ggy = conv_fft(x, v, None, self.spec, gy.shape[2:]) if self.needs[1] else None
        return gx, ggy


def conv_fft(x, w, b, spec, out_hw, keep=(False, False), relu=False) -> Tensor:
    """conv(x, w) (+ b) by FFT on checked arguments (``ops.conv.conv2d`` checks them)."""
    args = (x, w) if b is None else (x, w, b)
    return run(Conv2dFFT(spec, out_hw, keep, relu), *args)


def conv_transpose_fft(x, w, b, spec, out_hw, wf=None, gf=None) -> Tensor:
    """convᵀ(x, w) (+ b) by FFT; ``wf``/``gf``: the spectra of w and x when already computed."""
    args = (x, w) if b is None else (x, w, b)
    return run(ConvTranspose2dFFT(spec, out_hw, wf, gf), *args)


def conv_weight_fft(x, gy, wshape, spec, xf=None, gf=None) -> Tensor:
    """conv_weight(x, ȳ) by FFT; ``xf``/``gf``: the spectra of x and ȳ when already computed."""
    return run(Conv2dWeightFFT(spec, wshape, xf, gf), x, gy)
