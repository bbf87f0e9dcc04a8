"""Activation primitives beyond the core's relu/sigmoid/tanh.

Each op's backward multiplies the incoming gradient by f'(x) (x̄ = f'(x) ∘ ȳ),
written with tensor ops so that second derivatives work.
"""
from __future__ import annotations

from ..autograd.op import ElementwiseUnary, run1
from ..backend import special, xp
from ..tensor import Tensor
from .conv import out_like
from .elementwise import exp, sigmoid, tanh, where


def _mask(cond: xp.ndarray, dtype) -> Tensor:
    return Tensor._make(cond.astype(dtype))


class LeakyRelu(ElementwiseUnary):
    """f(x) = x for x > 0, a·x otherwise; f'(x) = 1 for x > 0, a otherwise."""

    def __init__(self, slope: float):
        self.slope = slope

    def forward(self, x):
        y = xp.multiply(x, x.dtype.type(self.slope), out=out_like(x))
        if 0.0 < self.slope <= 1.0:  # then f(x) = max(x, a·x): two passes instead of a mask and a where
            return xp.maximum(x, y, out=y)
        return xp.where(x > 0, x, y)

    def _deriv(self):
        x = self.inputs[0]._data
        a = x.dtype.type(self.slope)
        if 0.0 <= self.slope <= 1.0:  # f'(x) = max([x > 0], a): two vectorised passes (where is ~4x slower)
            d = (x > 0).astype(x.dtype)
            return Tensor._make(xp.maximum(d, a, out=d))
        return Tensor._make(xp.where(x > 0, x.dtype.type(1), a))

    def derivative(self, v):
        return v * self._deriv()


class Elu(ElementwiseUnary):
    """f(x) = scale·x for x > 0, scale·α·(eˣ − 1) otherwise. ELU has scale 1; SELU (self-normalising) has
    λ = 1.0507009873554804934193349852946 and α = 1.6732632423543772848170429916717."""

    def __init__(self, alpha: float, scale: float = 1.0):
        self.alpha, self.scale = alpha, scale

    def forward(self, x):
        t = x.dtype.type
        neg = xp.expm1(xp.minimum(x, 0)) * t(self.alpha)
        out = xp.where(x > 0, x, neg)
        if self.scale != 1.0:
            out *= t(self.scale)
        return out

    def _deriv(self):
        x = self.inputs[0]
        pos = x._data > 0
        return where(pos, self.scale, exp(where(pos, 0.0, x)) * (self.scale * self.alpha))

    def derivative(self, v):
        return v * self._deriv()


class Softplus(ElementwiseUnary):
    """f(x) = log(1 + e^{βx})/β, and x itself where βx > threshold (PyTorch's rule); computed as
    (max(βx, 0) + log1p(e^{−|βx|}))/β, which never overflows. f'(x) = σ(βx)."""

    def __init__(self, beta: float = 1.0, threshold: float | None = 20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        t = x.dtype.type
        z = x * t(self.beta) if self.beta != 1 else x
        out = xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))
        if self.beta != 1:
            out /= t(self.beta)
        if self.threshold is not None:
            out = xp.where(z > self.threshold, x, out)
        return out

    def _deriv(self):
        x = self.inputs[0]
        s = sigmoid(x * self.beta if self.beta != 1 else x)
        if self.threshold is None:
            return s
        return where(x._data * self.beta > self.threshold, 1.0, s)

    def derivative(self, v):
        return v * self._deriv()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return run1(LeakyRelu(float(negative_slope)), x)


def elu(x: Tensor, alpha: float = 1.0, scale: float = 1.0) -> Tensor:
    return run1(Elu(float(alpha), float(scale)), x)


def softplus(x: Tensor, beta: float = 1.0, threshold: float | None = 20.0) -> Tensor:
    return run1(Softplus(float(beta), threshold), x)


class GeluTanh(ElementwiseUnary):
    """GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""

    C = float(xp.sqrt(2.0 / xp.pi))

    def forward(self, x):
        t = x.dtype.type
        inner = t(self.C) * (x + t(0.044715) * x * x * x)
        return t(0.5) * x * (1 + xp.tanh(inner))

    def _deriv(self):
        x = self.inputs[0]
        inner = (x + x * x * x * 0.044715) * self.C
        th = tanh(inner)
        return (th + 1.0) * 0.5 + x * 0.5 * (1.0 - th * th) * self.C * (x * x * (3 * 0.044715) + 1.0)

    def derivative(self, v):
        return v * self._deriv()


class NormalCdf(ElementwiseUnary):
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF; Φ'(x) = e^{−x²/2}/√(2π)."""

    def forward(self, x):
        return (0.5 * (1.0 + special("erf")(x / xp.sqrt(2.0)))).astype(x.dtype, copy=False)

    def _deriv(self):
        x = self.inputs[0]
        return exp(x * x * -0.5) * float(1.0 / xp.sqrt(2 * xp.pi))

    def derivative(self, v):
        return v * self._deriv()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU. ``approximate='none'`` uses erf from SciPy (install scipy); ``'tanh'`` needs only NumPy."""
    if approximate == "tanh":
        return run1(GeluTanh(), x)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    try:
        special("erf")
    except ImportError:
        raise ImportError("gelu(approximate='none') needs scipy for erf; install scipy or use "
                          "gelu(x, approximate='tanh')") from None
    return x * run1(NormalCdf(), x)  # x Φ(x) = ½x(1 + erf(x/√2))
