"""The word2vec negative-sampling loss as ONE differentiable lamina op.

Mikolov et al. 2013: for an input vector v and its true target word o with k words n_1..n_k
drawn from the unigram^0.75 distribution, the loss is

    ℓ = −log σ(u_o · v) − Σ_j log σ(−u_{n_j} · v)          (u: rows of W_out, v: rows of W_in)

``negative_sampling_loss(w_in, w_out, inputs, targets)`` evaluates it for a whole batch at once:
``inputs`` (N, S) are rows of ``w_in``, ``targets`` (N, T) rows of ``w_out`` whose column 0 is the
true target and columns 1.. the negatives.  ``combine`` says how an example's S inputs meet its
targets:

* ``"each"`` — every input row is one example against the same targets: scores s[n, i, t] =
  v_{n,i} · u_{n,t}.  S = 1 is plain skip-gram (one pair, its own negatives); S > 1 is skip-gram
  with the negatives of a window shared by its context words (Ji et al. 2016, "Parallelizing
  Word2Vec in Shared and Distributed Memory"), which turns the batch into small matrix products.
* ``"mean"`` — CBOW: h_n = mean_i v_{n,i}, scores s[n, t] = h_n · u_{n,t}.

Forward: one gather per matrix ((N, S, dim) and (N, T, dim)), batched products, a stable
softplus.  Backward, with c = σ(s) − y (y = 1 in column 0) times the incoming gradient:
∂ℓ/∂v = c · U, ∂ℓ/∂u = cᵀ · V, written once with lamina tensor ops.  In a plain ``loss.backward()``
they run on the arrays saved by forward and, into leaf matrices, give a ``RowSparseGrad`` per matrix
(rows of the batch only: O(N·(S+T)·dim), whatever the vocabulary); under ``create_graph`` or forward
mode the factors are rebuilt from the inputs, so the gradients (dense) are differentiable again.
"""
from __future__ import annotations

from ..autograd.op import Op, run, run1
from ..backend import xp
from ..errors import ShapeError
from ..sparse import RowSparseGrad
from ..tensor import Tensor
from .elementwise import sigmoid
from .layers import Embedding as _Lookup
from .layers import EmbeddingScatter as _Scatter
from .layers import plain_backward
from .linalg import _mm, matmul
from .reduce import mean as tmean
from .reduce import sum as tsum
from .shape import expand, squeeze, transpose, unsqueeze

__all__ = ["NegativeSamplingLoss", "negative_sampling_loss"]

_COMBINE = ("each", "mean")
_REDUCTION = ("sum", "mean")


