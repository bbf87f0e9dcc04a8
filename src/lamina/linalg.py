"""``lamina.linalg``: PyTorch's ``torch.linalg``, made of lamina's differentiable ops.

Factorisations and solves are ops (``ops/linalg_extra.py``, each backward written in lamina ops, so
gradients of gradients follow); the rest composes them:

* ``vector_norm``: ‖x‖_p = (Σ|xᵢ|ᵖ)^{1/p}, ∞: max|xᵢ|, −∞: min|xᵢ|, 0: the count of nonzeros;
* ``matrix_norm``: 'fro' √Σa²ᵢⱼ, 'nuc' Σσᵢ, 2 / −2 the largest / smallest σ, 1 / −1 the max / min
  column sum of |aᵢⱼ|, ∞ / −∞ the max / min row sum;
* ``lstsq``: X = argmin ‖AX − B‖ by the reduced QR A = QR, X = R⁻¹ Qᵀ B (full column rank);
* ``pinv``: A⁺ = V diag(1/σᵢ for σᵢ > rtol·σ_max, else 0) Uᵀ;
* ``matrix_power``: Aᵏ by repeated squaring (k < 0: (A⁻¹)^|k|); ``multi_dot``: left-to-right products.
"""
from __future__ import annotations

import math
from collections import namedtuple

from .backend import xp
from .ops import compose_extra as _c
from .ops import elementwise as _ew
from .ops import reduce as _r
from .ops import shape as _sh
from .ops.linalg import matmul
from .ops.linalg_extra import cholesky, det, eigh, inv, qr, solve, svd
from .ops.linalg_extra import slogdet as _slogdet_op
from .tensor import Tensor

__all__ = ["cholesky", "det", "eigh", "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
           "vector_norm", "vecdot", "diagonal", "cross"]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def _dims(dim, ndim):
    if dim is None:
        return None
    return dim if isinstance(dim, (tuple, list)) else (dim,)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """‖x‖_ord over ``dim`` (every element by default)."""
    if dtype is not None:
        x = x.to(dtype)
    d = _dims(dim, x.ndim)
    d = tuple(d) if d is not None else None
    if ord == math.inf:
        return _r.amax(_ew.abs(x), d, keepdim)
    if ord == -math.inf:
        return _r.amin(_ew.abs(x), d, keepdim)
    if ord == 0:
        # the count of nonzeros, as 1 = x/x where x ≠ 0: a gradient that is exactly 0, as PyTorch's
        nz = _ew.ne(x, 0)
        return _r.sum(_ew.where(nz, x / _ew.where(nz, x, 1.0), x * 0.0), d, keepdim)
    if ord in (1, 2):
        return _r.norm(x, ord, d, keepdim)
    return _r.sum(_ew.abs(x) ** ord, d, keepdim) ** (1.0 / ord)


def svdvals(a: Tensor) -> Tensor:
    """The singular values σ₁ ≥ … ≥ σ_k."""
    return svd(a, full_matrices=False)[1]


