"""``EmbeddingBag``: the sum, mean or max of the embedding rows of each bag of indices (see
``nn.functional.embedding_bag``); W ~ N(0, 1) as in PyTorch."""
from __future__ import annotations

from ...backend import as_dtype, check_device, get_default_dtype
from ...errors import ShapeError
from ...tensor import Parameter
from ...tensor import empty as _empty
from ...tensor import tensor as _new_tensor
from .. import init
from ..functional.embedding_bag import embedding_bag
from ..functional.sparse import _padding_index
from .module import Module

__all__ = ["EmbeddingBag"]


class EmbeddingBag(Module):
    """``EmbeddingBag(V, D, mode='mean')(input, offsets=None, per_sample_weights=None)``: (bags, D)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False, padding_idx=None,
                 device=None, dtype=None):
        super().__init__()
        check_device(device)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset
        self.padding_idx = _padding_index(padding_idx, self.num_embeddings, "EmbeddingBag")
        if _weight is None:
            dt = as_dtype(dtype) or get_default_dtype()
            self.weight = Parameter(_empty(self.num_embeddings, self.embedding_dim, dtype=dt))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ShapeError(f"EmbeddingBag: _weight has shape {tuple(_weight.shape)}, expected "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(_weight)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None) -> EmbeddingBag:
        if embeddings.ndim != 2:
            raise ShapeError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        v, d = embeddings.shape
        bag = cls(v, d, max_norm, norm_type, scale_grad_by_freq, mode, sparse, _new_tensor(embeddings),
                  include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
