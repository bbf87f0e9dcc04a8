"""Elementwise ops: arithmetic, math functions, comparisons, ``where``, ``clamp``, casts.

Each op: forward on arrays, backward (x̄ = f'(x) ∘ ȳ) and jvp (f'(x) ∘ x')
written with tensor ops. Broadcasting is free here: the engine sums a gradient
back to its input's shape. Result dtypes follow ``lamina._promote`` (PyTorch's rule): the
operands are brought to it by ``promote`` (two tensors) or ``_scalar_operand`` (a tensor and a
Python number) before the array library computes.
"""
from __future__ import annotations

import numbers

from .._promote import scalar_dtype
from ..autograd.op import Cast, Elementwise, ElementwiseUnary, apply_raw, cast, promote, run, run1, unary  # noqa: F401  (Cast, cast re-exported)
from ..backend import get_default_dtype, xp
from ..errors import broadcast_error
from ..tensor import Tensor
from .conv import BufferCache, out_like

_BIG = BufferCache.min_bytes  # results at least this large go to reused buffers (``out_like``)


def _const(x, like: Tensor | None = None) -> Tensor:
    """A non-differentiable tensor from a scalar/array (dtype of ``like`` for Python floats)."""
    if isinstance(x, Tensor):
        return x
    arr = xp.asarray(x)
    if like is not None and arr.dtype.kind == "f" and like.dtype.kind == "f" and not isinstance(x, xp.ndarray):
        arr = arr.astype(like.dtype)
    elif arr.dtype == xp.float64 and not isinstance(x, xp.ndarray):
        arr = arr.astype(get_default_dtype())
    return Tensor._make(arr)


def _mask(cond_array, dtype) -> Tensor:
    return Tensor._make(cond_array.astype(dtype))


_SCALARS = (numbers.Number, xp.generic)


def _is_scalar(x) -> bool:
    return isinstance(x, _SCALARS) and not isinstance(x, xp.ndarray)


def _scalar_operand(t: Tensor, s, floating: bool = False) -> Tensor:
    """The tensor operand of ``t ⊕ s`` for a Python number ``s``: a float or complex ``s`` (or a floating
    op, ``floating``) turns an integer or bool tensor into the default float (complex) dtype; otherwise
    the tensor's dtype stands (the array library treats ``s`` as weak, as PyTorch does)."""
    kind = t._data.dtype.kind
    if kind in "iub":
        if floating or isinstance(s, (float, complex)):
            return cast(t, scalar_dtype(s) if isinstance(s, complex) else get_default_dtype())
        if kind == "b" and not isinstance(s, bool):  # bool ⊕ int → int64
            return cast(t, scalar_dtype(s))
    return t


def binary(name, cls, scls, rscls, floating=False):
    """The function ``f(a, b)`` of a binary elementwise op: ``cls`` on two tensors (brought to their result
    dtype first), ``scls(s)`` on ``a ⊕ s`` and ``rscls(s)`` on ``s ⊕ b`` for a Python number ``s``.
    The common cases (two tensors of one dtype; a floating tensor and a float) run without further calls."""

    def function(a, b):
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                da = a._data.dtype
                if da is not b._data.dtype or floating and da.kind not in "fc":
                    a, b = promote(a, b, floating)
                try:
                    return run(cls(), a, b)
                except ValueError as e:
                    _reraise(name, a, b, e)
            if b.__class__ is float and a._data.dtype.kind == "f":  # x ⊕ 0.5 keeps x's float dtype
                return run1(scls(b), a)
        return _binary_mixed(name, cls, scls, rscls, a, b, floating)

    function.__name__ = function.__qualname__ = name
    return function


def _binary_mixed(name, cls, scls, rscls, a, b, floating):
    """``a ⊕ b`` when one side is a number (the scalar op, ``scls`` or reflected ``rscls``) or not a tensor."""
    if isinstance(a, Tensor):
        if _is_scalar(b):
            s = b.item() if isinstance(b, xp.generic) else b
            return run1(scls(s), _scalar_operand(a, s, floating))
        return _run2(name, cls(), *promote(a, _const(b, a), floating))
    if _is_scalar(a):
        s = a.item() if isinstance(a, xp.generic) else a
        return run1(rscls(s), _scalar_operand(b, s, floating))
    return _run2(name, cls(), *promote(_const(a, b), b, floating))


