"""Special functions (``torch.special``): the error function family, log-gamma and polygamma, the modified
Bessel functions of order 0 and 1, sinc, and compositions of them (logit, xlogy, entr, ndtri, multigammaln).

The values of erf, erfinv, lgamma, polygamma and the Bessel functions come from the array library's
companion (``backend.special``: SciPy for NumPy); each op states its derivative in tensor ops, so second
derivatives and forward mode follow:

    erf′ = 2/√π e^{−x²}     erfinv′ = √π/2 e^{erfinv(x)²}     erfcx′ = 2x erfcx(x) − 2/√π
    lgamma′ = ψ              ψ⁽ⁿ⁾′ = ψ⁽ⁿ⁺¹⁾
    I₀′ = I₁                 I₁′ = I₀ − I₁/x (½ at 0)           sinc′ = (cos πx − sinc x)/x (0 at 0)
    i0e = e^{−|x|} I₀: i0e′ = i1e − sign(x) i0e,  i1e′ = i0e − i1e (sign(x) + 1/x)
    log Φ′ = φ/Φ = e^{−x²/2 − log Φ(x)}/√(2π)

The Bessel functions J₀, J₁, Y₀, Y₁, K₀, K₁ (and the scaled K) and Airy Ai have no derivative in PyTorch;
here they return constants (no gradient flows through them).
"""
from __future__ import annotations

import math

from ..autograd.op import ElementwiseUnary, run1, unary
from ..backend import special, xp
from ..tensor import Tensor
from .activations import NormalCdf
from .elementwise import _const, cos, exp, log, log1p, sign, where

