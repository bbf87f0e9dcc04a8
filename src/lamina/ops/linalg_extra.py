"""``einsum`` and the matrix functions of ``lamina.linalg`` (inverse, solve, determinants, Cholesky).

Each backward is written with lamina ops, so gradients of gradients follow:

* einsum y = Σ ∏ₖ xₖ is linear in each operand, and its adjoint for operand i is again an einsum:
  x̄ᵢ = einsum(ȳ and the other operands → the subscripts of xᵢ), broadcast over the letters only xᵢ has;
  a repeated letter in one operand ('ii') is its diagonal, taken first;
* Y = A⁻¹: Ā = −Yᵀ Ȳ Yᵀ, and the tangent Ẏ = −Y Ȧ Y;
* X = A⁻¹B (solve): B̄ = A⁻ᵀ X̄, Ā = −B̄ Xᵀ, and Ẋ = A⁻¹(Ḃ − Ȧ X);
* log|det A|: Ā = ȳ A⁻ᵀ and ẏ = tr(A⁻¹ Ȧ); det A = sign · exp(log|det A|) in the forward, with
  Ā = ȳ det(A) A⁻ᵀ and ẏ = det(A) tr(A⁻¹ Ȧ);
* L = cholesky(A), A = L Lᵀ: with P = Φ(Lᵀ L̄), Φ taking the lower triangle and halving its diagonal,
  Ā = L⁻ᵀ sym(P) L⁻¹ (PyTorch's convention: P + tril(P, −1)ᵀ, halved); the tangent is L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ).
"""
from __future__ import annotations

import string

from ..autograd.op import Multilinear, Op, apply_raw, broadcast_to, run, run1
from ..backend import xp
from ..tensor import Tensor, _to_array
from . import shape as sh
from .compose_extra import diagonal, tril
from .linalg import matmul


def _mT(x: Tensor) -> Tensor:
    return sh.transpose(x, -2, -1)


# ------------------------------------------------------------------------------ einsum
class Einsum(Multilinear):
    """y = einsum(equation, x₁, …, xₙ) with distinct letters within each operand and an explicit output."""

    def __init__(self, ins: list[str], out: str):
        self.ins, self.out_sub = ins, out

    def forward(self, *arrays):
        return xp.einsum(",".join(self.ins) + "->" + self.out_sub, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        return tuple(self._grad(i, g) if need else None for i, need in enumerate(self.needs))

    def _grad(self, i: int, g: Tensor) -> Tensor:
        """x̄ᵢ: the einsum of ȳ and the other operands to xᵢ's letters, broadcast over the letters only xᵢ has."""
        others = [(s, x) for k, (s, x) in enumerate(zip(self.ins, self.inputs)) if k != i]
        avail = set(self.out_sub).union(*[set(s) for s, _ in others])
        target = self.ins[i]
        kept = "".join(c for c in target if c in avail)
        gi = einsum(",".join([self.out_sub] + [s for s, _ in others]) + "->" + kept, g, *[x for _, x in others])
        if kept != target:  # letters only xᵢ has: the gradient is constant along them
            gi = _spread(gi, target, avail, tuple(self.inputs[i].shape))
        return gi


def _spread(gi: Tensor, target: str, avail: set, shape: tuple) -> Tensor:
    """``gi`` over the letters of ``target`` in ``avail``, broadcast to ``shape`` along the others."""
    view = tuple(shape[k] if c in avail else 1 for k, c in enumerate(target))
    return broadcast_to(sh.reshape(gi, view), shape)


def _fill_ellipsis(ins: list[str], shapes: list[tuple], ell: str, equation: str) -> list[str]:
    """Each operand's subscripts with '...' replaced by the last letters of ``ell`` it covers; checked
    against the operand's rank."""
    nell = len(ell)
    fixed = []
    for t, s in zip(ins, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            t = t.replace("...", ell[nell - k:] if k else "")
        if len(t) != len(s) or not all(c.isalpha() for c in t):
            raise RuntimeError(f"einsum: subscripts {t!r} do not fit an operand of shape {tuple(s)} in {equation!r}")
        fixed.append(t)
    return fixed


def _parse(equation: str, shapes: list[tuple]) -> tuple[list[str], str]:
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise RuntimeError(f"einsum: the equation {equation!r} names {len(ins)} operands, got {len(shapes)}")
    ell = _ellipsis_letters(eq, ins, shapes)
    fixed = _fill_ellipsis(ins, shapes, ell, equation)
    if arrow:
        return fixed, out.replace("...", ell)
    letters = "".join(fixed)
    return fixed, ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))


