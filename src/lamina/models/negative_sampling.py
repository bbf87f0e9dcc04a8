"""The word2vec negative-sampling loss as ONE differentiable lamina op (seed 004, Embeddings).

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
∂ℓ/∂v = c · U, ∂ℓ/∂u = cᵀ · V.  In a plain ``loss.backward()`` into leaf matrices the result is a
``RowSparseGrad`` per matrix (rows of the batch only: O(N·(S+T)·dim), whatever the vocabulary);
under ``create_graph`` or forward mode the same formulas are written with lamina tensor ops (dense
gradients, differentiable again).
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import Op, run, run1
from ..errors import ShapeError
from ..ops.elementwise import sigmoid
from ..ops.layers import Embedding as _Lookup
from ..ops.layers import EmbeddingScatter as _Scatter
from ..ops.layers import plain_backward
from ..ops.linalg import matmul
from ..ops.reduce import mean as tmean
from ..ops.reduce import sum as tsum
from ..ops.shape import expand, squeeze, transpose, unsqueeze
from ..optim._sparse import coalesce_rows
from ..sparse import RowSparseGrad
from ..tensor import Tensor

__all__ = ["NegativeSamplingLoss", "negative_sampling_loss"]

_COMBINE = ("each", "mean")
_REDUCTION = ("sum", "mean")


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|})."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class NegativeSamplingLoss(Op):
    """The fused op; see the module docstring. Inputs: the tensors ``w_in`` (rows, dim), ``w_out`` (rows, dim)."""

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, combine: str = "each", reduction: str = "sum",
                 sparse: bool = True):
        self.idx_in, self.idx_out = inputs, targets
        self.combine, self.reduction, self.sparse = combine, reduction, sparse

    def _scale(self) -> float:
        n, s = self.idx_in.shape
        if self.reduction == "sum":
            return 1.0
        return 1.0 / (n * s if self.combine == "each" else n)

    def forward(self, w_in, w_out):
        self.in_shape, self.out_shape = w_in.shape, w_out.shape
        V = np.take(w_in, self.idx_in, axis=0)   # (N, S, dim)
        U = np.take(w_out, self.idx_out, axis=0)  # (N, T, dim)
        if self.combine == "each":
            if V.shape[1] == 1:
                s = np.matmul(U, V[:, 0, :, None])[:, None, :, 0]  # (N, 1, T)
            else:
                s = np.matmul(V, U.transpose(0, 2, 1))             # (N, S, T)
        else:
            V = V.mean(axis=1)                                      # h: (N, dim)
            s = np.matmul(U, V[:, :, None])[..., 0]                 # (N, T)
        self.V, self.U = V, U
        x = s.copy()
        x[..., 0] *= -1                        # positives: −log σ(s) = softplus(−s); negatives: softplus(s)
        self.x = x
        return np.asarray(_softplus(x).sum() * self._scale(), dtype=w_in.dtype)

    def _coef(self, g: float) -> np.ndarray:
        """c = (σ(s) − y) · g · scale, from x = ±s: σ(s) − 1 = −σ(−s) in column 0, σ(s) elsewhere."""
        c = _sigmoid(self.x)
        c[..., 0] *= -1
        c *= c.dtype.type(g * self._scale())
        return c

    def backward(self, g):
        if not plain_backward():
            return self._graph_backward(g)
        c = self._coef(float(g._data))
        V, U = self.V, self.U
        n, S = self.idx_in.shape
        gin = gout = None
        if self.needs[0]:
            if self.combine == "each":
                gv = np.matmul(c, U)                                            # (N, S, dim)
            else:
                gh = np.matmul(c[:, None, :], U)[:, 0, :] * c.dtype.type(1.0 / S)  # (N, dim)
                gv = np.broadcast_to(gh[:, None, :], (n, S, gh.shape[1]))
            gin = self._to_grad(0, self.idx_in, gv, self.in_shape)
        if self.needs[1]:
            if self.combine == "each" and S == 1:
                gu = c[:, 0, :, None] * V[:, 0, None, :]
            elif self.combine == "each":
                gu = np.matmul(c.transpose(0, 2, 1), V)                         # (N, T, dim)
            else:
                gu = c[:, :, None] * V[:, None, :]
            gout = self._to_grad(1, self.idx_out, gu, self.out_shape)
        return gin, gout

    def _to_grad(self, i: int, idx: np.ndarray, rows: np.ndarray, shape: tuple):
        flat = idx.reshape(-1)
        rows = rows.reshape(flat.size, shape[1])
        if self.sparse and self.inputs[i]._node is None:  # a leaf: the optimizer applies the rows directly
            return RowSparseGrad.make(flat, np.ascontiguousarray(rows), shape)
        r, summed = coalesce_rows(flat, rows)  # dense gradient: rows summed once, then placed
        dense = np.zeros(shape, dtype=rows.dtype)
        dense[r] = summed
        return Tensor._make(dense)

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
        y = np.zeros(like.shape, dtype=like.dtype)
        y[..., 0] = 1
        return Tensor._make(y)

    def _graph_backward(self, g):
        V, U, s = self._tensors()
        c = (sigmoid(s) - self._labels(s)) * (g * self._scale())
        w_in, w_out = self.inputs
        n, S = self.idx_in.shape
        gin = gout = None
        if self.needs[0]:
            if self.combine == "each":
                gv = matmul(c, U)
            else:
                gh = squeeze(matmul(unsqueeze(c, 1), U), 1) * (1.0 / S)
                gv = expand(unsqueeze(gh, 1), n, S, gh.shape[-1])
            gin = _scatter(self.idx_in, w_in.shape, gv)
        if self.needs[1]:
            if self.combine == "each":
                gu = matmul(transpose(c, 1, 2), V)
            else:
                gu = unsqueeze(c, -1) * unsqueeze(V, 1)
            gout = _scatter(self.idx_out, w_out.shape, gu)
        return gin, gout

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


def _lookup(idx: np.ndarray, w: Tensor) -> Tensor:
    return run1(_Lookup(idx), w)


def _scatter(idx: np.ndarray, shape: tuple, rows: Tensor) -> Tensor:
    return run1(_Scatter(idx, shape, None), rows)


def _index_array(x, name: str, rows: int) -> np.ndarray:
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"negative_sampling_loss: {name} must hold integer word indices, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ShapeError(f"negative_sampling_loss: {name} must be a non-empty 2-D array (examples, words), "
                         f"got shape {a.shape}")
    if a.min() < 0 or a.max() >= rows:
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise IndexError(f"negative_sampling_loss: {name} holds index {bad}, outside the {rows} rows of the "
                         "embedding matrix")
    return a.astype(np.intp, copy=False)


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
