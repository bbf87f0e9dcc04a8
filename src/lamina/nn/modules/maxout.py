"""``Maxout``: the maximum of k linear pieces, max(w₁ᵀx + b₁, …, w_kᵀx + b_k), per output unit.

It generalises ReLU (pieces 0 and x) and leaky ReLU, has no saturating regime, and costs k times
the parameters of a Linear layer. The k pieces are one Linear(in, out·k) followed by a max over k."""
from __future__ import annotations

from .. import functional as F
from .linear import Linear
from .module import Module

__all__ = ["Maxout"]


class Maxout(Module):
    def __init__(self, in_features: int, out_features: int, pieces: int = 2, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = int(in_features), int(out_features), int(pieces)
        self.linear = Linear(in_features, out_features * pieces, bias, device, dtype)

    def forward(self, input):
        # (..., out·k) -> max over each unit's k pieces (columns j·k .. j·k + k − 1)
        return F.maxout(self.linear(input), self.pieces)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}"

