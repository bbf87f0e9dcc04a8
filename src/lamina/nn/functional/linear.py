"""``linear(x, W, b) = x Wᵀ + b`` (f(x) = Wx + b applied to each row of x), as one fused op."""
from __future__ import annotations

import math

from ...errors import ShapeError
from ...ops import layers as _layers
from ...tensor import Tensor

__all__ = ["linear", "linear_relu", "linear_shape_error"]


def linear_shape_error(name: str, x_shape, in_features: int, out_features: int) -> ShapeError:
    """The error for an input whose last dim is not ``in_features``, with the likely fix.

    It answers "why is ``model(lamina.linspace(-1, 1, 256))`` an error when model starts with Linear(1, 10)?":
    a 1-D tensor of 256 values is read as ONE sample with 256 features, not as 256 samples of one feature."""
    shape = tuple(x_shape)
    msg = (f"{name}: expected input with last dim in_features={in_features} (shape (..., {in_features})), "
           f"got shape {shape}.")
    if len(shape) == 0:
        msg += f" A 0-d tensor has no feature dim; reshape it to (1, {in_features}) or (N, {in_features})."
    elif len(shape) == 1 and in_features == 1:
        n = shape[0]
        msg += (f" A 1-D tensor of {n} values is read as a single sample with {n} features, not as {n} samples. "
                f"For a batch of {n} scalars add the feature dim: x.unsqueeze(1) or x[:, None] gives shape ({n}, 1).")
    elif len(shape) == 1:
        msg += (f" A 1-D input is one sample; its length must be {in_features}"
                f" (for a batch, use shape (N, {in_features})).")
    elif in_features in shape:
        d = shape.index(in_features)
        msg += (f" Dim {d} has size {in_features}: the features must be the LAST dim "
                f"(e.g. x.transpose({d}, -1) or x.movedim({d}, -1)).")
    elif math.prod(shape[1:]) == in_features:
        msg += f" Flatten the per-sample dims first: x.flatten(1) gives shape ({shape[0]}, {in_features})."
    return ShapeError(msg + f" (weight has shape ({out_features}, {in_features}))")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weightᵀ + bias with one GEMM. ``weight``: (out_features, in_features); ``bias``: (out_features,)."""
    _check(input, weight, bias)
    return _layers.linear(input, weight, bias)


def linear_relu(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """relu(linear(input, weight, bias)) as one fused node (lamina extension; ``MLP`` uses it for Linear → ReLU)."""
    _check(input, weight, bias)
    return _layers.linear(input, weight, bias, relu=True)


def _check(input, weight, bias) -> None:
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    out_f, in_f = weight.shape
    if input.ndim == 0 or input.shape[-1] != in_f:
        raise linear_shape_error("linear", input.shape, in_f, out_f)
    if bias is not None and tuple(bias.shape) != (out_f,):
        raise ShapeError(f"linear: bias must have shape ({out_f},) to match weight {tuple(weight.shape)}, "
                         f"got {tuple(bias.shape)}")
    _check_dtypes(input, weight, bias)


def _check_dtypes(x: Tensor, w: Tensor, b) -> None:
    if x.dtype != w.dtype or (b is not None and b.dtype != w.dtype):
        bd = f", bias {b.dtype}" if b is not None else ""
        hint = " (convert the input with x.float(), or the model with model.double())" \
            if x.dtype.kind == "f" else " (integer inputs must be converted with x.float())"
        raise TypeError(f"linear: input dtype {x.dtype} does not match weight dtype {w.dtype}{bd}{hint}")
