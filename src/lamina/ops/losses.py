"""Fused loss primitives: cross-entropy with class indices, and binary cross-entropy on probabilities.

Cross-entropy: with log-probabilities ℓ = log_softmax(x) computed by the
log-sum-exp trick (x − max, so no exp overflows for logits of ±1e4), the per-sample loss is

    L_i = −Σ_c q_ic ℓ_ic,   q_ic = (1−ε)·w_{y_i}·[c = y_i] + (ε/C)·w_c,

(ε: label smoothing, w: class weights, rows with y_i = ignore_index have q = 0), and

    ∂L_i/∂x_ic = (Σ_c' q_ic')·softmax(x)_ic − q_ic,

so forward and backward are one pass each over the logits (no one-hot matrix, no graph of
a dozen small ops).
"""
from __future__ import annotations

from ..autograd.op import Op, run, run1
from ..backend import xp
from ..tensor import Tensor
from .elementwise import clamp, log
from .layers import plain_backward
from .reduce import softmax
from .reduce import sum as tsum
from .shape import reshape


class CrossEntropy(Op):
    """Cross-entropy of (M, C) logits against integer targets (M,); reduction 'mean' | 'sum' | 'none'.

    'mean' divides by Σ_i w_{y_i} over non-ignored rows (the count of those rows without weights),
    as PyTorch does."""

    def __init__(self, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean",
                 none_ignored=False):
        """``none_ignored=True``: the caller has checked that no target equals ``ignore_index``."""
        self.target, self.weight = target, weight
        self.ignore_index, self.eps, self.reduction = ignore_index, float(label_smoothing), reduction
        self.none_ignored = none_ignored

    def forward(self, x):
        m = x.shape[0]
        t = self.target
        valid = xp.ones(m, dtype=bool) if self.none_ignored else t != self.ignore_index
        self.all_valid = self.none_ignored or bool(valid.all())
        if not self.all_valid:
            t = xp.where(valid, t, 0)
        self.valid, self.t = valid, t
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        lse = xp.log(s)
        self.e, self.s = e, s
        nll = lse[:, 0] - z[xp.arange(m), t]
        if self.all_valid and self.weight is None and not self.eps:  # the common case, in a few array ops
            self.wt, loss = None, nll
        else:
            loss = self._weighted_loss(nll, lse, z)
        self.denom = self._denominator(x.dtype)
        if self.reduction == "none":
            return loss
        total = loss.sum()
        return xp.asarray(total / self.denom if self.reduction == "mean" else total, dtype=x.dtype)

    def _weighted_loss(self, nll, lse, z):
        """L_i = w_{y_i}(1−ε)·nll_i + (ε/C)·Σ_c w_c (lse_i − z_ic), zero on ignored rows; keeps q's target weights."""
        m, c = z.shape
        dt = z.dtype.type
        w = self.weight
        # q's row sums and the weight of each row's target
        wt = (w[self.t] if w is not None else xp.ones(m, dtype=z.dtype)) * dt(1.0 - self.eps)
        if not self.all_valid:
            wt = wt * self.valid
        loss = wt * nll
        if self.eps:
            wsm = w if w is not None else xp.ones(c, dtype=z.dtype)
            smooth = (lse - z) @ wsm  # −Σ_c w_c ℓ_ic
            smooth *= dt(self.eps / c)
            if not self.all_valid:
                smooth *= self.valid
            loss = loss + smooth
        self.wt = wt
        return loss

    def _denominator(self, dtype):
        if self.reduction != "mean":
            return dtype.type(1)
        if self.weight is None:
            n = self.valid.sum() if not self.all_valid else self.valid.size
            return dtype.type(n)
        return (self.weight[self.t] * self.valid).sum(dtype=dtype)

    def _q(self, dtype):
        """Dense q (M, C) and its row sums, as arrays."""
        m, c = self.e.shape
        q = xp.zeros((m, c), dtype=dtype)
        q[xp.arange(m), self.t] = self.wt if self.wt is not None else 1
        if self.eps:
            wsm = self.weight if self.weight is not None else xp.ones(c, dtype=dtype)
            q += (self.eps / c) * (wsm[None, :] * self.valid[:, None]).astype(dtype)
        return q, q.sum(axis=1, keepdims=True)

    def backward(self, g):
        """x̄ = (softmax(x) ∘ Σ_c q − q) ∘ scale, q the (weighted, smoothed) target distribution: one adjoint op."""
        # the adjoint op reads the loss's saved arrays; a recorded one keeps its own copy of them (this node
        # may be released before the gradient's graph is used)
        return (run(CrossEntropyGrad(self if plain_backward() else self.fresh()), g, self.inputs[0]),)

    def jvp(self, tx):
        x = self.inputs[0]
        q, qsum = self._q(x.dtype)
        d = tsum((softmax(x, 1) * Tensor._make(qsum) - Tensor._make(q)) * tx, 1)
        if self.reduction == "none":
            return d
        d = tsum(d)
        return d / float(self.denom) if self.reduction == "mean" else d