def _ellipsis_letters(eq: str, ins: list[str], shapes: list[tuple]) -> str:
    """Letters the equation does not use, one per dim the widest '...' covers."""
    free = [c for c in string.ascii_letters if c not in eq]
    nell = max([len(s) - (len(t) - 3) for t, s in zip(ins, shapes) if "..." in t] or [0])
    return "".join(free[:nell])


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``einsum('ij,jk->ik', a, b)`` is a @ b; '...' broadcasts; no '->' sums repeated letters."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [x if isinstance(x, Tensor) else Tensor._make(_to_array(x, None)) for x in operands]
    ins, out = _parse(equation, [tuple(t.shape) for t in ts])
    for k, (s, t) in enumerate(zip(ins, ts)):
        ins[k], ts[k] = _distinct_letters(s, t)
    return run(Einsum(ins, out), *ts)


def _distinct_letters(s: str, t: Tensor) -> tuple[str, Tensor]:
    """An operand and its subscripts with each repeated letter ('ii') taken as its diagonal, a new last dim."""
    while len(set(s)) < len(s):
        c = next(c for c in s if s.count(c) > 1)
        i, j = s.index(c), s.index(c, s.index(c) + 1)
        t = diagonal(t, 0, i, j)
        s = "".join(ch for n, ch in enumerate(s) if n not in (i, j)) + c
    return s, t


# ------------------------------------------------------------------------------ inverse and solve
def _square(a: Tensor, op: str) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{op}: expected square matrices in the last two dims, got shape {tuple(a.shape)}")


class Inv(Op):
    """Y = A⁻¹: Ā = −Yᵀ Ȳ Yᵀ, Ẏ = −Y Ȧ Y."""

    def forward(self, a):
        return xp.linalg.inv(a)

    def backward(self, g):
        y = self.output()
        return (-matmul(matmul(_mT(y), g), _mT(y)),)

    def jvp(self, t):
        y = self.output()
        return -matmul(matmul(y, t), y)