def _softplus(x: xp.ndarray) -> xp.ndarray:
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|})."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _sigmoid(x: xp.ndarray) -> xp.ndarray:
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class NegativeSamplingLoss(Op):
    """The fused op; see the module docstring. Inputs: the tensors ``w_in`` (rows, dim), ``w_out`` (rows, dim)."""

    def __init__(self, inputs: xp.ndarray, targets: xp.ndarray, combine: str = "each", reduction: str = "sum",
                 sparse: bool = True):
        self.idx_in, self.idx_out = inputs, targets
        self.combine, self.reduction, self.sparse = combine, reduction, sparse

    def _scale(self) -> float:
        n, s = self.idx_in.shape
        if self.reduction == "sum":
            return 1.0
        return 1.0 / (n * s if self.combine == "each" else n)

    def forward(self, w_in, w_out):
        V = xp.take(w_in, self.idx_in, axis=0)   # (N, S, dim)
        U = xp.take(w_out, self.idx_out, axis=0)  # (N, T, dim)
        if self.combine == "each":
            if V.shape[1] == 1:
                s = xp.matmul(U, V[:, 0, :, None])[:, None, :, 0]  # (N, 1, T)
            else:
                s = xp.matmul(V, U.transpose(0, 2, 1))             # (N, S, T)
        else:
            V = V.mean(axis=1)                                      # h: (N, dim)
            s = xp.matmul(U, V[:, :, None])[..., 0]                 # (N, T)
        self.V, self.U = V, U
        x = s.copy()
        x[..., 0] *= -1                        # positives: −log σ(s) = softplus(−s); negatives: softplus(s)
        self.x = x
        return xp.asarray(_softplus(x).sum() * self._scale(), dtype=w_in.dtype)

    def _coef(self, g: float) -> xp.ndarray:
        """c = (σ(s) − y) · g · scale, from x = ±s: σ(s) − 1 = −σ(−s) in column 0, σ(s) elsewhere."""
        c = _sigmoid(self.x)
        c[..., 0] *= -1
        c *= c.dtype.type(g * self._scale())
        return c

    def _factors(self, g):
        """V (or h), U and c = (σ(s) − y) · ḡ · scale: the arrays saved by forward, or — when the gradient is
        itself being recorded — rebuilt from the inputs with tensor ops (so they stay differentiable)."""
        if plain_backward():
            return Tensor._make(self.V), Tensor._make(self.U), Tensor._make(self._coef(float(g._data)))
        V, U, s = self._tensors()
        return V, U, (sigmoid(s) - self._labels(s)) * (g * self._scale())

    def backward(self, g):
        """∂ℓ/∂v = c U and ∂ℓ/∂u = cᵀ V, scattered onto the looked-up rows (CBOW: ∂ℓ/∂h shared by its S inputs)."""
        V, U, c = self._factors(g)
        n, S = self.idx_in.shape
        gin = gout = None
        if self.needs[0]:
            if self.combine == "each":
                gv = _mm(c, U, False, False)                              # (N, S, dim)
            else:
                gh = squeeze(matmul(unsqueeze(c, 1), U), 1) * (1.0 / S)  # (N, dim)
                gv = expand(unsqueeze(gh, 1), n, S, gh.shape[-1])
            gin = self._to_grad(0, self.idx_in, gv)
        if self.needs[1]:
            if self.combine == "each" and S > 1:
                gu = _mm(c, V, True, False)                               # cᵀ V: (N, T, dim)
            else:  # one input row per example: an outer product
                cs = squeeze(c, 1) if self.combine == "each" else c
                vs = squeeze(V, 1) if self.combine == "each" else V
                if self._sparse_leaf(1):  # kept factored: the rows c[n, t] · v_n are never formed
                    shape = self.inputs[1].shape
                    return gin, RowSparseGrad.factored(self.idx_out, cs._data, xp.ascontiguousarray(vs._data), shape)
                gu = unsqueeze(cs, -1) * unsqueeze(vs, 1)
            gout = self._to_grad(1, self.idx_out, gu)
        return gin, gout

    def _sparse_leaf(self, i: int) -> bool:
        """Whether input i's gradient is row-sparse: a leaf matrix under a plain backward, sparse=True."""
        return self.sparse and self.inputs[i]._node is None and plain_backward()

    def _to_grad(self, i: int, idx: xp.ndarray, rows: Tensor):
        """The gradient of input i from its per-lookup rows: row-sparse for a leaf under a plain backward
        (the optimizer applies the rows directly), else the rows scattered into a dense matrix."""
        shape = self.inputs[i].shape
        if self._sparse_leaf(i):
            flat = idx.reshape(-1)
            return RowSparseGrad.make(flat, xp.ascontiguousarray(rows._data.reshape(flat.size, shape[1])), shape)
        return _scatter(idx, shape, rows)

    # ------------------------------------------------------------------ differentiable rules
    def _tensors(self):
        """V (or h), U and the scores s as lamina tensors of the op's inputs (graph-connected)."""
        w_in, w_out = self.inputs
        V = _lookup(self.idx_in, w_in)
        U = _lookup(self.idx_out, w_out)
        if self.combine == "each":
            s = matmul(V, transpose(U, 1, 2))
        else:
            V = tmean(V, 1)
            s = squeeze(matmul(U, unsqueeze(V, -1)), -1)
        return V, U, s

    def _labels(self, like: Tensor) -> Tensor:
        y = xp.zeros(like.shape, dtype=like.dtype)
        y[..., 0] = 1
        return Tensor._make(y)

    def jvp(self, t_in, t_out):
        V, U, s = self._tensors()
        ds = None
        if t_in is not None:
            dV = _lookup(self.idx_in, t_in)
            if self.combine == "each":
                ds = matmul(dV, transpose(U, 1, 2))
            else:
                ds = squeeze(matmul(U, unsqueeze(tmean(dV, 1), -1)), -1)
        if t_out is not None:
            dU = _lookup(self.idx_out, t_out)
            if self.combine == "each":
                term = matmul(V, transpose(dU, 1, 2))
            else:
                term = squeeze(matmul(dU, unsqueeze(V, -1)), -1)
            ds = term if ds is None else ds + term
        if ds is None:
            return None
        c = sigmoid(s) - self._labels(s)
        return tsum(c * ds) * self._scale()