class CrossEntropyGrad(Op):
    """x̄ = (p ∘ Σ_c q − q) ∘ s of ``CrossEntropy`` as one op of (ȳ, x), p = softmax(x), s = ȳ / denominator
    ((M, 1) rows of ȳ for reduction='none'). The forward computes on the arrays saved by the loss
    (one-hot q: x̄ = p s with s subtracted at each row's target); the rules, with r = Σ_c q ∘ s:
    ∂/∂x: x̄' = p ∘ (u − Σ_c p ∘ u), u = v ∘ r (softmax's transposed Jacobian);  ∂/∂ȳ: Σ v ∘ (p Σ_c q − q) / denominator."""

    def __init__(self, ce: CrossEntropy):
        self.ce = ce

    def forward(self, g, x):
        ce = self.ce
        p = ce.e / ce.s
        s = g.reshape(-1, 1) if ce.reduction == "none" else g / ce.denom
        if not ce.eps and ce.weight is None and ce.all_valid:  # q one-hot: Σ_c q = 1
            p *= s
            p[xp.arange(p.shape[0]), ce.t] -= s if s.ndim == 0 else s[:, 0]
            return p
        q, qsum = ce._q(x.dtype)
        p *= qsum
        p -= q
        p *= s
        return p

    def _parts(self):
        """(p as a tensor of x, the tensor q Σ_c q and q, the 1/denominator factor)."""
        ce = self.ce
        x = self.inputs[1]
        q, qsum = ce._q(x.dtype)
        return softmax(x, 1), Tensor._make(qsum), Tensor._make(q)

    def _scale(self, g):
        return reshape(g, (-1, 1)) if self.ce.reduction == "none" else g / float(self.ce.denom)

    def _dg(self, v, p, qsum, q):
        """∂x̄/∂ȳ applied to v (a tangent or cotangent of x̄) on the ȳ side: Σ_c v ∘ (p Σq − q) per row, / denom."""
        d = tsum(v * (p * qsum - q), 1)
        return d if self.ce.reduction == "none" else tsum(d) / float(self.ce.denom)

    def backward(self, v):
        g, _ = self.inputs
        needs = self.needs
        p, qsum, q = self._parts()
        gg = self._dg(v, p, qsum, q) if needs[0] else None
        gx = None
        if needs[1]:
            u = v * (qsum * self._scale(g))
            gx = p * (u - tsum(p * u, 1, keepdim=True))
        return gg, gx

    def jvp(self, tg, tx):
        g, _ = self.inputs
        p, qsum, q = self._parts()
        out = None
        if tg is not None:
            out = (p * qsum - q) * self._scale(tg)
        if tx is not None:
            dp = p * (tx - tsum(p * tx, 1, keepdim=True))
            t = dp * (qsum * self._scale(g))
            out = t if out is None else out + t
        return out


def cross_entropy_indices(x: Tensor, target: xp.ndarray, weight=None, ignore_index=-100, label_smoothing=0.0,
                          reduction="mean", none_ignored=False) -> Tensor:
    return run1(CrossEntropy(target, weight, ignore_index, label_smoothing, reduction, none_ignored), x)


class BinaryCrossEntropy(Op):
    """ℓ = −(y log p + (1 − y) log(1 − p)) with each log clamped at −100 (PyTorch's rule, so p = 0 or 1
    gives a finite loss). ∂ℓ/∂p = (p − y)/max(p(1 − p), 1e−12); ∂ℓ/∂y = log(1 − p) − log p."""

    EPS = 1e-12

    def forward(self, p, y):
        with xp.errstate(divide="ignore"):  # log 0 = -inf, clamped to -100 next
            lp = xp.maximum(xp.log(p), -100)
            l1p = xp.maximum(xp.log1p(-p), -100)
        return -(y * lp + (1 - y) * l1p)

    def backward(self, g):
        p, y = self.inputs
        np_, ny = self.needs
        gp = g * (p - y) / clamp(p * (1.0 - p), min=self.EPS) if np_ else None
        gy = g * (clamp(log(1.0 - p), min=-100.0) - clamp(log(p), min=-100.0)) if ny else None
        return gp, gy

    def jvp(self, tp, ty):
        p, y = self.inputs
        out = None
        if tp is not None:
            out = tp * (p - y) / clamp(p * (1.0 - p), min=self.EPS)
        if ty is not None:
            d = ty * (clamp(log(1.0 - p), min=-100.0) - clamp(log(p), min=-100.0))
            out = d if out is None else out + d
        return out


def binary_cross_entropy_elementwise(p: Tensor, y: Tensor) -> Tensor:
    return run(BinaryCrossEntropy(), p, y)
