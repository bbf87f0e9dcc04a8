"""Fused layer primitives: linear (one GEMM), embedding lookup, batch normalisation, window sums.

Each is one graph node instead of a chain of small ops, so the engine adds almost
nothing to the NumPy work. Each backward rule is written once, with lamina tensor ops
(GEMMs with transpose flags, adjoint ops such as ``EmbeddingScatter``): under an ordinary
``loss.backward()`` those ops record nothing and cost one array call each, and under
``create_graph=True`` the same rule is differentiable again.
"""
from __future__ import annotations

from .. import _mode
from ..autograd.op import LinearMap, Op, run, run1
from ..autograd.op import sum_terms as _sum
from ..backend import xp
from ..sparse import RowSparseGrad, coalesce_rows
from ..tensor import Tensor
from .conv import alloc, buffers, order_of
from .elementwise import masked
from .linalg import _mm, matmul
from .reduce import Sum, mean
from .reduce import sum as tsum
from .shape import reshape


def plain_backward() -> bool:
    """True when a backward rule may compute on raw arrays (no graph of the gradient is wanted)."""
    return not _mode.grad_enabled and not _mode.fw_level


def _const(a: xp.ndarray) -> Tensor:
    return Tensor._make(a)


# ---------------------------------------------------------------------------- linear
class Linear(Op):
    """y = x Wᵀ + b with one GEMM; for a batch x (N, in) and ȳ (N, out): W̄ = ȳᵀx, x̄ = ȳ W, b̄ = Σₙ ȳₙ."""

    def forward(self, x, w, b=None):
        y = xp.matmul(x, w.T)
        if b is not None:
            y += b
        return y

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        needs = self.needs
        out_f, in_f = w._data.shape
        flat = g._data.ndim == 2  # the common (N, features) case goes straight to the products
        g2 = g if flat else reshape(g, (-1, out_f))
        gx = (_mm(g, w, False, False) if flat else matmul(g, w)) if needs[0] else None  # x̄ = ȳ W
        gw = _mm(g2, x if flat else reshape(x, (-1, in_f)), True, False) if needs[1] else None  # W̄ = ȳᵀ x
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (run1(Sum((0,), False), g2) if needs[2] else None)  # b̄ = Σₙ ȳₙ

    def jvp(self, tx, tw, tb=None):
        x, w = self.inputs[0], self.inputs[1]
        return _sum(None if tx is None else run(Linear(), tx, w),
                    None if tw is None else run(Linear(), x, tw), tb)


class LinearReLU(Linear):
    """y = max(0, x Wᵀ + b) in one node: the ReLU is applied in place on the GEMM's output, and the backward
    masks the incoming gradient once (ȳ·[y > 0]) before the linear rule."""

    reads_output = True

    def forward(self, x, w, b=None):
        y = Linear.forward(self, x, w, b)
        return xp.maximum(y, 0, out=y)

    def _mask(self):
        return self.out > 0

    def backward(self, g):
        return Linear.backward(self, masked(g, self._mask()))  # ȳ ∘ [y > 0]

    def jvp(self, tx, tw, tb=None):
        t = Linear.jvp(self, tx, tw, tb)
        return None if t is None else masked(t, self._mask())


def linear(x: Tensor, w: Tensor, b: Tensor | None = None, relu: bool = False) -> Tensor:
    """The fused op (with ``relu=True``, followed by max(0, ·) in the same node); shapes and dtypes are
    checked by ``lamina.nn.functional.linear``."""
    op = LinearReLU() if relu else Linear()
    return run(op, x, w) if b is None else run(op, x, w, b)