def _lookup(idx: xp.ndarray, w: Tensor) -> Tensor:
    return run1(_Lookup(idx), w)


def _scatter(idx: xp.ndarray, shape: tuple, rows: Tensor) -> Tensor:
    return run1(_Scatter(idx, shape, None), rows)


def _index_array(x, name: str, rows: int) -> xp.ndarray:
    a = x._data if isinstance(x, Tensor) else xp.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"negative_sampling_loss: {name} must hold integer word indices, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ShapeError(f"negative_sampling_loss: {name} must be a non-empty 2-D array (examples, words), "
                         f"got shape {tuple(a.shape)}")
    if a.min() < 0 or a.max() >= rows:
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise IndexError(f"negative_sampling_loss: {name} holds index {bad}, outside the {rows} rows of the "
                         "embedding matrix")
    return a.astype(xp.intp, copy=False)


def negative_sampling_loss(w_in: Tensor, w_out: Tensor, inputs, targets, combine: str = "each",
                           reduction: str = "sum", sparse: bool = True) -> Tensor:
    """Negative-sampling loss of a batch (see the module docstring); a scalar tensor.

    Args:
        w_in, w_out: (rows, dim) input and output embedding matrices (same shape and dtype).
        inputs: (N, S) integer rows of ``w_in``.
        targets: (N, T) integer rows of ``w_out``; column 0 is the true target, columns 1.. negatives.
        combine: ``"each"`` (skip-gram: each input row against the targets) or ``"mean"`` (CBOW).
        reduction: ``"sum"`` (word2vec's per-example SGD steps) or ``"mean"`` over examples.
        sparse: a plain ``backward()`` into leaf matrices leaves ``RowSparseGrad`` gradients (the batch's rows
            only); ``False``: dense (rows, dim) gradients, for optimizers without sparse support.
    """
    if combine not in _COMBINE:
        raise ValueError(f"negative_sampling_loss: combine must be one of {_COMBINE}, got {combine!r}")
    if reduction not in _REDUCTION:
        raise ValueError(f"negative_sampling_loss: reduction must be one of {_REDUCTION}, got {reduction!r}")
    if w_in.ndim != 2 or w_out.ndim != 2 or w_in.shape[1] != w_out.shape[1]:
        raise ShapeError(f"negative_sampling_loss: w_in and w_out must be 2-D with the same dim, got "
                         f"{tuple(w_in.shape)} and {tuple(w_out.shape)}")
    if w_in.dtype != w_out.dtype or w_in.dtype.kind != "f":
        raise TypeError(f"negative_sampling_loss: w_in and w_out must share a floating dtype, got {w_in.dtype} "
                        f"and {w_out.dtype}")
    a = _index_array(inputs, "inputs", w_in.shape[0])
    b = _index_array(targets, "targets", w_out.shape[0])
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"negative_sampling_loss: inputs has {a.shape[0]} examples but targets has {b.shape[0]}")
    return run(NegativeSamplingLoss(a, b, combine, reduction, bool(sparse)), w_in, w_out)