def _run2(name, op, a, b):
    try:
        return run(op, a, b)
    except ValueError as e:
        _reraise(name, a, b, e)


def _reraise(name, a, b, e):
    """A ValueError of ``name`` on a and b: a clear broadcast error when the shapes do not broadcast, else e."""
    try:
        xp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise broadcast_error(name, a.shape, b.shape) from None
    raise e


# ---------------------------------------------------------------------------- arithmetic
class Add(Elementwise):
    reads_values = False

    def forward(self, a, b):
        if a.nbytes < _BIG:  # small: NumPy's own allocation (no call, no cache lookup)
            return a + b
        return xp.add(a, b, out=out_like(a, b))

    def partial(self, i, v):
        return v

    def backward(self, g):
        return g, g


class AddScalar(ElementwiseUnary):
    reads_values = False

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return x + self.s

    def derivative(self, v):
        return v


class Sub(Elementwise):
    reads_values = False

    def forward(self, a, b):
        if a.nbytes < _BIG:
            return a - b
        return xp.subtract(a, b, out=out_like(a, b))

    def partial(self, i, v):
        return -v if i else v


class RSubScalar(ElementwiseUnary):
    """s - x"""
    reads_values = False

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return self.s - x

    def derivative(self, v):
        return -v


class SubScalar(AddScalar):
    def __init__(self, s):
        self.s = -s


class Mul(Elementwise):
    """∂(ab)/∂a = b, ∂(ab)/∂b = a."""

    def forward(self, a, b):
        if a.nbytes < _BIG:
            return a * b
        return xp.multiply(a, b, out=out_like(a, b))

    def partial(self, i, v):
        return v * self.inputs[1 - i]

    def reads_input(self, i):
        return self.needs[1 - i]  # a is read only for b̄ = a ∘ ȳ, b only for ā


class MulScalar(ElementwiseUnary):
    reads_values = False

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return x * self.s

    def derivative(self, v):
        return v * self.s


class Div(Elementwise):
    """∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −(a/b)/b."""
    reads_output = True

    def forward(self, a, b):
        return a / b

    def partial(self, i, v):
        b = self.inputs[1]
        return -v * self.output() / b if i else v / b


class DivScalar(ElementwiseUnary):
    reads_values = False

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return x / self.s

    def derivative(self, v):
        return v / self.s


class RDivScalar(ElementwiseUnary):
    """s / x, with d(s/x)/dx = −(s/x)/x."""
    reads_output = True

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return self.s / x

    def derivative(self, v):
        return -v * self.output() / self.inputs[0]


class Pow(Elementwise):
    """∂(aᵇ)/∂a = b aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ log a (taken as 0 where a ≤ 0)."""
    reads_output = True

    def forward(self, a, b):
        return a**b

    def partial(self, i, v):
        a, b = self.inputs
        if i == 0:
            return v * b * a ** (b - 1)
        return v * self.output() * log(where(a._data > 0, a, 1.0))


class PowScalar(ElementwiseUnary):
    """x ** s, with d(xˢ)/dx = s xˢ⁻¹."""

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        s = self.s
        if s == 2:
            return x * x
        if s == 0.5:
            return xp.sqrt(x)
        return x**s

    def derivative(self, v):
        (x,) = self.inputs
        s = self.s
        if s == 1:
            return v
        if s == 2:
            return v * (x * 2.0)
        return v * (x ** (s - 1) * s)


class RPowScalar(ElementwiseUnary):
    """s ** x, with d(sˣ)/dx = sˣ log s."""
    reads_output = True

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return xp.power(self.s, x, dtype=x.dtype if x.dtype.kind == "f" else None)

    def derivative(self, v):
        return v * self.output() * float(xp.log(self.s))


add2 = binary("add", Add, AddScalar, AddScalar)  # a + b (the operator; ``add`` takes alpha=)
_sub2 = binary("sub", Sub, SubScalar, RSubScalar)
div2 = binary("div", Div, DivScalar, RDivScalar, floating=True)  # a / b (the operator; ``div`` takes rounding_mode=)