def matrix_norm(a: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """The ``ord`` norm of the matrices over dims ``dim``."""
    if dtype is not None:
        a = a.to(dtype)
    if a.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: expected matrices, got shape {tuple(a.shape)}")
    d0, d1 = (_sh._axis(int(k), a.ndim, "linalg.matrix_norm") for k in dim)
    if ord == "fro":
        return _r.norm(a, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        return _spectral_norm(a, ord, d0, d1, keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        return _abs_sum_norm(a, ord, d0, d1, keepdim)
    raise RuntimeError(f"linalg.matrix_norm: unsupported ord {ord!r} (expected 'fro', 'nuc', ±1, ±2, ±inf)")


def _spectral_norm(a: Tensor, ord, d0: int, d1: int, keepdim: bool) -> Tensor:
    """'nuc': Σσᵢ, 2: σ_max, −2: σ_min of the matrices over dims (d0, d1)."""
    s = svdvals(_sh.movedim(a, (d0, d1), (-2, -1)))
    out = _r.sum(s, -1) if ord == "nuc" else (_r.amax(s, -1) if ord == 2 else _r.amin(s, -1))
    if keepdim:
        for k in sorted((d0, d1)):
            out = _sh.unsqueeze(out, k)
    return out


def _abs_sum_norm(a: Tensor, ord, d0: int, d1: int, keepdim: bool) -> Tensor:
    """±1: max/min over columns of Σᵢ|aᵢⱼ|; ±∞: max/min over rows of Σⱼ|aᵢⱼ|."""
    inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)   # 1: sum down columns, ∞: along rows
    s = _r.sum(_ew.abs(a), inner, True)
    red = _r.amax if ord in (1, math.inf) else _r.amin
    out = red(s, outer, True)
    return out if keepdim else _sh.squeeze(_sh.squeeze(out, max(d0, d1)), min(d0, d1))


def norm(a: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``vector_norm`` for an int ``dim`` or a 1-D input, ``matrix_norm`` for a 2-tuple ``dim`` or a 2-D input
    with ``ord`` given; without ``ord`` and ``dim`` the 2-norm of every element."""
    if _matrix_dims(dim):
        return matrix_norm(a, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and ord is not None:
        if a.ndim == 2:
            return matrix_norm(a, ord, (-2, -1), keepdim, dtype=dtype)
        if a.ndim != 1:
            raise RuntimeError(f"linalg.norm: ord={ord!r} without dim needs a 1-D or 2-D input, got shape "
                               f"{tuple(a.shape)}")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: ord={ord!r} is a matrix norm; give a 2-D input or a 2-tuple dim")
    return vector_norm(a, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def _matrix_dims(dim) -> bool:
    """``dim`` names two dims (a matrix norm)."""
    return dim is not None and not isinstance(dim, int) and len(dim) == 2


def eigvalsh(a: Tensor, UPLO: str = "L") -> Tensor:
    return eigh(a, UPLO)[0]


def lstsq(a: Tensor, b: Tensor, rcond=None, *, driver=None) -> LstsqResult:
    """The least-squares solution X of A X ≈ B (A of full column rank, m ≥ n): X = R⁻¹ Qᵀ B by QR."""
    vector = b.ndim == a.ndim - 1
    bm = _sh.unsqueeze(b, -1) if vector else b
    q, r = qr(a)
    x = solve(r, matmul(_sh.transpose(q, -2, -1), bm))
    x = _sh.squeeze(x, -1) if vector else x
    empty = Tensor._make(xp.zeros(0, dtype=a.dtype))
    rank = Tensor._make(xp.asarray(xp.linalg.matrix_rank(a._data), dtype=xp.int64))
    return LstsqResult(x, empty, rank, empty)


def pinv(a: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """A⁺ = V diag(σᵢ⁻¹ where σᵢ > max(atol, rtol·σ₁), else 0) Uᵀ."""
    u, s, vh = svd(a, full_matrices=False)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(a.shape[-2:]) * float(xp.finfo(a.dtype).eps)
    cut = xp.maximum(atol or 0.0, rtol * s._data.max(axis=-1, keepdims=True))
    keep = s._data > cut
    s_inv = _ew.where(keep, 1.0 / _ew.where(keep, s, 1.0), 0.0)
    return matmul(_sh.transpose(vh, -2, -1) * _sh.unsqueeze(s_inv, -2), _sh.transpose(u, -2, -1))


def matrix_rank(a: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values above max(atol, rtol·σ₁) (not differentiable)."""
    s = xp.linalg.svd(a._data, compute_uv=False)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(a.shape[-2:]) * float(xp.finfo(a.dtype).eps)
    cut = xp.maximum(atol or 0.0, rtol * s.max(axis=-1, keepdims=True))
    return Tensor._make((s > cut).sum(-1).astype(xp.int64))


def matrix_power(a: Tensor, n: int) -> Tensor:
    """Aⁿ by repeated squaring; A⁰ = I; n < 0 uses A⁻¹."""
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    if result is None:
        k = a.shape[-1]
        return Tensor._make(xp.broadcast_to(xp.eye(k, dtype=a.dtype), a.shape).copy())
    return result


def multi_dot(tensors) -> Tensor:
    """A₁ A₂ ⋯ Aₙ (a 1-D first or last operand is a row or column vector)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"linalg.multi_dot: expected at least 2 tensors, got {len(ts)}")
    out = ts[0]
    for t in ts[1:]:
        out = matmul(out, t)
    return out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Σᵢ xᵢ yᵢ along ``dim``."""
    return _r.sum(x * y, dim)


def cross(a: Tensor, b: Tensor, *, dim: int = -1) -> Tensor:
    """a × b of 3-vectors along ``dim``: (a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀)."""
    d = _sh._axis(dim, a.ndim, "linalg.cross")
    if a.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: dim {dim} must have size 3, got {a.shape[d]}")
    a0, a1, a2 = _sh.unbind(a, d)
    b0, b1, b2 = _sh.unbind(b, d)
    return _sh.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def diagonal(a: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return _c.diagonal(a, offset, dim1, dim2)


def slogdet(a: Tensor) -> SlogdetResult:
    """(sign, log|det A|): det A = sign · exp(logabsdet); the gradient flows through logabsdet."""
    return SlogdetResult(*_slogdet_op(a))