__all__ = ["erf", "erfc", "erfinv", "erfcx", "lgamma", "digamma", "polygamma", "i0", "i1", "i0e", "i1e", "sinc",
           "logit", "xlogy", "xlog1py", "entr", "ndtr", "ndtri", "log_ndtr", "multigammaln", "spherical_bessel_j0",
           "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _call(name: str, *args):
    x = args[-1]
    return xp.asarray(special(name)(*args)).astype(x.dtype, copy=False)


def _zero_safe(x: Tensor, value_at_zero: float, fn) -> Tensor:
    """fn(x) where x ≠ 0 and ``value_at_zero`` at 0, with x = 1 fed to fn there (no 0/0 in any rule)."""
    zero = x._data == 0
    if not zero.any():
        return fn(x)
    return where(zero, value_at_zero, fn(where(zero, 1.0, x)))


# ------------------------------------------------------------------------------ error functions
class Erf(ElementwiseUnary):
    """erf x = 2/√π ∫₀ˣ e^{−t²} dt; erf′(x) = 2/√π e^{−x²}."""

    def forward(self, x):
        return _call("erf", x)

    def derivative(self, v):
        x = self.inputs[0]
        return v * exp(x * x * -1.0) * _TWO_OVER_SQRT_PI


class Erfc(ElementwiseUnary):
    """erfc x = 1 − erf x; erfc′(x) = −2/√π e^{−x²}."""

    def forward(self, x):
        return _call("erfc", x)

    def derivative(self, v):
        x = self.inputs[0]
        return v * exp(x * x * -1.0) * -_TWO_OVER_SQRT_PI


class Erfinv(ElementwiseUnary):
    """y = erf⁻¹(x) on (−1, 1); dy/dx = √π/2 e^{y²}."""

    reads_output = True
    domain = (-0.9, 0.9)

    def forward(self, x):
        return _call("erfinv", x)

    def derivative(self, v):
        y = self.output()
        return v * exp(y * y) * (1.0 / _TWO_OVER_SQRT_PI)


class Erfcx(ElementwiseUnary):
    """y = e^{x²} erfc x (scaled complementary error function); dy/dx = 2xy − 2/√π."""

    reads_output = True

    def forward(self, x):
        return _call("erfcx", x)

    def derivative(self, v):
        return v * (self.inputs[0] * self.output() * 2.0 - _TWO_OVER_SQRT_PI)


erf, erfc = unary(Erf), unary(Erfc)


# erfinv, lgamma, digamma and i0 have no ONNX operator, so they are not declared with ``unary`` (whose
# functions the ONNX export test runs): plain functions, attached as Tensor methods in ``ops/methods.py``
def erfinv(x: Tensor) -> Tensor:
    """erf⁻¹(x) on (−1, 1)."""
    return run1(Erfinv(), x)


def erfcx(x: Tensor) -> Tensor:
    """e^{x²} erfc x."""
    return run1(Erfcx(), x)


# ------------------------------------------------------------------------------ gamma family
class Lgamma(ElementwiseUnary):
    """log |Γ(x)|; its derivative is the digamma function ψ(x)."""

    domain = (0.5, 3.0)

    def forward(self, x):
        return _call("gammaln", x)

    def derivative(self, v):
        return v * digamma(self.inputs[0])


class Digamma(ElementwiseUnary):
    """ψ(x) = d log Γ(x)/dx; ψ′ = ψ⁽¹⁾ (trigamma)."""

    domain = (0.5, 3.0)

    def forward(self, x):
        return _call("digamma", x)

    def derivative(self, v):
        return v * polygamma(1, self.inputs[0])


class Polygamma(ElementwiseUnary):
    """ψ⁽ⁿ⁾(x) = dⁿψ(x)/dxⁿ; its derivative is ψ⁽ⁿ⁺¹⁾."""

    domain = (0.5, 3.0)

    def __init__(self, n: int):
        self.n = n

    def forward(self, x):
        return _call("polygamma", self.n, x)

    def derivative(self, v):
        return v * polygamma(self.n + 1, self.inputs[0])


def lgamma(x: Tensor) -> Tensor:
    """log |Γ(x)|."""
    return run1(Lgamma(), x)


def digamma(x: Tensor) -> Tensor:
    """ψ(x) = d log Γ(x)/dx."""
    return run1(Digamma(), x)


def polygamma(n: int, input: Tensor) -> Tensor:
    """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n = 0: ψ itself)."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    return digamma(input) if n == 0 else run1(Polygamma(n), input)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """log Γ_p(a) = p(p−1)/4 · log π + Σ_{j<p} log Γ(a − j/2) (multivariate log-gamma; needs a > (p−1)/2)."""
    if not isinstance(p, int) or p < 1:
        raise ValueError(f"multigammaln: p must be a positive int, got {p!r}")
    bad = input._data <= (p - 1) / 2
    if bad.any():
        raise ValueError(f"multigammaln: all elements must be greater than (p-1)/2 = {(p - 1) / 2}, "
                         f"got min {input._data.min()}")
    terms = input.unsqueeze(-1) - _const(xp.arange(p, dtype=input.dtype) * 0.5)
    return lgamma(terms).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


# ------------------------------------------------------------------------------ Bessel functions
class I0(ElementwiseUnary):
    """I₀(x), the modified Bessel function of the first kind of order 0; I₀′ = I₁."""

    def forward(self, x):
        return _call("i0", x)

    def derivative(self, v):
        return v * i1(self.inputs[0])


class I1(ElementwiseUnary):
    """I₁(x); I₁′(x) = I₀(x) − I₁(x)/x, ½ at 0."""

    def forward(self, x):
        return _call("i1", x)

    def derivative(self, v):
        x = self.inputs[0]
        return v * (i0(x) - _zero_safe(x, 0.5, lambda s: i1(s) / s))


class I0e(ElementwiseUnary):
    """e^{−|x|} I₀(x); its derivative is i1e(x) − sign(x) i0e(x)."""

    reads_output = True

    def forward(self, x):
        return _call("i0e", x)

    def derivative(self, v):
        x = self.inputs[0]
        return v * (i1e(x) - sign(x) * self.output())


class I1e(ElementwiseUnary):
    """e^{−|x|} I₁(x); its derivative is i0e(x) − i1e(x)(sign(x) + 1/x), ½ at 0."""

    reads_output = True

    def forward(self, x):
        return _call("i1e", x)

    def derivative(self, v):
        x = self.inputs[0]
        y = self.output()
        return v * (i0e(x) - y * sign(x) - _zero_safe(x, 0.5, lambda s: i1e(s) / s))


def i0(x: Tensor) -> Tensor:
    """I₀(x)."""
    return run1(I0(), x)


def i1(x: Tensor) -> Tensor:
    """I₁(x)."""
    return run1(I1(), x)


def i0e(x: Tensor) -> Tensor:
    """e^{−|x|} I₀(x)."""
    return run1(I0e(), x)


def i1e(x: Tensor) -> Tensor:
    """e^{−|x|} I₁(x)."""
    return run1(I1e(), x)


# ------------------------------------------------------------------------------ sinc
class Sinc(ElementwiseUnary):
    """sinc x = sin(πx)/(πx), 1 at 0; sinc′(x) = (cos πx − sinc x)/x, 0 at 0."""

    def forward(self, x):
        return xp.sinc(x)

    def derivative(self, v):
        return v * _zero_safe(self.inputs[0], 0.0, lambda s: (cos(s * math.pi) - sinc(s)) / s)


sinc = unary(Sinc)


# ------------------------------------------------------------------------------ compositions
def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(z/(1 − z)) with z = clamp(x, eps, 1 − eps) when eps is given (else z = x)."""
    z = input if eps is None else input.clamp(eps, 1.0 - eps)
    return log(z) - log1p(-z)


def _as_pair(input, other):
    a = input if isinstance(input, Tensor) else _const(input, other if isinstance(other, Tensor) else None)
    b = other if isinstance(other, Tensor) else _const(other, a)
    return a, b


def _x_log(input, other, log_fn, one: float) -> Tensor:
    x, y = _as_pair(input, other)
    zero = x._data == 0
    if not zero.any():
        return x * log_fn(y)
    y_safe = where(zero & ~xp.isnan(y._data), one, y)  # log_fn(one) = 0: no −inf·0 in value or gradient
    return where(zero & ~xp.isnan(y._data), 0.0, x * log_fn(y_safe))


def xlogy(input, other) -> Tensor:
    """x · log y, 0 where x = 0 (unless y is NaN). Where x = 0 the gradient in y is 0 (torch: x/y, NaN at y = 0)."""
    return _x_log(input, other, log, 1.0)


def xlog1py(input, other) -> Tensor:
    """x · log(1 + y), 0 where x = 0 (unless y is NaN)."""
    return _x_log(input, other, log1p, 0.0)


def entr(input: Tensor) -> Tensor:
    """−x log x for x > 0, 0 at 0 and −∞ for x < 0 (elementwise entropy)."""
    pos = input._data > 0
    safe = where(pos, input, 1.0)
    rest = xp.where(input._data == 0, 0.0, -xp.inf).astype(input.dtype)
    return where(pos, -safe * log(safe), _const(rest))


def ndtr(input: Tensor) -> Tensor:
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF."""
    return run1(NormalCdf(), input)


def ndtri(input: Tensor) -> Tensor:
    """Φ⁻¹(p) = √2 erf⁻¹(2p − 1), the standard normal quantile."""
    return erfinv(input * 2.0 - 1.0) * math.sqrt(2.0)


class LogNdtr(ElementwiseUnary):
    """log Φ(x), accurate far into the lower tail; its derivative is φ(x)/Φ(x) = e^{−x²/2 − log Φ(x)}/√(2π)."""

    reads_output = True
    domain = (-4.0, 3.0)

    def forward(self, x):
        return _call("log_ndtr", x)

    def derivative(self, v):
        x = self.inputs[0]
        return v * exp(x * x * -0.5 - self.output()) * (1.0 / math.sqrt(2.0 * math.pi))


def log_ndtr(input: Tensor) -> Tensor:
    """log Φ(x), the log of the standard normal CDF."""
    return run1(LogNdtr(), input)


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """j₀(x) = sin(x)/x, 1 at 0 (= sinc(x/π))."""
    return sinc(input * (1.0 / math.pi))


def _constant(scipy_name: str, name: str, doc: str):
    def function(input: Tensor) -> Tensor:
        return Tensor._make(_call(scipy_name, input._data))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc + " Not differentiable (as in PyTorch): the result is a constant."
    return function


bessel_j0 = _constant("j0", "bessel_j0", "J₀(x), the Bessel function of the first kind of order 0.")
bessel_j1 = _constant("j1", "bessel_j1", "J₁(x), the Bessel function of the first kind of order 1.")
bessel_y0 = _constant("y0", "bessel_y0", "Y₀(x), the Bessel function of the second kind of order 0.")
bessel_y1 = _constant("y1", "bessel_y1", "Y₁(x), the Bessel function of the second kind of order 1.")
modified_bessel_k0 = _constant("k0", "modified_bessel_k0", "K₀(x), the modified Bessel function of the second kind.")
modified_bessel_k1 = _constant("k1", "modified_bessel_k1", "K₁(x), the modified Bessel function of the second kind.")
scaled_modified_bessel_k0 = _constant("k0e", "scaled_modified_bessel_k0", "eˣ K₀(x).")
scaled_modified_bessel_k1 = _constant("k1e", "scaled_modified_bessel_k1", "eˣ K₁(x).")


def airy_ai(input: Tensor) -> Tensor:
    """Ai(x), the Airy function of the first kind. Not differentiable (as in PyTorch): the result is a constant."""
    return Tensor._make(xp.asarray(special("airy")(input._data)[0]).astype(input.dtype, copy=False))
