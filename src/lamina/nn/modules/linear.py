"""``Linear`` (y = x Wᵀ + b, seed 001) and ``Identity``."""
from __future__ import annotations

import math

from ...backend import as_dtype, check_device, get_default_dtype
from ...ops import layers as _layers
from ...tensor import Parameter
from ...tensor import empty as _empty
from .. import init
from ..functional.linear import _check_dtypes, linear_shape_error
from .module import Module

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments (as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x Wᵀ + b with W of shape (out_features, in_features); input (..., in_features).

    Initialised as PyTorch: W ~ U(±1/√in_features) (kaiming_uniform_ with a = √5) and
    b ~ U(±1/√in_features), drawn from lamina's seeded generator."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device)
        dt = as_dtype(dtype) or get_default_dtype()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(_empty(self.out_features, self.in_features, dtype=dt))
        if bias:
            self.bias = Parameter(_empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return self._linear(input, False)

    def forward_relu(self, input):
        """relu(self(input)) as one fused node (used by ``MLP`` for a Linear followed by a ReLU)."""
        return self._linear(input, True)

    def _linear(self, input, relu: bool):
        w, b = self.weight, self.bias
        shape = input.shape
        if not shape or shape[-1] != self.in_features:
            raise linear_shape_error(f"Linear(in_features={self.in_features}, out_features={self.out_features})",
                                     shape, self.in_features, self.out_features)
        if input.dtype != w.dtype:
            _check_dtypes(input, w, b)
        return _layers.linear(input, w, b, relu)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