class Solve(Op):
    """X = A⁻¹ B (B a stack of matrices): B̄ = A⁻ᵀ X̄, Ā = −B̄ Xᵀ; Ẋ = A⁻¹(Ḃ − Ȧ X)."""

    def forward(self, a, b):
        return xp.linalg.solve(a, b)

    def backward(self, g):
        a, _ = self.inputs
        gb = solve(_mT(a), g)
        return (-matmul(gb, _mT(self.output())) if self.needs[0] else None), (gb if self.needs[1] else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        x = self.output()
        rhs = tb if tb is not None else None
        if ta is not None:
            rhs = -matmul(ta, x) if rhs is None else rhs - matmul(ta, x)
        return solve(a, rhs)


def inv(a: Tensor) -> Tensor:
    """A⁻¹ of each square matrix in the last two dims."""
    _square(a, "linalg.inv")
    return run1(Inv(), a)


def solve(a: Tensor, b: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B); B a vector (…, n) or matrices (…, n, k)."""
    _square(a, "linalg.solve")
    if not left:
        return _mT(solve(_mT(a), _mT(b)))
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    bm = sh.unsqueeze(b, -1) if vector else b
    if bm.shape[-2] != a.shape[-1]:
        raise RuntimeError(f"linalg.solve: A of shape {tuple(a.shape)} and B of shape {tuple(b.shape)}: "
                           f"B needs {a.shape[-1]} rows")
    x = run(Solve(), a, bm)
    return sh.squeeze(x, -1) if vector else x


# ------------------------------------------------------------------------------ determinants
class LogAbsDet(Op):
    """y = log|det A|: Ā = ȳ A⁻ᵀ, ẏ = tr(A⁻¹ Ȧ)."""

    def forward(self, a):
        return xp.linalg.slogdet(a)[1]

    def backward(self, g):
        (a,) = self.inputs
        return (sh.unsqueeze(sh.unsqueeze(g, -1), -1) * _mT(inv(a)),)

    def jvp(self, t):
        (a,) = self.inputs
        return diagonal(matmul(inv(a), t), 0, -2, -1).sum(-1)


class Det(Op):
    """y = det A: Ā = ȳ y A⁻ᵀ, ẏ = y tr(A⁻¹ Ȧ)."""

    def forward(self, a):
        return xp.linalg.det(a)

    def backward(self, g):
        (a,) = self.inputs
        return (sh.unsqueeze(sh.unsqueeze(g * self.output(), -1), -1) * _mT(inv(a)),)

    def jvp(self, t):
        (a,) = self.inputs
        return self.output() * diagonal(matmul(inv(a), t), 0, -2, -1).sum(-1)


def det(a: Tensor) -> Tensor:
    _square(a, "linalg.det")
    return run1(Det(), a)


def slogdet(a: Tensor) -> tuple[Tensor, Tensor]:
    """(sign, log|det A|); the gradient flows through log|det A|."""
    _square(a, "linalg.slogdet")
    sign = apply_raw(lambda d: xp.linalg.slogdet(d)[0], a)  # under vmap: the signs of the whole batch
    if sign is None:
        sign = Tensor._make(xp.linalg.slogdet(a._data)[0])
    return sign, run1(LogAbsDet(), a)


# ------------------------------------------------------------------------------ Cholesky
def _phi(x: Tensor) -> Tensor:
    """The lower triangle with its diagonal halved."""
    n = x.shape[-1]
    half = xp.tri(n, n, dtype=x.dtype) - 0.5 * xp.eye(n, dtype=x.dtype)
    return x * Tensor._make(half)


class Cholesky(Op):
    """L with A = L Lᵀ (L lower): Ā = L⁻ᵀ P L⁻¹ with P = ½(Q + tril(Q, −1)ᵀ), Q = tril(Lᵀ L̄);
    L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ)."""

    def forward(self, a):
        return xp.linalg.cholesky(a)

    def backward(self, g):
        low = self.output()
        q = tril(matmul(_mT(low), g))
        p = (q + _mT(tril(q, -1))) * 0.5
        return (_mT(solve(_mT(low), _mT(solve(_mT(low), p)))),)

    def jvp(self, t):
        low = self.output()
        m = solve(low, _mT(solve(low, _mT(t))))  # L⁻¹ Ȧ L⁻ᵀ (Ȧ symmetric in use)
        return matmul(low, _phi(m))


def cholesky(a: Tensor, *, upper: bool = False) -> Tensor:
    """The lower factor L of A = L Lᵀ (``upper=True``: U = Lᵀ with A = Uᵀ U)."""
    _square(a, "linalg.cholesky")
    try:
        low = run1(Cholesky(), a)
    except xp.linalg.LinAlgError as e:
        raise RuntimeError(f"linalg.cholesky: the input of shape {tuple(a.shape)} is not positive-definite "
                           f"({e})") from None
    return _mT(low) if upper else low


# ------------------------------------------------------------------------------ eigh, qr, svd
# An op has one output, so a factorisation returns its factors packed in one array, and the function
# splits them with (differentiable) indexing: the engine then hands the backward one packed gradient.
def _skew(x: Tensor) -> Tensor:
    return x - _mT(x)


def _off_diagonal_inverse(d: Tensor) -> Tensor:
    """F_ij = 1 / d_ij off the diagonal, 0 on it (d_ij = λ_j − λ_i or s_j² − s_i², nonzero off it)."""
    n = d.shape[-1]
    eye = xp.eye(n, dtype=bool)
    return (1.0 / (d + Tensor._make(eye.astype(d.dtype)))) * Tensor._make((~eye).astype(d.dtype))


class Eigh(Op):
    """A = V diag(λ) Vᵀ (A symmetric; its lower triangle is read). Packed output (…, n + 1, n): λ, then V.

    Ā = V (diag(λ̄) + ½ F ∘ (VᵀV̄ − V̄ᵀV)) Vᵀ with F_ij = 1/(λ_j − λ_i) (PyTorch's convention);
    λ̇ = diag(Vᵀ Ȧ V), V̇ = V (F ∘ (Vᵀ Ȧ V))."""

    def forward(self, a):
        w, v = xp.linalg.eigh(a)
        return xp.concatenate([w[..., None, :], v], axis=-2)

    def _factors(self):
        out = self.output()
        return out[..., 0, :], out[..., 1:, :]

    def backward(self, g):
        lam, v = self._factors()
        g_lam, g_v = g[..., 0, :], g[..., 1:, :]
        f = _off_diagonal_inverse(sh.unsqueeze(lam, -2) - sh.unsqueeze(lam, -1))
        inner = f * _skew(matmul(_mT(v), g_v)) * 0.5
        inner = inner + _diag_embed(g_lam)
        return (matmul(matmul(v, inner), _mT(v)),)

    def jvp(self, t):
        lam, v = self._factors()
        m = matmul(matmul(_mT(v), t), v)
        f = _off_diagonal_inverse(sh.unsqueeze(lam, -2) - sh.unsqueeze(lam, -1))
        d_lam = diagonal(m, 0, -2, -1)
        d_v = matmul(v, f * m)
        return sh.cat([sh.unsqueeze(d_lam, -2), d_v], -2)


def _diag_embed(x: Tensor) -> Tensor:
    from .compose_extra import diag_embed
    return diag_embed(x)


def eigh(a: Tensor, UPLO: str = "L") -> tuple[Tensor, Tensor]:
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix (its ``UPLO`` triangle)."""
    _square(a, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    packed = run1(Eigh(), a if UPLO == "L" else _mT(a))
    return packed[..., 0, :], packed[..., 1:, :]


class QR(Op):
    """A = Q R (reduced, m ≥ n). Packed output (…, m + n, n): Q, then R.

    With M = R R̄ᵀ − Q̄ᵀ Q and copyltu(M) = tril(M, −1) + tril(M, −1)ᵀ + diag(M):
    Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ."""

    def forward(self, a):
        q, r = xp.linalg.qr(a, mode="reduced")
        return xp.concatenate([q, r], axis=-2)

    def backward(self, g):
        m = self.inputs[0].shape[-2]
        out = self.output()
        q, r = out[..., :m, :], out[..., m:, :]
        gq, gr = g[..., :m, :], g[..., m:, :]
        mm_ = matmul(r, _mT(gr)) - matmul(_mT(gq), q)
        low = tril(mm_, -1)
        sym = low + _mT(low) + _diag_embed(diagonal(mm_, 0, -2, -1))
        rhs = gq + matmul(q, sym)
        return (_mT(solve(r, _mT(rhs))),)  # (…) R⁻ᵀ = (R⁻¹ (…)ᵀ)ᵀ


def qr(a: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """(Q, R) with A = Q R, Q with orthonormal columns, R upper triangular (reduced; m ≥ n for gradients)."""
    if a.ndim < 2:
        raise RuntimeError(f"linalg.qr: expected matrices, got shape {tuple(a.shape)}")
    if mode != "reduced":
        raise RuntimeError(f"linalg.qr: only mode='reduced' is supported, got {mode!r}")
    m, n = a.shape[-2:]
    if m < n:
        if a.requires_grad:
            raise RuntimeError(f"linalg.qr: the gradient needs m >= n, got a {m} x {n} matrix")
        q, r = xp.linalg.qr(a._data, mode="reduced")
        return Tensor._make(q), Tensor._make(r)
    packed = run1(QR(), a)
    return packed[..., :m, :], packed[..., m:, :]


class SVD(Op):
    """A = U diag(s) Vᴴ (reduced: k = min(m, n)). Packed output (…, m·k + k + k·n): U, s, Vh, flattened.

    With F_ij = 1/(s_j² − s_i²) off the diagonal, J = F ∘ (UᵀŪ − ŪᵀU), K = F ∘ (VᵀV̄ − V̄ᵀV):
    Ā = U (J S + S K + diag(s̄)) Vᵀ + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ)  (V̄ = Vh̄ᵀ)."""

    def forward(self, a):
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        lead = a.shape[:-2]
        return xp.concatenate([u.reshape(*lead, -1), s, vh.reshape(*lead, -1)], axis=-1)

    def _split(self, x: Tensor):
        m, n = self.inputs[0].shape[-2:]
        k = min(m, n)
        lead = tuple(x.shape[:-1])
        u = sh.reshape(x[..., : m * k], (*lead, m, k))
        s = x[..., m * k: m * k + k]
        vh = sh.reshape(x[..., m * k + k:], (*lead, k, n))
        return u, s, vh

    def backward(self, g):
        u, s, vh = self._split(self.output())
        gu, gs, gvh = self._split(g)
        v, gv = _mT(vh), _mT(gvh)
        s2 = s * s
        f = _off_diagonal_inverse(sh.unsqueeze(s2, -2) - sh.unsqueeze(s2, -1))
        j = f * _skew(matmul(_mT(u), gu))
        kk = f * _skew(matmul(_mT(v), gv))
        inner = j * sh.unsqueeze(s, -2) + sh.unsqueeze(s, -1) * kk + _diag_embed(gs)
        ga = matmul(matmul(u, inner), vh)
        m, n = self.inputs[0].shape[-2:]
        inv_s = sh.unsqueeze(1.0 / s, -2)
        if m > min(m, n):
            gus = gu * inv_s                                   # Ū S⁻¹
            ga = ga + matmul(gus - matmul(u, matmul(_mT(u), gus)), vh)
        if n > min(m, n):
            gvs = gv * inv_s                                   # V̄ S⁻¹
            ga = ga + matmul(u, _mT(gvs - matmul(v, matmul(_mT(v), gvs))))
        return (ga,)


def svd(a: Tensor, full_matrices: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """(U, S, Vh) with A = U diag(S) Vh; gradients for ``full_matrices=False`` (distinct singular values)."""
    if a.ndim < 2:
        raise RuntimeError(f"linalg.svd: expected matrices, got shape {tuple(a.shape)}")
    m, n = a.shape[-2:]
    k = min(m, n)
    if full_matrices and m != n:
        if a.requires_grad:
            raise RuntimeError("linalg.svd: gradients need full_matrices=False for a non-square matrix "
                               f"(got {m} x {n}); the extra columns of U or V are not unique")
        fu, fs, fvh = xp.linalg.svd(a._data, full_matrices=True)
        return Tensor._make(fu), Tensor._make(fs), Tensor._make(fvh)
    op = SVD()
    packed = run1(op, a)
    lead = tuple(a.shape[:-2])
    u = sh.reshape(packed[..., : m * k], (*lead, m, k))
    s = packed[..., m * k: m * k + k]
    vh = sh.reshape(packed[..., m * k + k:], (*lead, k, n))
    return u, s, vh