def add(a, b, alpha=1):
    if alpha != 1:
        b = b * alpha
    return add2(a, b)


def sub(a, b, alpha=1):
    if alpha != 1:
        b = b * alpha
    if (isinstance(a, Tensor) and a._data.dtype.kind == "b") or (isinstance(b, Tensor) and b._data.dtype.kind == "b"):
        raise RuntimeError("sub: subtraction (the - operator) of a bool tensor is not supported; "
                           "use logical_xor() or ~ (logical_not) instead")
    return _sub2(a, b)


mul = binary("mul", Mul, MulScalar, MulScalar)


def div(a, b, rounding_mode=None):
    if rounding_mode is not None:
        return floor_divide(a, b) if rounding_mode == "floor" else _nograd(xp.trunc, div(a, b))
    return div2(a, b)


pow = binary("pow", Pow, PowScalar, RPowScalar)


true_divide = divide = div
multiply, subtract = mul, sub


class Neg(ElementwiseUnary):
    reads_values = False

    def forward(self, x):
        return -x

    def derivative(self, v):
        return -v


def neg(x):
    return run1(Neg(), x)


negative = neg


# ---------------------------------------------------------------------------- unary math
class Exp(ElementwiseUnary):
    """d eˣ/dx = eˣ."""
    reads_output = True

    def forward(self, x):
        return xp.exp(x)

    def derivative(self, v):
        return v * self.output()


exp = unary(Exp)


class Log(ElementwiseUnary):
    """d log x/dx = 1/x."""

    domain = (0.2, 3.0)

    def forward(self, x):
        return xp.log(x)

    def derivative(self, v):
        return v / self.inputs[0]


log = unary(Log)


class Log1p(ElementwiseUnary):
    """d log(1 + x)/dx = 1/(1 + x)."""

    domain = (-0.5, 2.0)

    def forward(self, x):
        return xp.log1p(x)

    def derivative(self, v):
        return v / (self.inputs[0] + 1.0)


log1p = unary(Log1p)


class Expm1(ElementwiseUnary):
    """d (eˣ − 1)/dx = y + 1."""
    reads_output = True

    def forward(self, x):
        return xp.expm1(x)

    def derivative(self, v):
        return v * (self.output() + 1.0)


expm1 = unary(Expm1)


class Sqrt(ElementwiseUnary):
    """d √x/dx = 1/(2√x)."""
    reads_output = True

    domain = (0.2, 3.0)

    def forward(self, x):
        return xp.sqrt(x)

    def derivative(self, v):
        return v * 0.5 / self.output()


sqrt = unary(Sqrt)


class Abs(ElementwiseUnary):
    """d|x|/dx = sign(x)."""
    floating = False

    def forward(self, x):
        return xp.abs(x)

    def derivative(self, v):
        x = self.inputs[0]._data
        return v * _mask(xp.sign(x), x.dtype)


abs = unary(Abs)


class Sin(ElementwiseUnary):
    def forward(self, x):
        return xp.sin(x)

    def derivative(self, v):
        return v * cos(self.inputs[0])


sin = unary(Sin)


class Cos(ElementwiseUnary):
    def forward(self, x):
        return xp.cos(x)

    def derivative(self, v):
        return -v * sin(self.inputs[0])


cos = unary(Cos)


class Sinh(ElementwiseUnary):
    """d sinh x/dx = cosh x."""

    def forward(self, x):
        return xp.sinh(x)

    def derivative(self, v):
        return v * cosh(self.inputs[0])


sinh = unary(Sinh)


class Cosh(ElementwiseUnary):
    """d cosh x/dx = sinh x."""

    def forward(self, x):
        return xp.cosh(x)

    def derivative(self, v):
        return v * sinh(self.inputs[0])


cosh = unary(Cosh)


class Atan(ElementwiseUnary):
    """d atan x/dx = 1/(1 + x²)."""

    def forward(self, x):
        return xp.arctan(x)

    def derivative(self, v):
        x = self.inputs[0]
        return v / (x * x + 1.0)


atan = unary(Atan)
arctan = atan


class Asinh(ElementwiseUnary):
    """d asinh x/dx = 1/√(x² + 1)."""

    def forward(self, x):
        return xp.arcsinh(x)

    def derivative(self, v):
        x = self.inputs[0]
        return v / sqrt(x * x + 1.0)


