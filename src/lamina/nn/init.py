"""Weight initialisers, in place, with PyTorch's names and formulas.

    normal_(σ)          N(mean, σ²)                       uniform_(a, b)   U(a, b)
    xavier_uniform_     U(±gain·√(6/(fan_in + fan_out)))  xavier_normal_   N(0, gain²·2/(fan_in + fan_out))
    kaiming_uniform_    U(±gain·√(3/fan))                 kaiming_normal_  N(0, gain²/fan)   (He et al.)
    lecun_normal_       N(0, 1/fan_in)   (for SELU)       lecun_uniform_   U(±√(3/fan_in))
    constant_(v)        e.g. ReLU biases at 0.01 (slightly positive, so ReLU units start active)
    zeros_, ones_, eye_, orthogonal_, trunc_normal_
    dirac_(groups)      W[g·(out/groups) + i, i, centre] = 1 (a convolution that passes its input through)
    default_(W, b)      PyTorch's Linear / Conv default: W by kaiming_uniform_(a=√5) = U(±1/√fan_in),
                        b ~ U(±1/√fan_in)

fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (receptive field = kernel size for
convolutions). Each draw comes from lamina's seeded generator (``lamina.manual_seed``) unless a
``generator`` is given, and is written in place without recording a graph.
"""
from __future__ import annotations

import math

from ..backend import Generator, rng, xp
from ..tensor import Tensor
from ._array import _writable_array

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_", "eye_", "dirac_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "lecun_normal_",
           "lecun_uniform_", "orthogonal_", "default_"]


def _fill(tensor: Tensor, values: object) -> Tensor:
    """Write values into the tensor's array in place (never recorded in a graph)."""
    _writable_array(tensor)[...] = values
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance stable: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for ReLU,
    √(2/(1 + a²)) for leaky ReLU (a = 0.01 by default), 3/4 for SELU."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
              "sigmoid", "identity")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (expected one of "
                     f"{', '.join(linear + ('tanh', 'relu', 'leaky_relu', 'selu'))})")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dims, got shape {tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None) -> Tensor:
    return _fill(tensor, rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None) -> Tensor:
    return _fill(tensor, rng(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Generator | None = None) -> Tensor:
    """N(mean, std²) restricted to [a, b]: draw, then redraw the values outside (vectorised rejection)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    g = rng(generator)
    out = g.normal(mean, std, tensor.shape)
    bad = (out < a) | (out > b)
    for _ in range(1000):
        if not bad.any():
            break
        out[bad] = g.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, xp.clip(out, a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def eye_(tensor: Tensor) -> Tensor:
    if tensor.ndim != 2:
        raise ValueError(f"eye_: expects a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _fill(tensor, xp.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The identity convolution: W[g·m + i, i, k₁/2, …] = 1 for i < min(m, C_in/groups), m = C_out/groups, in each
    group g; every other entry 0. ``tensor``: a 3-, 4- or 5-D convolution weight (C_out, C_in/groups, k…)."""
    shape = tuple(tensor.shape)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: expects a 3-, 4- or 5-D convolution weight, got shape {shape}")
    if groups < 1 or shape[0] % groups:
        raise ValueError(f"dirac_: the {shape[0]} output channels of shape {shape} do not split into {groups} groups")
    per_group = shape[0] // groups
    n = min(per_group, shape[1])
    values = xp.zeros(shape, dtype=tensor.dtype)
    i = xp.arange(n)
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        values[(g * per_group + i, i) + centre] = 1
    return _fill(tensor, values)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot: U(−a, a), a = gain·√(6/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot: N(0, σ²), σ = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """He: U(−b, b), b = gain·√(3/fan) with gain = calculate_gain(nonlinearity, a)."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """He: N(0, σ²), σ = gain/√fan."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def lecun_normal_(tensor: Tensor, generator: Generator | None = None) -> Tensor:
    """LeCun: N(0, 1/fan_in), the initialisation that makes SELU networks self-normalising."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in), generator)


def lecun_uniform_(tensor: Tensor, generator: Generator | None = None) -> Tensor:
    """LeCun: U(±√(3/fan_in)) (variance 1/fan_in)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    b = math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -b, b, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (rows flattened past dim 0)."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: expects at least 2 dims, got shape {tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor._data.size // rows
    flat = rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def default_(weight: Tensor, bias: Tensor | None = None, generator: Generator | None = None) -> None:
    """PyTorch's default initialisation of Linear and convolution layers, in place:
    W by kaiming_uniform_(a=√5), i.e. U(±1/√fan_in), then b ~ U(±1/√fan_in) (b = 0 when fan_in = 0),
    with fan_in = weight.shape[1]·receptive field."""
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound, generator)
