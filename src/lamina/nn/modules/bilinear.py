"""``Bilinear``: y_o = x₁ᵀ A_o x₂ + b_o with weight A (out, in1, in2) and bias b (out,), both initialised
U(±1/√in1) as PyTorch's, from lamina's seeded generator."""
from __future__ import annotations

import math

from ...backend import check_device
from ...tensor import Parameter
from .. import functional as F
from .. import init
from .linear import _weight_and_bias
from .module import Module

__all__ = ["Bilinear"]


class Bilinear(Module):
    weight: Parameter
    bias: Parameter | None

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        check_device(device)
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        _weight_and_bias(self, (out_features, in1_features, in2_features), out_features, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
