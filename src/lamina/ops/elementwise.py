"""Elementwise ops: arithmetic, math functions, comparisons, ``where``, ``clamp``, casts.

Each op: forward on arrays, backward (σ'(x) ∘ o, seed 001) and jvp (σ'(x) x')
written with tensor ops. Broadcasting is free here: the engine sums a gradient
back to its input's shape.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd.op import Op, run, run1
from ..backend import get_default_dtype, xp
from ..errors import broadcast_error
from ..tensor import Tensor


def _const(x, like: Tensor | None = None) -> Tensor:
    """A non-differentiable tensor from a scalar/array (dtype of ``like`` for Python floats)."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if like is not None and arr.dtype.kind == "f" and like.dtype.kind == "f" and not isinstance(x, np.ndarray):
        arr = arr.astype(like.dtype)
    elif arr.dtype == np.float64 and not isinstance(x, np.ndarray):
        arr = arr.astype(get_default_dtype())
    return Tensor._make(arr)


def _mask(cond_array, dtype) -> Tensor:
    return Tensor._make(cond_array.astype(dtype))


def _sum(*terms):
    """Sum of the tangent terms that are not None (None is a zero tangent)."""
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


_SCALARS = (numbers.Number, np.generic)


def _is_scalar(x) -> bool:
    return isinstance(x, _SCALARS) and not isinstance(x, np.ndarray)


def _promote_for_scalar(t: Tensor, s) -> Tensor:
    """An integer tensor combined with a float scalar becomes the default float dtype (as in PyTorch)."""
    if t._data.dtype.kind in "iub" and isinstance(s, float):
        return cast(t, get_default_dtype())
    return t


def _binary(name, cls, scls, rscls, a, b):
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return _run2(name, cls(), a, b)
        if _is_scalar(b):
            s = b.item() if isinstance(b, np.generic) else b
            return run1(scls(s), _promote_for_scalar(a, s))
        return _run2(name, cls(), a, _const(b, a))
    if _is_scalar(a):
        s = a.item() if isinstance(a, np.generic) else a
        return run1(rscls(s), _promote_for_scalar(b, s))
    return _run2(name, cls(), _const(a, b), b)


def _run2(name, op, a, b):
    try:
        return run(op, a, b)
    except ValueError as e:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise broadcast_error(name, a.shape, b.shape) from None
        raise e


# ---------------------------------------------------------------------------- arithmetic
class Add(Op):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g

    def jvp(self, ta, tb):
        return _sum(ta, tb)


class AddScalar(Op):
    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return x + self.s

    def backward(self, g):
        return (g,)

    def jvp(self, t):
        return t


class Sub(Op):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g

    def jvp(self, ta, tb):
        return _sum(ta, None if tb is None else -tb)


class RSubScalar(Op):
    """s - x"""

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return self.s - x

    def backward(self, g):
        return (-g,)

    def jvp(self, t):
        return -t


class SubScalar(AddScalar):
    def __init__(self, s):
        self.s = -s


