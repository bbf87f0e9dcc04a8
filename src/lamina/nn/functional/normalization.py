"""Normalisation: batch norm, layer norm, local response norm across and within channels
(AlexNet / Caffe), and L_p ``normalize``.

Batch norm over a mini-batch B with channels on dim 1:
    μ_B = mean of x,  σ²_B = mean of (x − μ_B)²  (biased),  x̂ = (x − μ_B)/√(σ²_B + ε),  y = γ x̂ + β;
running averages r ← (1 − m)·r + m·stat with momentum m = 0.1, where the running variance takes the
unbiased σ²_B·n/(n − 1), exactly as PyTorch. In eval mode the running averages replace μ_B, σ²_B.

Local response norm across channels (PyTorch's formula):
    b_c = a_c / (k + α/n · Σ_{c' ∈ window(c)} a_{c'}²)^β,  window of n channels, zero-padded
    (n//2 before c, (n−1)//2 after).
Within a channel (Caffe's WITHIN_CHANNEL): the same with an n×n spatial window of the same
channel, zero-padded, and α/n² in place of α/n.
"""
from __future__ import annotations

from ...backend import xp
from ...errors import ShapeError
from ...ops import layers as _layers
from ...ops.elementwise import clamp
from ...ops.reduce import mean, norm
from ...ops.shape import reshape
from ...tensor import Tensor
from .._array import _writable_array

__all__ = ["batch_norm", "layer_norm", "local_response_norm", "local_response_norm_within_channel", "normalize"]


def _cshape(x: Tensor):
    shape = [1] * x.ndim
    shape[1] = x.shape[1]
    return tuple(shape)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every dim but dim 1. With ``training=True`` it uses batch statistics and
    updates ``running_mean`` / ``running_var`` in place (when given); otherwise it uses the running ones."""
    _check_batch_norm(input, running_mean, running_var, weight, bias)
    if training:
        return _batch_norm_train(input, running_mean, running_var, weight, bias, momentum, eps)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    return _batch_norm_eval(input, running_mean, running_var, weight, bias, eps)


def _check_batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                      weight: Tensor | None, bias: Tensor | None) -> None:
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input of shape (N, C, ...), got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: input has {c} channels on dim 1 (shape {tuple(input.shape)}) but "
                             f"{name} has shape {tuple(t.shape)}")
    if (weight is None) != (bias is None):
        raise ValueError("batch_norm: give both weight and bias, or neither")


def _batch_norm_train(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                      weight: Tensor | None, bias: Tensor | None, momentum: float, eps: float) -> Tensor:
    """Normalise with the batch's μ_B, σ²_B; move the running averages towards μ_B and σ²_B·n/(n − 1)."""
    n = input._data.size // max(input.shape[1], 1)
    if n <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                         f"{tuple(input.shape)} (use a batch of at least 2, or model.eval())")
    y, bm, bv = _layers.batch_norm_train(input, weight, bias, eps)
    if running_mean is not None:
        _update(running_mean, bm, momentum)
    if running_var is not None:
        _update(running_var, bv * (n / (n - 1)), momentum)
    return y


def _batch_norm_eval(input: Tensor, running_mean: Tensor, running_var: Tensor, weight: Tensor | None,
                     bias: Tensor | None, eps: float) -> Tensor:
    """y = (x − r_μ)·γ/√(r_σ² + ε) + β with the running averages r (constants: no gradient to them)."""
    cs = _cshape(input)
    rstd = 1.0 / xp.sqrt(running_var._data.astype(input.dtype, copy=False) + input.dtype.type(eps))
    centred = input - Tensor._make(running_mean._data.astype(input.dtype, copy=False).reshape(cs))
    scale = Tensor._make(rstd.reshape(cs))
    if weight is not None:
        scale = reshape(weight, cs) * scale
    y = centred * scale
    return y + reshape(bias, cs) if bias is not None else y


def _update(buf: Tensor, stat: xp.ndarray, momentum: float) -> None:
    """r ← (1 − m)·r + m·stat, in place."""
    d = _writable_array(buf)
    d *= d.dtype.type(1.0 - momentum)
    d += (momentum * stat).astype(d.dtype, copy=False)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last len(normalized_shape) dims of each sample: (x − μ)/√(σ² + ε)·γ + β."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k:]) != shape:
        raise ShapeError(f"layer_norm: input of shape {tuple(input.shape)} does not end with normalized_shape {shape}")
    dims = tuple(range(input.ndim - k, input.ndim))
    xc = input - mean(input, dims, keepdim=True)
    var = mean(xc * xc, dims, keepdim=True)
    y = xc * (var + eps) ** -0.5
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """LRN across channels (PyTorch's formula): a / (k + α/n · Σ_{n neighbouring channels} a²)^β."""
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected an input of shape (N, C, ...) with at least 3 dims, "
                         f"got {tuple(input.shape)}")
    s = _layers.window_sum(input * input, 1, int(size))
    return input / (s * (alpha / size) + k) ** beta


def local_response_norm_within_channel(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                                       k: float = 1.0) -> Tensor:
    """LRN within each channel (Caffe's WITHIN_CHANNEL): a / (k + α/n² · Σ_{n×n window} a²)^β,
    the window centred on the pixel in the same channel, zero-padded at the borders."""
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm_within_channel: expected an input of shape (N, C, H, W) or "
                         f"(C, H, W), got {tuple(input.shape)}")
    n = int(size)
    s = _layers.window_sum(_layers.window_sum(input * input, -2, n), -1, n)
    return input / (s * (alpha / (n * n)) + k) ** beta


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``."""
    return input / clamp(norm(input, p, dim, keepdim=True), min=eps)
