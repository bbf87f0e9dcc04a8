"""Reductions and normalised exponentials: sum, mean, max/min, var/std, logsumexp, softmax, log_softmax, cumsum.

``dim`` is an int, a tuple of ints or None (all dims); ``keepdim`` keeps reduced dims
as size 1, as in PyTorch. The backward of a reduction broadcasts the gradient back
over the reduced dims.
"""
from __future__ import annotations

import builtins
import functools
import math
import numbers
from collections import namedtuple
from typing import Any

from ..autograd.op import LinearMap, Op, batched_api, broadcast_to, is_batched, run1
from ..backend import xp
from ..tensor import Tensor
from .elementwise import abs as _abs
from .elementwise import exp, log, maximum, minimum, sqrt, where
from .keywords import aliased
from .shape import flip, gather, narrow, reshape, squeeze


def _dims(dim, ndim, op):
    """Normalise ``dim`` to a sorted tuple of non-negative axes (None = all)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    n = builtins.max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims (expected {-n} .. {n - 1})")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} repeats a dimension")
    return tuple(sorted(out)) if ndim else ()


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class _Reduce(Op):
    abstract = True

    keepdim = False  # a class default, set on the instance only when True (a recorded node's dict stays small)

    def __init__(self, axes, keepdim):
        self.axes = axes
        if keepdim:
            self.keepdim = True

    def _expand(self, g):
        """Bring a reduced gradient back to the input shape."""
        shape = self.inputs[0]._data.shape
        if not self.keepdim and g._data.ndim:
            g = reshape(g, _keep_shape(shape, self.axes))
        return broadcast_to(g, shape)

    def _reduce_like(self, t, fn):
        return fn(t, self.axes, self.keepdim)


class Sum(_Reduce, LinearMap):
    def forward(self, x):
        if not self.keepdim and len(self.axes) == x.ndim:
            return xp.asarray(x.sum())
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        return (self._expand(g),)



class Mean(_Reduce, LinearMap):
    """mean over the axes A of x: x̄ = broadcast(ȳ) / n with n = Π_{a∈A} shape[a]."""

    def forward(self, x):
        return x.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        shape = self.inputs[0]._data.shape
        return (self._expand(g) / float(math.prod([shape[a] for a in self.axes])),)



class Amax(_Reduce):
    """max over dims; ties share the gradient equally."""

    reads_output = True

    fn = staticmethod(xp.max)

    def forward(self, x):
        return self.fn(x, axis=self.axes, keepdims=self.keepdim)

    def _weights(self):
        x = self.inputs[0]._data
        out = self.out if self.keepdim else self.out.reshape(_keep_shape(x.shape, self.axes))
        mask = (x == out).astype(x.dtype)
        return Tensor._make(mask / mask.sum(axis=self.axes, keepdims=True))

    def backward(self, g):
        return (self._expand(g) * self._weights(),)

    def jvp(self, t):
        return run1(Sum(self.axes, self.keepdim), t * self._weights())


class Amin(Amax):
    fn = staticmethod(xp.min)


class LogSumExp(_Reduce):
    reads_output = True

    def forward(self, x):
        m = x.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return out if self.keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in self.axes])

    def _softmax(self):
        x = self.inputs[0]
        out = self.output()
        if not self.keepdim:
            out = reshape(out, _keep_shape(x.shape, self.axes))
        return exp(x - out)

    def backward(self, g):
        return (self._expand(g) * self._softmax(),)

    def jvp(self, t):
        return run1(Sum(self.axes, self.keepdim), t * self._softmax())


class Softmax(Op):
    reads_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, g):
        y = self.output()
        return (y * (g - sum(g * y, self.axis, keepdim=True)),)

    def jvp(self, t):
        y = self.output()
        return y * (t - sum(t * y, self.axis, keepdim=True))


class LogSoftmax(Op):
    reads_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        z = x - x.max(axis=self.axis, keepdims=True)
        return z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))

    def backward(self, g):
        return (g - exp(self.output()) * sum(g, self.axis, keepdim=True),)

    def jvp(self, t):
        return t - sum(exp(self.output()) * t, self.axis, keepdim=True)


class CumSum(LinearMap):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return xp.cumsum(x, axis=self.axis)

    def backward(self, g):
        return (flip(run1(CumSum(self.axis), flip(g, self.axis)), self.axis),)



# ---------------------------------------------------------------------------- functions
_ALL_AXES = [tuple(range(n)) for n in range(65)]  # every dim of a 0- to 64-dim array


def sum(x: Tensor, dim=None, keepdim: bool = False, dtype=None, *, axis=None, keepdims=None) -> Tensor:
    if dim is None and axis is None and keepdims is None and dtype is None and x._data.dtype.kind in "fc":
        return run1(Sum(_ALL_AXES[x._data.ndim], keepdim), x)  # x.sum() of a floating tensor: the common case
    return _sum(x, dim, keepdim, dtype, axis, keepdims)


def _sum(x: Tensor, dim, keepdim: bool, dtype, axis, keepdims) -> Tensor:
    if axis is not None or keepdims is not None:  # NumPy's names, as torch accepts them
        dim, keepdim = aliased("sum", dim, keepdim, axis, keepdims)
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "biu" and x._data.dtype != xp.int64:
        x = x.to(xp.int64)
    return run1(Sum(_dims(dim, x._data.ndim, "sum"), keepdim), x)


def mean(x: Tensor, dim=None, keepdim: bool = False, dtype=None, *, axis=None, keepdims=None) -> Tensor:
    if axis is not None or keepdims is not None:  # NumPy's names, as torch accepts them
        dim, keepdim = aliased("mean", dim, keepdim, axis, keepdims)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: expected a floating point tensor, got {x.dtype} (use .float() first)")
    return run1(Mean(_dims(dim, x.ndim, "mean"), keepdim), x)


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if x._data.size == 0:
        raise ValueError(f"amax: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    return run1(Amax(_dims(dim, x.ndim, "amax"), keepdim), x)


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if x._data.size == 0:
        raise ValueError(f"amin: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    return run1(Amin(_dims(dim, x.ndim, "amin"), keepdim), x)


values_indices = namedtuple("values_indices", ["values", "indices"])


def _select(x: Tensor, dim, keepdim: bool, name: str, reduce_all, arg) -> Any:
    """(values, indices) of ``max(x, dim)`` / ``min(x, dim)``: the values are picked at the returned
    indices (x.gather(dim, idx)), so the whole gradient of each value goes to its index, even on ties
    (as in PyTorch; ``amax``/``amin`` share it among the tied entries instead)."""
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__} ({dim!r})")
    if x._data.size == 0:
        raise ValueError(f"{name}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if x.ndim == 0:  # one value: nothing to choose
        _dims(dim, 0, name)
        return values_indices(reduce_all(x), Tensor._make(xp.zeros((), dtype=xp.int64)))
    d = _dims(dim, x.ndim, name)[0]
    idx = arg(x._data, axis=d, keepdims=True).astype(xp.int64)
    values = gather(x, d, idx)
    if not keepdim:
        values, idx = squeeze(values, d), idx.squeeze(d)
    return values_indices(values, Tensor._make(idx))


def max(x: Tensor, dim=None, keepdim: bool = False) -> Any:
    """``max(x)`` is the largest value (ties share the gradient, as ``amax``); ``max(x, dim)`` returns
    (values, indices) with the gradient going to the index returned; ``max(a, b)`` is ``maximum``."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    if dim is None:
        return amax(x)
    return _select(x, dim, keepdim, "max", amax, xp.argmax)