class Mul(Op):
    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs
        return (g * b if na else None), (g * a if nb else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _sum(None if ta is None else ta * b, None if tb is None else a * tb)


class MulScalar(Op):
    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return x * self.s

    def backward(self, g):
        return (g * self.s,)

    def jvp(self, t):
        return t * self.s


class Div(Op):
    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs
        return (g / b if na else None), (-g * self.output() / b if nb else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _sum(None if ta is None else ta / b, None if tb is None else -tb * self.output() / b)


class DivScalar(Op):
    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return x / self.s

    def backward(self, g):
        return (g / self.s,)

    def jvp(self, t):
        return t / self.s


class RDivScalar(Op):
    """s / x"""

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return self.s / x

    def backward(self, g):
        (x,) = self.inputs
        return (-g * self.output() / x,)

    def jvp(self, t):
        (x,) = self.inputs
        return -t * self.output() / x


class Pow(Op):
    def forward(self, a, b):
        return a**b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs
        ga = g * b * a ** (b - 1) if na else None
        gb = None
        if nb:
            safe = where(a._data > 0, a, 1.0)  # d(a^b)/db = a^b log a, taken as 0 where a <= 0
            gb = g * self.output() * log(safe)
        return ga, gb

    def jvp(self, ta, tb):
        a, b = self.inputs
        t1 = None if ta is None else ta * b * a ** (b - 1)
        t2 = None if tb is None else tb * self.output() * log(where(a._data > 0, a, 1.0))
        return _sum(t1, t2)


class PowScalar(Op):
    """x ** s"""

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        s = self.s
        if s == 2:
            return x * x
        if s == 0.5:
            return xp.sqrt(x)
        return x**s

    def _deriv(self):
        (x,) = self.inputs
        s = self.s
        if s == 2:
            return x * 2.0
        if s == 1:
            return None
        return x ** (s - 1) * s

    def backward(self, g):
        d = self._deriv()
        return (g if d is None else g * d,)

    def jvp(self, t):
        d = self._deriv()
        return t if d is None else t * d


class RPowScalar(Op):
    """s ** x"""

    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return np.power(self.s, x, dtype=x.dtype if x.dtype.kind == "f" else None)

    def backward(self, g):
        return (g * self.output() * float(np.log(self.s)),)

    def jvp(self, t):
        return t * self.output() * float(np.log(self.s))


def add(a, b, alpha=1):
    if alpha != 1:
        b = b * alpha
    return _binary("add", Add, AddScalar, AddScalar, a, b)


def sub(a, b, alpha=1):
    if alpha != 1:
        b = b * alpha
    return _binary("sub", Sub, SubScalar, RSubScalar, a, b)


def mul(a, b):
    return _binary("mul", Mul, MulScalar, MulScalar, a, b)


def div(a, b, rounding_mode=None):
    if rounding_mode is not None:
        return floor_divide(a, b) if rounding_mode == "floor" else _nograd(np.trunc, div(a, b))
    return _binary("div", Div, DivScalar, RDivScalar, a, b)


def pow(a, b):
    return _binary("pow", Pow, PowScalar, RPowScalar, a, b)


true_divide = divide = div
multiply, subtract = mul, sub


class Neg(Op):
    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)

    def jvp(self, t):
        return -t


def neg(x):
    return run1(Neg(), x)


negative = neg


# ---------------------------------------------------------------------------- unary math
class Exp(Op):
    def forward(self, x):
        return xp.exp(x)

    def backward(self, g):
        return (g * self.output(),)

    def jvp(self, t):
        return t * self.output()


class Log(Op):
    def forward(self, x):
        return xp.log(x)

    def backward(self, g):
        return (g / self.inputs[0],)

    def jvp(self, t):
        return t / self.inputs[0]


class Log1p(Op):
    def forward(self, x):
        return xp.log1p(x)

    def backward(self, g):
        return (g / (self.inputs[0] + 1.0),)

    def jvp(self, t):
        return t / (self.inputs[0] + 1.0)


class Expm1(Op):
    def forward(self, x):
        return xp.expm1(x)

    def backward(self, g):
        return (g * (self.output() + 1.0),)

    def jvp(self, t):
        return t * (self.output() + 1.0)


class Sqrt(Op):
    def forward(self, x):
        return xp.sqrt(x)

    def backward(self, g):
        return (g * 0.5 / self.output(),)

    def jvp(self, t):
        return t * 0.5 / self.output()


class Abs(Op):
    def forward(self, x):
        return xp.abs(x)

    def backward(self, g):
        x = self.inputs[0]._data
        return (g * _mask(xp.sign(x), x.dtype),)

    def jvp(self, t):
        x = self.inputs[0]._data
        return t * _mask(xp.sign(x), x.dtype)


class Sin(Op):
    def forward(self, x):
        return xp.sin(x)

    def backward(self, g):
        return (g * cos(self.inputs[0]),)

    def jvp(self, t):
        return t * cos(self.inputs[0])


class Cos(Op):
    def forward(self, x):
        return xp.cos(x)

    def backward(self, g):
        return (-g * sin(self.inputs[0]),)

    def jvp(self, t):
        return -t * sin(self.inputs[0])


class Tanh(Op):
    def forward(self, x):
        return xp.tanh(x)

    def backward(self, g):
        return (run(TanhGrad(), g, self.output()),)

    def jvp(self, t):
        return run(TanhGrad(), t, self.output())


class TanhGrad(Op):
    """g ∘ (1 − y²), the backward of y = tanh(x) as one op (differentiable in g and y)."""

    def forward(self, g, y):
        return g * (1.0 - y * y)

    def backward(self, gg):
        g, y = self.inputs
        return run(TanhGrad(), gg, y), (gg * g * y * -2.0 if self.needs[1] else None)

    def jvp(self, tg, ty):
        g, y = self.inputs
        return _sum(None if tg is None else run(TanhGrad(), tg, y), None if ty is None else ty * g * y * -2.0)


class Sigmoid(Op):
    def forward(self, x):
        # stable for large |x|: exp of a non-positive number only
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1.0, e).astype(x.dtype, copy=False) / (1.0 + e)

    def backward(self, g):
        return (run(SigmoidGrad(), g, self.output()),)

    def jvp(self, t):
        return run(SigmoidGrad(), t, self.output())


