"""``Embedding``: a lookup table of ``num_embeddings`` vectors of size ``embedding_dim``; row i is token i's vector."""
from __future__ import annotations

from ...backend import as_dtype, check_device, get_default_dtype
from ...errors import ShapeError
from ...tensor import Parameter
from ...tensor import empty as _empty
from ...tensor import tensor as _new_tensor
from .. import functional as F
from .. import init
from ..functional.sparse import _padding_index
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """``Embedding(V, D)(idx)`` returns the rows W[idx] of shape idx.shape + (D,). W ~ N(0, 1) as in PyTorch
    (the ``padding_idx`` row starts at zero and receives no gradient).

    The gradient is a row scatter-add into W, never a one-hot product. ``sparse=True``: ``weight.grad`` is a
    row-sparse ``lamina.sparse.RowSparseGrad`` holding only the rows looked up in the batch, so a step of
    ``optim.SGD`` (without momentum), ``optim.Adagrad`` or ``optim.SparseAdam`` costs O(batch · dim), not
    O(num_embeddings · dim); the other optimizers refuse it with a clear error."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None, dtype=None):
        super().__init__()
        check_device(device)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        padding_idx = _padding_index(padding_idx, self.num_embeddings, "Embedding")
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            dt = as_dtype(dtype) or get_default_dtype()
            self.weight = Parameter(_empty(self.num_embeddings, self.embedding_dim, dtype=dt),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ShapeError(f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False) -> Embedding:
        if embeddings.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}")
        v, d = embeddings.shape
        return cls(v, d, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=_new_tensor(embeddings), _freeze=freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.sparse:
            s += ", sparse=True"
        return s