def min(x: Tensor, dim=None, keepdim: bool = False) -> Any:
    """``min(x)`` is the smallest value (ties share the gradient, as ``amin``); ``min(x, dim)`` returns
    (values, indices) with the gradient going to the index returned; ``min(a, b)`` is ``minimum``."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    if dim is None:
        return amin(x)
    return _select(x, dim, keepdim, "min", amin, xp.argmin)


def _per_sample_under_vmap(fn):
    """``fn`` (a reduction computed on the raw array, no gradient) applied sample by sample to a batched
    tensor under vmap."""
    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        if is_batched(x):
            return batched_api["per_sample"](lambda t: fn(t, *args, **kwargs), (x,))
        return fn(x, *args, **kwargs)

    return wrapper


@_per_sample_under_vmap
def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._make(xp.asarray(xp.argmax(x._data), dtype=xp.int64))
    d = _dims(dim, x.ndim, "argmax")[0]
    return Tensor._make(xp.argmax(x._data, axis=d, keepdims=keepdim).astype(xp.int64))


@_per_sample_under_vmap
def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._make(xp.asarray(xp.argmin(x._data), dtype=xp.int64))
    d = _dims(dim, x.ndim, "argmin")[0]
    return Tensor._make(xp.argmin(x._data, axis=d, keepdims=keepdim).astype(xp.int64))


def argsort(x: Tensor, dim: int = -1, descending: bool = False) -> Tensor:
    a = -x._data if descending else x._data
    return Tensor._make(xp.argsort(a, axis=dim, kind="stable").astype(xp.int64))


def sort(x: Tensor, dim: int = -1, descending: bool = False) -> Any:
    idx = argsort(x, dim, descending)
    return values_indices(gather(x, dim, idx), idx)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    idx = narrow(argsort(x, dim, descending=largest), dim, 0, k)
    return values_indices(gather(x, dim, idx), idx)


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance; divides by N - correction (correction 1 by default, like PyTorch)."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _dims(dim, x.ndim, "var")
    n = int(xp.prod([x.shape[a] for a in axes])) if axes else 1
    d = x - mean(x, axes, keepdim=True)
    return sum(d * d, axes, keepdim) / xp.maximum(n - correction, 0)


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def logsumexp(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return run1(LogSumExp(_dims(dim, x.ndim, "logsumexp"), keepdim), x)


def softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    if dtype is not None:
        x = x.to(dtype)
    return run1(Softmax(_dims(dim, x.ndim, "softmax")[0] if x.ndim else ()), x)


def log_softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    if dtype is not None:
        x = x.to(dtype)
    return run1(LogSoftmax(_dims(dim, x.ndim, "log_softmax")[0] if x.ndim else ()), x)


def cumsum(x: Tensor, dim: int) -> Tensor:
    return run1(CumSum(_dims(dim, x.ndim, "cumsum")[0]), x)


def norm(x: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); ``p='fro'`` is the 2-norm."""
    if p in ("fro", 2, 2.0):
        s = sum(x * x, dim, keepdim)
        # the gradient of sqrt at 0 is infinite; PyTorch returns 0 there, so do we
        zero = s._data == 0
        if zero.any():
            return where(zero, 0.0, sqrt(where(zero, 1.0, s)))
        return sqrt(s)
    if p in (1, 1.0):
        return sum(_abs(x), dim, keepdim)
    if p == float("inf"):
        return amax(_abs(x), dim, keepdim)
    return sum(_abs(x) ** p, dim, keepdim) ** (1.0 / p)