class SigmoidGrad(Op):
    """g ∘ y(1 − y), the backward of y = σ(x) as one op (differentiable in g and y)."""

    def forward(self, g, y):
        return g * y * (1.0 - y)

    def backward(self, gg):
        g, y = self.inputs
        return run(SigmoidGrad(), gg, y), (gg * g * (1.0 - y * 2.0) if self.needs[1] else None)

    def jvp(self, tg, ty):
        g, y = self.inputs
        return _sum(None if tg is None else run(SigmoidGrad(), tg, y),
                    None if ty is None else ty * g * (1.0 - y * 2.0))


class Relu(Op):
    def forward(self, x):
        return xp.maximum(x, 0)

    def backward(self, g):
        x = self.inputs[0]._data
        return (g * _mask(x > 0, x.dtype),)

    def jvp(self, t):
        x = self.inputs[0]._data
        return t * _mask(x > 0, x.dtype)


class Clamp(Op):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return xp.clip(x, self.lo, self.hi)

    def _mask(self):
        x = self.inputs[0]._data
        m = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            m &= x >= self.lo
        if self.hi is not None:
            m &= x <= self.hi
        return _mask(m, x.dtype)

    def backward(self, g):
        return (g * self._mask(),)

    def jvp(self, t):
        return t * self._mask()


class Maximum(Op):
    """max(a, b) elementwise; a tie sends half the gradient to each side."""

    sign = 1

    def forward(self, a, b):
        return xp.maximum(a, b) if self.sign > 0 else xp.minimum(a, b)

    def _masks(self):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        gt = (a > b) if self.sign > 0 else (a < b)
        eq = (a == b) * 0.5
        dt = np.result_type(a, b)
        return _mask(gt + eq, dt), _mask((~gt) & (a != b), dt) + _mask(eq, dt)

    def backward(self, g):
        ma, mb = self._masks()
        return g * ma, g * mb

    def jvp(self, ta, tb):
        ma, mb = self._masks()
        return _sum(None if ta is None else ta * ma, None if tb is None else tb * mb)


class Minimum(Maximum):
    sign = -1


class Where(Op):
    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return xp.where(self.cond, a, b)

    def backward(self, g):
        zero = Tensor._make(np.zeros((), dtype=g.dtype))
        na, nb = self.needs
        return (where(self.cond, g, zero) if na else None), (where(self.cond, zero, g) if nb else None)

    def jvp(self, ta, tb):
        zero = Tensor._make(np.zeros((), dtype=self.out.dtype))
        return where(self.cond, zero if ta is None else ta, zero if tb is None else tb)


class Cast(Op):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return (cast(g, self.src),)

    def jvp(self, t):
        return cast(t, self.dtype)


def cast(x: Tensor, dtype) -> Tensor:
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind not in "fc":  # integers and booleans carry no gradient
        return Tensor._make(x._data.astype(dtype))
    return run1(Cast(dtype), x)


def exp(x):
    return run1(Exp(), x)


def log(x):
    return run1(Log(), x)


def log1p(x):
    return run1(Log1p(), x)


def expm1(x):
    return run1(Expm1(), x)


def log2(x):
    return log(x) * (1.0 / np.log(2.0))


def log10(x):
    return log(x) * (1.0 / np.log(10.0))


def exp2(x):
    return pow(2.0, x)


def sqrt(x):
    return run1(Sqrt(), x)


def rsqrt(x):
    return run1(PowScalar(-0.5), x)


def square(x):
    return run1(PowScalar(2), x)


def reciprocal(x):
    return run1(RDivScalar(1.0), x)


def abs(x):
    return run1(Abs(), x)


absolute = abs


def sin(x):
    return run1(Sin(), x)


def cos(x):
    return run1(Cos(), x)


def tan(x):
    return sin(x) / cos(x)


def tanh(x):
    return run1(Tanh(), x)


def sigmoid(x):
    return run1(Sigmoid(), x)


def relu(x):
    return run1(Relu(), x)


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return run1(Clamp(min, max), x)


clip = clamp


def maximum(a, b):
    a, b = (a if isinstance(a, Tensor) else _const(a, b)), (b if isinstance(b, Tensor) else _const(b, a))
    return _run2("maximum", Maximum(), a, b)


def minimum(a, b):
    a, b = (a if isinstance(a, Tensor) else _const(a, b)), (b if isinstance(b, Tensor) else _const(b, a))
    return _run2("minimum", Minimum(), a, b)


