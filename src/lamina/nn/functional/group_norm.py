"""Group and instance normalisation, as ``torch.nn.functional.group_norm`` / ``instance_norm``.

Group norm splits the C channels of each sample into G groups and normalises each group over its
channels and positions:  x̂ = (x − μ_g)/√(σ²_g + ε) (biased σ²),  y = γ_c x̂ + β_c.
Instance norm is group norm with G = C: every (sample, channel) is normalised over its positions. With
running averages it moves them towards the batch mean of the instance statistics (the variance unbiased,
σ²·L/(L − 1)) and, with ``use_input_stats=False``, normalises with them instead.
"""
from __future__ import annotations

from ...errors import ShapeError
from ...ops.reduce import mean
from ...tensor import Tensor
from .normalization import _batch_norm_eval, _cshape, _update

__all__ = ["group_norm", "instance_norm"]


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    cs = _cshape(y)
    if weight is not None:
        y = y * weight.reshape(cs)
    return y + bias.reshape(cs) if bias is not None else y


def _check_channels(name: str, input: Tensor, *tensors) -> None:
    if input.ndim < 2:
        raise ShapeError(f"{name}: expected an input of shape (N, C, ...), got {tuple(input.shape)}")
    for label, t in tensors:
        if t is not None and tuple(t.shape) != (input.shape[1],):
            raise ShapeError(f"{name}: input has {input.shape[1]} channels on dim 1 (shape {tuple(input.shape)}) "
                             f"but {label} has shape {tuple(t.shape)}")


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each of ``num_groups`` channel groups of every sample over its channels and positions."""
    _check_channels("group_norm", input, ("weight", weight), ("bias", bias))
    n, c = input.shape[:2]
    if not isinstance(num_groups, int) or num_groups < 1 or c % num_groups:
        raise ValueError(f"group_norm: the {c} channels must split into num_groups equal groups, "
                         f"got num_groups={num_groups!r}")
    g = input.reshape(n, num_groups, -1)
    gc = g - mean(g, 2, keepdim=True)
    y = gc * (mean(gc * gc, 2, keepdim=True) + eps) ** -0.5
    return _affine(y.reshape(tuple(input.shape)), weight, bias)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise every (sample, channel) over its positions; see the module docstring for the running averages."""
    _check_channels("instance_norm", input, ("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias))
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var are needed when use_input_stats=False")
        return _batch_norm_eval(input, running_mean, running_var, weight, bias, eps)
    dims = tuple(range(2, input.ndim))
    size = input._data.size // max(input.shape[0] * input.shape[1], 1)
    if size <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per channel, got input of shape "
                         f"{tuple(input.shape)}")
    xc = input - mean(input, dims, keepdim=True)
    var = mean(xc * xc, dims, keepdim=True)
    if running_mean is not None:
        _update(running_mean, input._data.mean(axis=dims).mean(axis=0), momentum)
    if running_var is not None:
        _update(running_var, var._data.reshape(input.shape[:2]).mean(axis=0) * (size / (size - 1)), momentum)
    return _affine(xc * (var + eps) ** -0.5, weight, bias)