# ---------------------------------------------------------------------------- embedding
class Embedding(LinearMap):
    """out[..., :] = W[idx[...], :]. The gradient is a row scatter (xp.add.at), never a one-hot matmul;
    ``rows(g)`` gives it in row-sparse form (unique row ids, summed rows) for sparse updates.

    ``sparse=True``: a plain backward (no graph of the gradient) into a leaf W returns a
    ``lamina.sparse.RowSparseGrad`` — the looked-up row ids and the gradient rows, O(len(idx) · dim),
    repeated ids not summed (the optimizer coalesces) — instead of a dense (rows, dim) array. Under
    ``create_graph`` / forward mode, or when W is not a leaf, the dense differentiable rule runs."""

    def __init__(self, idx: xp.ndarray, padding_idx=None, sparse: bool = False):
        self.idx, self.padding_idx, self.sparse = idx, padding_idx, sparse

    def forward(self, w):
        self.shape = w.shape
        return w[self.idx]

    def rows(self, g: xp.ndarray):
        """Row-sparse gradient: (unique indices, gradient rows summed per index)."""
        uniq, acc = coalesce_rows(self.idx.reshape(-1), g.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            acc[uniq == self.padding_idx] = 0
        return uniq, acc

    def backward(self, g):
        if self.sparse and plain_backward() and self.inputs[0]._node is None:
            return (_row_sparse(self.idx, g._data, self.shape, self.padding_idx),)
        return (run1(EmbeddingScatter(self.idx, self.shape, self.padding_idx), g),)



class EmbeddingScatter(LinearMap):
    """The adjoint of a row lookup: add each gradient row into row idx of a zero matrix."""

    def __init__(self, idx, shape, padding_idx):
        self.idx, self.shape, self.padding_idx = idx, shape, padding_idx

    def forward(self, g):
        gw = xp.zeros(self.shape, dtype=g.dtype)
        rows, summed = coalesce_rows(self.idx.reshape(-1), g.reshape(-1, self.shape[1]))
        gw[rows] = summed
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw

    def _lookup(self, t):
        if self.padding_idx is not None:
            keep = xp.ones((self.shape[0], 1), dtype=t.dtype)
            keep[self.padding_idx] = 0
            t = t * _const(keep)
        return run1(Embedding(self.idx), t)

    def backward(self, gg):
        return (self._lookup(gg),)



def _row_sparse(idx: xp.ndarray, g: xp.ndarray, shape: tuple, padding_idx=None):
    """The gradient of a lookup W[idx] as a RowSparseGrad: ids idx (flattened), rows g (len(idx), dim)."""

    flat = idx.reshape(-1)
    rows = g.reshape(flat.size, shape[1])
    if padding_idx is not None and (flat == padding_idx).any():
        keep = flat != padding_idx
        flat, rows = flat[keep], rows[keep]
    else:
        rows = xp.array(rows)  # owned: the incoming gradient may be a read-only or shared view
    return RowSparseGrad.make(flat, rows, shape)


def embedding(idx: xp.ndarray, w: Tensor, padding_idx=None, sparse: bool = False) -> Tensor:
    return run1(Embedding(idx, padding_idx, sparse), w)


# ---------------------------------------------------------------------------- batch normalisation
def _like(a: xp.ndarray) -> xp.ndarray:
    """An uninitialised reused buffer of a's shape and dtype in a's memory order."""
    return alloc(a.shape, a.dtype, None, order_of(a))


def channel_rows(x: xp.ndarray, strided: bool = False):
    """x (N, C, …) as the (C, M) matrix of its memory when the channel axis is outermost there and the
    rest is contiguous (the conv layouts (C, H, W, N) and (C, N, H, W)); None otherwise. With ``strided``
    a non-contiguous x in such an order (a cropped view) is returned as x transposed to it, (C, …)."""
    if x.ndim < 3:
        return None
    order = order_of(x)
    t = x.transpose(order)
    if order[0] != 1:
        return None
    if not t.flags.c_contiguous:
        return t if strided else None
    return t.reshape(x.shape[1], -1)


def from_rows(rows: xp.ndarray, like: xp.ndarray) -> xp.ndarray:
    """A (C, M) matrix viewed as an array of ``like``'s shape and memory order (inverse of channel_rows)."""
    order = order_of(like)
    return rows.reshape(tuple(like.shape[a] for a in order)).transpose(xp.argsort(order))


class BatchNorm(Op):
    """Training-mode batch norm: x̂ = (x − μ_B)/√(σ²_B + ε), y = γ x̂ + β, with the batch
    mean and biased variance over every dim but the channel dim 1.

    Backward (per channel, m values): x̄ = γ/√(σ²+ε) · (ȳ − mean(ȳ) − x̂ · mean(ȳ x̂)),
    γ̄ = Σ ȳ x̂, β̄ = Σ ȳ. ``self.mean`` / ``self.var`` hold the batch statistics afterwards."""

    def __init__(self, eps: float):
        self.eps = eps

    def forward(self, x, gamma=None, beta=None):
        axes = (0,) + tuple(range(2, x.ndim))
        self.axes = axes
        shape = [1] * x.ndim
        shape[1] = x.shape[1]
        self.cshape = tuple(shape)
        rows = channel_rows(x, strided=True) if x.size else None
        if rows is not None:
            return self._forward_rows(x, rows, gamma, beta)
        mu = x.mean(axis=axes, keepdims=True)
        xc = xp.subtract(x, mu, out=_like(x))  # reused buffers in x's memory order (no page faults)
        var = xp.multiply(xc, xc, out=_like(x)).mean(axis=axes, keepdims=True)
        rstd = 1.0 / xp.sqrt(var + x.dtype.type(self.eps))
        xc *= rstd
        self.mean, self.var, self.rstd, self.xhat = mu.reshape(-1), var.reshape(-1), rstd, xc
        self.xc = None
        y = _like(x)
        if gamma is None:
            y[...] = xc
            return y
        xp.multiply(xc, gamma.reshape(shape), out=y)
        y += beta.reshape(shape)
        return y

    def _forward_rows(self, x, rows, gamma, beta):
        """The same on the (C, M) matrix of x's memory: row means, Σ (x − μ)² per row as BLAS products, and
        y = (x − μ) ∘ γ/σ + β; x − μ is kept (x̂ is never formed: the backward scales by 1/σ instead)."""
        c = rows.shape[0]
        m = rows.size // c
        mu = (_row_sum(rows) if rows.ndim == 2 else rows.sum(axis=tuple(range(1, rows.ndim)))) / m
        xc = xp.subtract(rows, mu.reshape((c,) + (1,) * (rows.ndim - 1)),
                         out=buffers.empty(rows.shape, rows.dtype))
        xc = xc.reshape(c, m)  # contiguous (C, M), in x's memory order
        var = _row_dot(xc, xc) / m
        rstd = 1.0 / xp.sqrt(var + x.dtype.type(self.eps))
        self.mean, self.var, self.rstd = mu, var, rstd.reshape(self.cshape)
        self.xhat, self.xc = None, from_rows(xc, x)
        scale = rstd if gamma is None else rstd * gamma
        y = xp.multiply(xc, scale[:, None], out=buffers.empty(xc.shape, xc.dtype))
        if beta is not None:
            y += beta[:, None]
        return from_rows(y, x)

    def _stats(self):
        """x̂ and 1/σ: the arrays saved by forward, or — when the gradient itself is being recorded —
        rebuilt from x with tensor ops, so second derivatives see their dependence on x."""
        if plain_backward():
            xhat = self.xc * self.rstd if self.xhat is None else self.xhat
            return _const(xhat), _const(self.rstd)
        return _tensor_stats(self.inputs[0], self.axes, self.eps)

    def backward(self, g):
        """x̄ = BatchNormGrad(ȳ, x, γ) = (ȳ − mean(ȳ) − x̂ ∘ mean(ȳ ∘ x̂)) ∘ γ/σ,  γ̄ = Σ ȳ ∘ x̂,  β̄ = Σ ȳ (sums over
        all but the channel dim; the op leaves both sums, taken as constants when the gradient is not recorded)."""
        needs = self.needs
        x = self.inputs[0]
        saved = None if _mode.vmap_sizes else (self.xc, self.xhat, self.rstd)
        op = BatchNormGrad(self.axes, self.cshape, self.eps, saved)
        if len(needs) == 1:
            return (run(op, g, x),)
        gx = run(op, g, x, self.inputs[1]) if needs[0] else None
        if gx is not None and plain_backward() and not _mode.vmap_sizes:
            sum_gx, sum_g = _const(op.sum_gxhat), _const(op.sum_g)
        else:
            xhat, _ = self._stats()
            sum_gx, sum_g = tsum(g * xhat, self.axes), tsum(g, self.axes)
        return gx, (sum_gx if needs[1] else None), (sum_g if needs[2] else None)

    def jvp(self, tx, tg=None, tb=None):
        xhat, rstd = self._stats()
        affine = len(self.inputs) > 1
        out = None
        if tx is not None:
            tc = tx - mean(tx, self.axes, keepdim=True)
            dxhat = (tc - xhat * mean(tc * xhat, self.axes, keepdim=True)) * rstd
            out = dxhat * reshape(self.inputs[1], self.cshape) if affine else dxhat
        if tg is not None:
            out = _sum(out, xhat * reshape(tg, self.cshape))
        if tb is not None:
            out = _sum(out, reshape(tb, self.cshape))  # the engine broadcasts a tangent to the output shape
        return out


def _array_stats(x: xp.ndarray, axes: tuple, eps: float):
    """x − μ and 1/σ = (var + ε)^−½ per channel (keepdims), on arrays; x − μ keeps x's memory order."""
    xc = x - x.mean(axis=axes, keepdims=True)
    return xc, 1.0 / xp.sqrt(xp.mean(xc * xc, axis=axes, keepdims=True) + x.dtype.type(eps))


def _tensor_stats(x: Tensor, axes: tuple, eps: float):
    """x̂ = (x − μ)/σ and 1/σ with tensor ops (their dependence on x recorded)."""
    xc = x - mean(x, axes, keepdim=True)
    rstd = (mean(xc * xc, axes, keepdim=True) + eps) ** -0.5
    return xc * rstd, rstd


class BatchNormGrad(Op):
    """x̄ = γ/σ ∘ (ȳ − mean(ȳ) − x̂ ∘ mean(ȳ ∘ x̂)), BatchNorm's input gradient as one op of (ȳ, x[, γ]); means
    and sums per channel (m values: every dim but 1). It leaves Σ ȳ and Σ ȳ x̂ (``sum_g``, ``sum_gxhat``).

    On the (C, M) rows of x's memory: x̄ = a ȳ + b (x − μ) + c with a = γ/σ, b = −γ Σȳ(x − μ)/(m σ³),
    c = −γ Σȳ/(m σ). Backward against v, with w = γ v, A = mean ȳ, B = mean ȳx̂, W = mean w x̂:
    ȳ̄ = BatchNormGrad(v, x, γ) (x̄ is linear and self-adjoint in ȳ), γ̄ = Σ v (ȳ − A − x̂ B)/σ,
    x̄' = −(x̂ (mean wȳ − A mean w − 3 B W) + W (ȳ − A) + B (w − mean w))/σ².

    ``saved``: BatchNorm's (x − μ or None, x̂ or None, 1/σ) for this x, used once (a fresh copy recomputes them)."""

    def __init__(self, axes: tuple, cshape: tuple, eps: float, saved=None):
        self.axes, self.cshape, self.eps, self.saved = axes, cshape, eps, saved

    def _statistics(self, x):
        saved, self.saved = self.saved, None
        if saved is not None and (saved[1] if saved[0] is None else saved[0]).shape == x.shape:
            return saved
        xc, rstd = _array_stats(x, self.axes, self.eps)
        return xc, None, rstd

    def forward(self, g, x, gamma=None):
        c = x.shape[1]
        if x.size == 0:
            self.sum_g = self.sum_gxhat = xp.zeros(c, x.dtype)
            return xp.zeros(x.shape, x.dtype)
        xc, xhat, rstd = self._statistics(x)
        m = x.size // c
        scale = rstd.reshape(-1) if gamma is None else rstd.reshape(-1) * gamma
        rows = None if xc is None else channel_rows(xc)
        if rows is not None:
            return from_rows(self._rows(_rows_of(g, xc, rows), rows, rstd.reshape(-1), scale, m), xc)
        return self._general(g, xc * rstd if xhat is None else xhat, scale, m)

    def _general(self, g, xhat, scale, m):
        """x̄ = (ȳ − Σȳ/m − x̂ Σȳx̂/m) ∘ γ/σ with sums over ``axes``, in two reused buffers laid out as x̂."""
        sum_g = g.sum(axis=self.axes, keepdims=True)
        tmp = xp.multiply(g, xhat, out=_like(xhat))
        sum_gx = tmp.sum(axis=self.axes, keepdims=True)
        self.sum_g, self.sum_gxhat = sum_g.reshape(-1), sum_gx.reshape(-1)
        out = xp.subtract(g, sum_g / m, out=_like(xhat))
        out -= xp.multiply(xhat, sum_gx / m, out=tmp)
        out *= scale.reshape(self.cshape)
        return out

    def _rows(self, gr, xr, rstd, scale, m):
        """x̄ = a ȳ + b (x − μ) + c on (C, M) rows, in reused buffers."""
        sum_g, sum_gxc = _row_sum(gr), _row_dot(gr, xr)
        self.sum_g, self.sum_gxhat = sum_g, sum_gxc * rstd
        a, b, k = scale[:, None], (-scale * rstd * rstd * sum_gxc / m)[:, None], (-scale * sum_g / m)[:, None]
        out = xp.multiply(gr, a, out=buffers.empty(xr.shape, xr.dtype))
        out += xp.multiply(xr, b, out=buffers.empty(xr.shape, xr.dtype))
        out += k
        return out

    def _stats(self, x: Tensor):
        if plain_backward():
            xc, rstd = _array_stats(x._data, self.axes, self.eps)
            return _const(xc * rstd), _const(rstd)
        return _tensor_stats(x, self.axes, self.eps)

    def _again(self, v, x, gamma):
        op = BatchNormGrad(self.axes, self.cshape, self.eps)
        return run(op, v, x) if gamma is None else run(op, v, x, gamma)

    def backward(self, v):
        g, x = self.inputs[0], self.inputs[1]
        gamma = self.inputs[2] if len(self.inputs) > 2 else None
        needs = self.needs
        gg = self._again(v, x, gamma) if needs[0] else None
        want_gamma = gamma is not None and needs[2]
        gx = ggamma = None
        if needs[1] or want_gamma:
            xhat, rstd = self._stats(x)
            a, b = mean(g, self.axes, keepdim=True), mean(g * xhat, self.axes, keepdim=True)
            gx = self._input_part(v, g, gamma, xhat, rstd, a, b) if needs[1] else None
            ggamma = reshape(tsum(v * (g - a - xhat * b) * rstd, self.axes), (-1,)) if want_gamma else None
        return (gg, gx) if gamma is None else (gg, gx, ggamma)

    def _input_part(self, v, g, gamma, xhat, rstd, a, b):
        """x̄' = −(x̂ (mean wȳ − A mean w − 3 B W) + W (ȳ − A) + B (w − mean w))/σ² with w = γ v."""
        axes = self.axes
        w = v if gamma is None else v * reshape(gamma, self.cshape)
        bw, aw = mean(w * xhat, axes, keepdim=True), mean(w, axes, keepdim=True)
        inner = xhat * (mean(w * g, axes, keepdim=True) - a * aw - 3.0 * b * bw) + bw * (g - a) + b * (w - aw)
        return inner * -(rstd * rstd)

    def jvp(self, tg, tx, tgamma=None):
        g, x = self.inputs[0], self.inputs[1]
        gamma = self.inputs[2] if len(self.inputs) > 2 else None
        out = None if tg is None else self._again(tg, x, gamma)
        if tx is None and tgamma is None:
            return out
        xhat, rstd = self._stats(x)
        axes = self.axes
        a, b = mean(g, axes, keepdim=True), mean(g * xhat, axes, keepdim=True)
        if tx is not None:
            t, at = mean(xhat * tx, axes, keepdim=True), mean(tx, axes, keepdim=True)
            inner = (g - a) * t - xhat * (3.0 * b * t) + b * (tx - at) + xhat * (mean(g * tx, axes, keepdim=True) - a * at)
            d = inner * -(rstd * rstd)
            out = _sum(out, d if gamma is None else d * reshape(gamma, self.cshape))
        if tgamma is not None:
            out = _sum(out, (g - a - xhat * b) * rstd * reshape(tgamma, self.cshape))
        return out


def _row_sum(a: xp.ndarray) -> xp.ndarray:
    """Σₘ a of each row of a (C, M) matrix as a BLAS matrix-vector product (faster than ``a.sum(1)``)."""
    return xp.matmul(a, xp.ones(a.shape[1], a.dtype))


def _row_dot(a: xp.ndarray, b: xp.ndarray) -> xp.ndarray:
    """Σₘ a b of each row pair of two (C, M) matrices as C BLAS dot products (faster than an einsum)."""
    return xp.matmul(a[:, None, :], b[:, :, None]).reshape(a.shape[0])


def _rows_of(g: xp.ndarray, like: xp.ndarray, like_rows: xp.ndarray) -> xp.ndarray:
    """g as the (C, M) rows of ``like``'s memory order: a view when g is laid out alike, else a copy into a
    reused buffer."""
    if order_of(g) == order_of(like):
        rows = channel_rows(g)
        if rows is not None:
            return rows
    buf = buffers.empty(like_rows.shape, g.dtype)
    from_rows(buf, like)[...] = g
    return buf


def batch_norm_train(x: Tensor, gamma: Tensor | None, beta: Tensor | None, eps: float):
    """Normalise with batch statistics; returns (y, batch mean array, batch biased variance array)."""
    op = BatchNorm(eps)
    y = run1(op, x) if gamma is None or beta is None else run(op, x, gamma, beta)
    return y, op.mean, op.var


# ---------------------------------------------------------------------------- window sums (for LRN)
class WindowSum(LinearMap):
    """y[i] = Σ_{j<n} xpad[i + j] along one axis, zero padding (before, after) with before + after = n − 1.

    Its adjoint is the same sum with the padding swapped, so the backward is another WindowSum."""

    def __init__(self, axis: int, size: int, before: int, after: int):
        self.axis, self.size, self.before, self.after = axis, size, before, after

    def forward(self, x):
        ax, n = self.axis, x.shape[self.axis]
        widths = [(0, 0)] * x.ndim
        widths[ax] = (self.before, self.after)
        xpad = xp.pad(x, widths)
        sl = [slice(None)] * x.ndim
        sl[ax] = slice(0, n)
        y = xpad[tuple(sl)].copy()
        for j in range(1, self.size):
            sl[ax] = slice(j, j + n)
            y += xpad[tuple(sl)]
        return y

    def backward(self, g):
        return (run1(WindowSum(self.axis, self.size, self.after, self.before), g),)



def window_sum(x: Tensor, axis: int, size: int) -> Tensor:
    """Sum over a centred window of ``size`` along ``axis`` (PyTorch's LRN padding: size//2 before)."""
    return run1(WindowSum(axis % x.ndim, size, size // 2, (size - 1) // 2), x)