asinh = unary(Asinh)
arcsinh = asinh


class Tanh(ElementwiseUnary):
    """d tanh x/dx = 1 − y²."""
    reads_output = True

    def forward(self, x):
        return xp.tanh(x)

    def derivative(self, v):
        return run(TanhGrad(), v, self.output())


tanh = unary(Tanh)


class TanhGrad(Elementwise):
    """g ∘ (1 − y²), the derivative of y = tanh(x) as one op (differentiable in g and y):
    ∂/∂g = 1 − y², ∂/∂y = −2 g y."""

    def forward(self, g, y):
        return g * (1.0 - y * y)

    def partial(self, i, v):
        g, y = self.inputs
        return v * g * y * -2.0 if i else run(TanhGrad(), v, y)


class Sigmoid(ElementwiseUnary):
    """dσ/dx = y (1 − y)."""
    reads_output = True

    def forward(self, x):
        # stable for large |x|: exp of a non-positive number only
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1.0, e).astype(x.dtype, copy=False) / (1.0 + e)

    def derivative(self, v):
        return run(SigmoidGrad(), v, self.output())


sigmoid = unary(Sigmoid)


class SigmoidGrad(Elementwise):
    """g ∘ y(1 − y), the derivative of y = σ(x) as one op (differentiable in g and y):
    ∂/∂g = y(1 − y), ∂/∂y = g (1 − 2y)."""

    def forward(self, g, y):
        return g * y * (1.0 - y)

    def partial(self, i, v):
        g, y = self.inputs
        return v * g * (1.0 - y * 2.0) if i else run(SigmoidGrad(), v, y)


class Relu(ElementwiseUnary):
    """d max(x, 0)/dx = [x > 0]."""
    floating = False

    def forward(self, x):
        return xp.maximum(x, 0) if x.nbytes < _BIG else xp.maximum(x, 0, out=out_like(x))

    def derivative(self, v):
        return masked(v, self.inputs[0]._data > 0)


def masked(v: Tensor, mask) -> Tensor:
    """v ∘ mask for a boolean array ``mask``, as Mul directly: the mask keeps v's dtype (no float copy, no
    promotion step). The derivative rule of every ReLU (fused or not)."""
    return run(Mul(), v, Tensor._make(mask))


relu = unary(Relu)


class Clamp(ElementwiseUnary):
    """d clip(x, lo, hi)/dx = [lo ≤ x ≤ hi]."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return xp.clip(x, self.lo, self.hi)

    def derivative(self, v):
        x = self.inputs[0]._data
        m = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            m &= x >= self.lo
        if self.hi is not None:
            m &= x <= self.hi
        return v * _mask(m, x.dtype)


class Maximum(Elementwise):
    """max(a, b) elementwise; a tie sends half the gradient to each side."""

    sign = 1

    def forward(self, a, b):
        return xp.maximum(a, b) if self.sign > 0 else xp.minimum(a, b)

    def partial(self, i, v):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        first = (a > b) if self.sign > 0 else (a < b)
        wins = (~first) & (a != b) if i else first
        return v * _mask(wins + (a == b) * 0.5, xp.result_type(a, b))


class Minimum(Maximum):
    sign = -1


class Where(Elementwise):
    """cond ? a : b, with ∂/∂a = [cond], ∂/∂b = [not cond]."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return xp.where(self.cond, a, b)

    def partial(self, i, v):
        zero = Tensor._make(xp.zeros((), dtype=v.dtype))
        return where(self.cond, zero, v) if i else where(self.cond, v, zero)






def log2(x):
    return log(x) * (1.0 / xp.log(2.0))


def log10(x):
    return log(x) * (1.0 / xp.log(10.0))


def exp2(x):
    return pow(2.0, x)



def rsqrt(x):
    return run1(PowScalar(-0.5), _scalar_operand(x, -0.5))


def square(x):
    return run1(PowScalar(2), _scalar_operand(x, 2))


def reciprocal(x):
    return run1(RDivScalar(1.0), _scalar_operand(x, 1.0))



absolute = abs




def tan(x):
    return sin(x) / cos(x)





