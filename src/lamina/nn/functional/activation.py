"""Activation functions, stateless, with PyTorch's names and defaults.

step(x) = [x > 0]; sigmoid σ(x) = 1/(1 + e⁻ˣ); tanh; relu max(0, x); leaky_relu max(ax, x);
elu x or α(eˣ − 1); selu λ·elu(x, α); silu/swish x·σ(βx); sine sin x; softplus log(1 + e^{βx})/β;
softmax e^{x_j}/Σ_k e^{x_k}; log_softmax; gelu xΦ(x); plus hardtanh, relu6, logsigmoid, softsign.
"""
from __future__ import annotations

from ...backend import float32, xp
from ...errors import ShapeError
from ...ops import activations as _act
from ...ops.elementwise import clamp, sin, where
from ...ops.elementwise import relu as _relu
from ...ops.elementwise import sigmoid as _sigmoid
from ...ops.elementwise import tanh as _tanh
from ...ops.reduce import amax
from ...ops.reduce import log_softmax as _log_softmax
from ...ops.reduce import softmax as _softmax
from ...tensor import Tensor

__all__ = ["step", "heaviside", "sigmoid", "tanh", "relu", "relu_", "leaky_relu", "elu", "selu", "silu", "swish",
           "sine", "softplus", "softmax", "log_softmax", "softmin", "gelu", "hardtanh", "relu6", "logsigmoid",
           "softsign", "prelu", "maxout", "SELU_ALPHA", "SELU_SCALE"]

# SELU's fixed point constants (Klambauer et al. 2017), as PyTorch uses them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def step(x: Tensor) -> Tensor:
    """Heaviside step, 1.0 where x > 0 else 0.0 (step(x) = [x > 0]), in x's dtype.

    Its derivative is 0 almost everywhere, so the result carries no gradient (like a comparison)."""
    return Tensor._make((x._data > 0).astype(x.dtype if x.dtype.kind == "f" else float32))


def heaviside(x: Tensor, values) -> Tensor:
    """``torch.heaviside``: 0 for x < 0, 1 for x > 0, ``values`` where x == 0 (no gradient)."""
    v = values._data if isinstance(values, Tensor) else values
    return Tensor._make(xp.heaviside(x._data, v).astype(x.dtype))


def sigmoid(x: Tensor) -> Tensor:
    return _sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return _tanh(x)


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x). ``inplace`` is accepted for PyTorch compatibility; lamina returns a new tensor."""
    return _relu(x)


def relu_(x: Tensor) -> Tensor:
    return x.relu_()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _act.leaky_relu(x, negative_slope)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _act.elu(x, alpha)


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """λ·(x if x > 0 else α(eˣ − 1)) with λ = 1.0507009873554804934193349852946 and
    α = 1.6732632423543772848170429916717 (self-normalising; pair it with lecun_normal_ init)."""
    return _act.elu(x, SELU_ALPHA, SELU_SCALE)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x) (SiLU, Swish with β = 1)."""
    return x * _sigmoid(x)


def swish(x: Tensor, beta=1.0) -> Tensor:
    """x·σ(βx); ``beta`` may be a float or a tensor (a learnable β gets its gradient)."""
    if not isinstance(beta, Tensor) and beta == 1.0:
        return x * _sigmoid(x)
    return x * _sigmoid(x * beta)


def sine(x: Tensor) -> Tensor:
    """sin(x) as an activation."""
    return sin(x)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^{βx})/β, and x where βx > threshold (PyTorch's rule); never overflows."""
    return _act.softplus(x, beta, threshold)


def softmax(x: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """e^{x_j}/Σ_k e^{x_k} along ``dim`` (stable: x − max first)."""
    return _softmax(x, _default_dim(x, dim), dtype)


def log_softmax(x: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """x − logsumexp(x) along ``dim`` (stable for any logits)."""
    return _log_softmax(x, _default_dim(x, dim), dtype)


def softmin(x: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    return _softmax(-x, _default_dim(x, dim), dtype)


def _default_dim(x: Tensor, dim):
    # PyTorch's legacy rule when dim is omitted: dim 0 for 0-, 1- and 3-D inputs, else dim 1.
    if dim is not None:
        return dim
    return 0 if x.ndim in (0, 1, 3) else 1


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (exact, uses scipy's erf) or its tanh approximation (``approximate='tanh'``)."""
    return _act.gelu(x, approximate)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    return clamp(x, min_val, max_val)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    return clamp(x, 0.0, 6.0)


def logsigmoid(x: Tensor) -> Tensor:
    """log σ(x) = −softplus(−x), stable for any x."""
    return -_act.softplus(-x, 1.0, None)


def softsign(x: Tensor) -> Tensor:
    return x / (x.abs() + 1.0)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else a·x with a learnable slope ``weight``: one value, or one per channel (dim 1)."""
    w = weight
    if w.numel() > 1:
        if input.ndim < 2 or input.shape[1] != w.numel():
            raise ValueError(f"prelu: {w.numel()} slopes need an input with {w.numel()} channels on dim 1, "
                             f"got shape {tuple(input.shape)}")
        shape = [1] * input.ndim
        shape[1] = w.numel()
        w = w.reshape(shape)
    return where(input._data > 0, input, input * w)


def maxout(input: Tensor, pieces: int, dim: int = -1) -> Tensor:
    """Maxout: the max over groups of ``pieces`` consecutive features along ``dim``; after a linear
    layer with out·k outputs this is max(w₁ᵀx + b₁, …, w_kᵀx + b_k) per unit. Ties share the gradient."""
    d = dim % input.ndim
    n = input.shape[d]
    if pieces < 1 or n % pieces:
        raise ShapeError(f"maxout: dim {dim} has size {n}, which is not a multiple of pieces={pieces}")
    shape = tuple(input.shape[:d]) + (n // pieces, pieces) + tuple(input.shape[d + 1:])
    return amax(input.reshape(shape), d + 1)


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """x · tanh(softplus(x)) (Misra 2019)."""
    return x * _tanh(_act.softplus(x, 1.0, 20.0))


__all__ += ["mish"]
