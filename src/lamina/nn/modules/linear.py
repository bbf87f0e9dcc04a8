"""``Linear`` (y = x Wᵀ + b) and ``Identity``."""
from __future__ import annotations

from typing import Any

from ...backend import as_dtype, check_device, get_default_dtype
from ...ops import layers as _layers
from ...tensor import Parameter, Tensor
from ...tensor import empty as _empty
from .. import init
from ..functional.linear import _check_dtypes, linear_shape_error
from .module import Module

__all__ = ["Identity", "Linear"]


def _weight_and_bias(module: Module, weight_shape: tuple[int, ...], bias_size: int, bias: bool, dtype) -> None:
    """Register ``module.weight`` of ``weight_shape`` and ``module.bias`` of (bias_size,) (None when not
    ``bias``), uninitialised, in ``dtype`` (the default dtype when None)."""
    dt = as_dtype(dtype) or get_default_dtype()
    module.weight = Parameter(_empty(*weight_shape, dtype=dt))
    if bias:
        module.bias = Parameter(_empty(bias_size, dtype=dt))
    else:
        module.register_parameter("bias", None)


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments (as PyTorch's)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Linear(Module):
    """y = x Wᵀ + b with W of shape (out_features, in_features); input (..., in_features).

    Initialised as PyTorch: W ~ U(±1/√in_features) (kaiming_uniform_ with a = √5) and
    b ~ U(±1/√in_features) (``init.default_``), drawn from lamina's seeded generator."""

    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device)
        self.in_features, self.out_features = int(in_features), int(out_features)
        _weight_and_bias(self, (self.out_features, self.in_features), self.out_features, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return self._linear(input, False)

    def forward_relu(self, input: Tensor) -> Tensor:
        """relu(self(input)) as one fused node (used by ``MLP`` for a Linear followed by a ReLU)."""
        return self._linear(input, True)

    def _linear(self, input: Tensor, relu: bool) -> Tensor:
        w, b = self.weight, self.bias
        data = input._data if isinstance(input, Tensor) else None
        shape = input.shape if data is None else data.shape
        if not shape or shape[-1] != self.in_features:
            raise linear_shape_error(f"Linear(in_features={self.in_features}, out_features={self.out_features})",
                                     tuple(shape), self.in_features, self.out_features)
        if data is None or data.dtype is not w._data.dtype:
            _check_dtypes(input, w, b)
        return _layers.linear(input, w, b, relu)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