def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensors(x, min, max)
    bounds = [b for b in (min, max) if b is not None]
    bound = next((b for b in bounds if isinstance(b, float)), bounds[0])  # a float bound makes an int x float
    return run1(Clamp(min, max), _scalar_operand(x, bound))


def _clamp_tensors(x, min, max):
    """clamp with tensor bounds: max(x, min), then min(·, max) (a None bound is skipped)."""
    out = x
    if min is not None:
        out = maximum(out, min)
    if max is not None:
        out = minimum(out, max)
    return out


clip = clamp


def _operands(a, b) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of their result dtype (a number takes the other's kind of dtype)."""
    a, b = (a if isinstance(a, Tensor) else _const(a, b)), (b if isinstance(b, Tensor) else _const(b, a))
    return promote(a, b)


def maximum(a, b):
    return _run2("maximum", Maximum(), *_operands(a, b))


def minimum(a, b):
    return _run2("minimum", Minimum(), *_operands(a, b))


def where(condition, input, other):
    """``condition ? input : other`` elementwise; gradients flow to the chosen side."""
    if getattr(condition, "_levels", None) is not None:
        cond = condition  # batched (under vmap): its batching rule aligns it with input and other
    else:
        cond = condition._data if isinstance(condition, Tensor) else xp.asarray(condition)
        if cond.dtype != xp.bool_:
            cond = cond.astype(bool)
    a = input if isinstance(input, Tensor) else _const(input, other if isinstance(other, Tensor) else None)
    b = other if isinstance(other, Tensor) else _const(other, a)
    a, b = promote(a, b)
    try:
        xp.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise broadcast_error("where", cond.shape, xp.broadcast_shapes(a.shape, b.shape)
                              if _broadcastable(a.shape, b.shape) else a.shape) from None
    return _run2("where", Where(cond), a, b)


def _broadcastable(a, b):
    try:
        xp.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------- no-gradient ops
def _nograd(fn, *args, **kw):
    batched = apply_raw(lambda *a: fn(*a, **kw), *args)
    if batched is not None:
        return batched
    arrays = [a._data if isinstance(a, Tensor) else a for a in args]
    return Tensor._make(xp.asarray(fn(*arrays, **kw)))


def _compare(name, fn):
    def op(a, b):
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError(f"{name}: expected a tensor")
        batched = apply_raw(fn, a, b)
        if batched is not None:
            return batched
        ra = a._data if isinstance(a, Tensor) else a
        rb = b._data if isinstance(b, Tensor) else b
        try:
            return Tensor._make(xp.asarray(fn(ra, rb)))
        except ValueError:
            raise broadcast_error(name, xp.shape(ra), xp.shape(rb)) from None

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` (boolean result, no gradient)."
    return op


eq = _compare("eq", xp.equal)
ne = _compare("ne", xp.not_equal)
lt = _compare("lt", xp.less)
le = _compare("le", xp.less_equal)
gt = _compare("gt", xp.greater)
ge = _compare("ge", xp.greater_equal)
logical_and = _compare("logical_and", xp.logical_and)
logical_or = _compare("logical_or", xp.logical_or)
logical_xor = _compare("logical_xor", xp.logical_xor)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_not(x):
    return _nograd(xp.logical_not, x)


def sign(x):
    return _nograd(xp.sign, x)


def floor(x):
    return _nograd(xp.floor, x)


def ceil(x):
    return _nograd(xp.ceil, x)


def round(x, decimals=0):
    return _nograd(xp.round, x, decimals=decimals)


def trunc(x):
    return _nograd(xp.trunc, x)


def floor_divide(a, b):
    return _nograd(xp.floor_divide, *_operands(a, b))


def remainder(a, b):
    return _nograd(xp.remainder, *_operands(a, b))


fmod = remainder


def isnan(x):
    return _nograd(xp.isnan, x)


def isinf(x):
    return _nograd(xp.isinf, x)


def isfinite(x):
    return _nograd(xp.isfinite, x)


def equal(a, b) -> bool:
    """True when both tensors have the same shape and values."""
    return bool(xp.array_equal(a._data, b._data))


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(xp.allclose(getattr(a, "_data", a), getattr(b, "_data", b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return _nograd(xp.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
