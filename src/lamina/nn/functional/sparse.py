"""Embedding lookup and one-hot encoding.

``embedding(idx, W)`` returns the rows W[idx]. Its gradient is a scatter-add of the output gradient
into the looked-up rows (an unbuffered add.at), never a one-hot matrix product.
"""
from __future__ import annotations

from ...autograd.grad_mode import is_grad_enabled
from ...autograd.op import Op, per_sample_if_batched, run1
from ...backend import int64, xp
from ...errors import ShapeError
from ...ops import layers as _layers
from ...tensor import Tensor
from .._array import _array_of

__all__ = ["embedding", "one_hot"]


class _ScaleGrad(Op):
    """Identity forward; multiplies the gradient by a constant array (used by scale_grad_by_freq)."""

    def __init__(self, scale: xp.ndarray):
        self.scale = scale

    def forward(self, x):
        return x

    def backward(self, g):
        return (g * Tensor._make(self.scale),)

    def jvp(self, t):
        return t


def _indices(input, num: int, name: str) -> xp.ndarray:
    idx = _array_of(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got dtype {idx.dtype} (use .long())")
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = idx[(idx < 0) | (idx >= num)].reshape(-1)[0]
        raise IndexError(f"{name}: index {int(bad)} is out of range for an embedding with {num} rows "
                         f"(expected 0 .. {num - 1})")
    return idx


def _padding_index(padding_idx: int | None, num: int, where: str) -> int | None:
    """``padding_idx`` as a row 0..num-1 (a negative one counts from the end), or None."""
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise ValueError(f"{where}: padding_idx {padding_idx} must be within num_embeddings ({num})")
    return padding_idx % num


def _renorm_(weight: Tensor, idx: xp.ndarray, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, each looked-up row whose p-norm exceeds max_norm to norm max_norm (no gradient)."""
    w = weight._data
    rows = xp.unique(idx)
    norms = xp.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        r = rows[big]
        w[r] *= (max_norm / (norms[big] + 1e-7)).astype(w.dtype)[:, None]


@per_sample_if_batched(0, 'input')
def embedding(input, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) at integer ``input`` (any shape) -> input.shape + (dim,).

    ``padding_idx``: that row gets no gradient. ``max_norm``: rows looked up are first renormalised in place.
    ``scale_grad_by_freq``: each row's gradient is divided by its count in the batch. ``sparse=True``: when
    ``weight`` is a leaf, ``loss.backward()`` leaves a row-sparse gradient (``lamina.sparse.RowSparseGrad``:
    the looked-up rows only, O(len(input) · dim)) in ``weight.grad``, for ``optim.SGD``, ``optim.Adagrad``
    and ``optim.SparseAdam``; otherwise (and under ``create_graph``) the gradient is a dense
    (num_embeddings, dim) array filled by a row scatter."""
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}")
    num = weight.shape[0]
    idx = _indices(input, num, "embedding")
    padding_idx = _padding_index(padding_idx, num, "embedding")
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    out = _layers.embedding(idx, weight, padding_idx, bool(sparse))
    if scale_grad_by_freq and out.requires_grad and is_grad_enabled():
        counts = xp.bincount(idx.reshape(-1), minlength=num)
        scale = (1.0 / counts[idx]).astype(weight.dtype)[..., None]
        out = run1(_ScaleGrad(scale), out)
    return out


@per_sample_if_batched(0, 'tensor')
def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: shape tensor.shape + (num_classes,) (num_classes = max + 1 when -1)."""
    idx = _array_of(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor, got dtype {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise IndexError(f"one_hot: class values must be in 0 .. {num_classes - 1}, got range "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    out = xp.zeros(idx.shape + (num_classes,), dtype=int64)
    xp.put_along_axis(out, idx[..., None].astype(int64), 1, axis=-1)
    return Tensor._make(out)