def where(condition, input, other):
    """``condition ? input : other`` elementwise; gradients flow to the chosen side."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a = input if isinstance(input, Tensor) else _const(input, other if isinstance(other, Tensor) else None)
    b = other if isinstance(other, Tensor) else _const(other, a)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise broadcast_error("where", cond.shape, np.broadcast_shapes(a.shape, b.shape)
                              if _broadcastable(a.shape, b.shape) else a.shape) from None
    return _run2("where", Where(cond), a, b)


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------- no-gradient ops
def _nograd(fn, *args, **kw):
    arrays = [a._data if isinstance(a, Tensor) else a for a in args]
    return Tensor._make(np.asarray(fn(*arrays, **kw)))


def _compare(name, fn):
    def op(a, b):
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError(f"{name}: expected a tensor")
        ra = a._data if isinstance(a, Tensor) else a
        rb = b._data if isinstance(b, Tensor) else b
        try:
            return Tensor._make(np.asarray(fn(ra, rb)))
        except ValueError:
            raise broadcast_error(name, np.shape(ra), np.shape(rb)) from None

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` (boolean result, no gradient)."
    return op


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)
logical_and = _compare("logical_and", np.logical_and)
logical_or = _compare("logical_or", np.logical_or)
logical_xor = _compare("logical_xor", np.logical_xor)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_not(x):
    return _nograd(np.logical_not, x)


def sign(x):
    return _nograd(np.sign, x)


def floor(x):
    return _nograd(np.floor, x)


def ceil(x):
    return _nograd(np.ceil, x)


def round(x, decimals=0):
    return _nograd(np.round, x, decimals=decimals)


def trunc(x):
    return _nograd(np.trunc, x)


def floor_divide(a, b):
    return _nograd(np.floor_divide, a, b)


def remainder(a, b):
    return _nograd(np.remainder, a, b)


fmod = remainder


def isnan(x):
    return _nograd(np.isnan, x)


def isinf(x):
    return _nograd(np.isinf, x)


def isfinite(x):
    return _nograd(np.isfinite, x)


def equal(a, b) -> bool:
    """True when both tensors have the same shape and values."""
    return bool(np.array_equal(a._data, b._data))


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(np.allclose(getattr(a, "_data", a), getattr(b, "_data", b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return _nograd(np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def _bind():
    T = Tensor
    T.__add__ = add
    T.__radd__ = lambda self, other: add(other, self)
    T.__sub__ = sub
    T.__rsub__ = lambda self, other: sub(other, self)
    T.__mul__ = mul
    T.__rmul__ = lambda self, other: mul(other, self)
    T.__truediv__ = div
    T.__rtruediv__ = lambda self, other: div(other, self)
    T.__pow__ = pow
    T.__rpow__ = lambda self, other: pow(other, self)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    T.__floordiv__ = floor_divide
    T.__rfloordiv__ = lambda self, other: floor_divide(other, self)
    T.__mod__ = remainder
    T.__eq__ = eq
    T.__ne__ = ne
    T.__lt__ = lt
    T.__le__ = le
    T.__gt__ = gt
    T.__ge__ = ge
    T.__invert__ = logical_not
    T.__and__ = logical_and
    T.__or__ = logical_or
    T.__xor__ = logical_xor
    for fn in (add, sub, mul, div, pow, neg, exp, log, log1p, expm1, log2, log10, exp2, sqrt, rsqrt, square,
               reciprocal, abs, sin, cos, tan, tanh, sigmoid, relu, clamp, clip, maximum, minimum, eq, ne, lt, le,
               gt, ge, logical_not, logical_and, logical_or, sign, floor, ceil, round, trunc, isnan, isinf,
               isfinite, remainder, fmod, floor_divide, equal, allclose, isclose):
        setattr(T, fn.__name__, fn)
    T.multiply, T.subtract, T.divide, T.true_divide, T.negative, T.absolute = mul, sub, div, div, neg, abs
    T.greater, T.greater_equal, T.less, T.less_equal, T.not_equal = gt, ge, lt, le, ne
    T.where = lambda self, condition, other: where(condition, self, other)
    T.relu_ = lambda self: self._assign("relu_", np.maximum(self._data, 0))
    T.sigmoid_ = lambda self: self._assign("sigmoid_", Sigmoid().forward(self._data))
    T.exp_ = lambda self: self._assign("exp_", np.exp(self._data))
    T.sqrt_ = lambda self: self._assign("sqrt_", np.sqrt(self._data))
    T.neg_ = lambda self: self._assign("neg_", -self._data)


_bind()