def _sign_prod(x: Tensor, dim, keepdim: bool) -> Tensor:
    if (x._data == 0).any():
        raise ValueError("prod: inputs containing zeros are not supported for differentiation")
    return Tensor._make(xp.prod(xp.sign(x._data), axis=_dims(dim, x.ndim, "prod"), keepdims=keepdim))


def prod(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Product over dims (a composite of log/exp where all values are non-zero, exact otherwise); integers and
    bools multiply exactly in int64, without gradient (as in PyTorch)."""
    if x._data.dtype.kind in "iub" and not is_batched(x):
        axes = None if dim is None else _dims(dim, x.ndim, "prod")
        return Tensor._make(xp.asarray(xp.prod(x._data, axis=axes, keepdims=keepdim, dtype=xp.int64)))
    if is_batched(x):
        s = batched_api["per_sample"](lambda t: _sign_prod(t, dim, keepdim), (x,))
    else:
        s = _sign_prod(x, dim, keepdim)
    return s * exp(sum(log(_abs(x)), dim, keepdim))


@_per_sample_under_vmap
def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = None if dim is None else _dims(dim, x.ndim, "any")
    return Tensor._make(xp.asarray(xp.any(x._data, axis=axes, keepdims=keepdim)))


@_per_sample_under_vmap
def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = None if dim is None else _dims(dim, x.ndim, "all")
    return Tensor._make(xp.asarray(xp.all(x._data, axis=axes, keepdims=keepdim)))


@_per_sample_under_vmap
def count_nonzero(x: Tensor, dim=None) -> Tensor:
    axes = None if dim is None else _dims(dim, x.ndim, "count_nonzero")
    return Tensor._make(xp.asarray(xp.count_nonzero(x._data, axis=axes), dtype=xp.int64))
