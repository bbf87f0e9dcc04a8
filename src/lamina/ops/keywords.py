"""The keywords PyTorch accepts on top of a function's own parameters: ``axis``/``keepdims`` and ``out=``.

* ``axis`` and ``keepdims`` are NumPy's names for ``dim`` and ``keepdim``; torch takes either
  (``x.sum(axis=1, keepdims=True)``). ``numpy_names(fn)`` adds them to a function that has a ``dim``
  parameter; giving both spellings of one argument is an error.
* ``out=`` writes a function's result into an existing tensor and returns that tensor
  (``torch.add(a, b, out=c)``). As in torch: the result is cast to ``out``'s dtype (float → int is
  refused), an ``out`` of another shape is resized, and when an argument requires grad under grad mode it is
  an error (a function with ``out=`` is not differentiated). A function that returns a tuple
  (``max(x, 1)``, ``sort``, ``topk``) takes a tuple of tensors.
"""
from __future__ import annotations

import functools
import inspect

from .. import _mode
from ..backend import xp
from ..tensor import Tensor, bump_version

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def _rename(name: str, kwargs: dict) -> dict:
    for alias, own in _ALIASES:
        if alias in kwargs:
            if own in kwargs:
                raise TypeError(f"{name}(): got both {own}= and its alias {alias}=; give one of them")
            kwargs[own] = kwargs.pop(alias)
    return kwargs


def aliased(name: str, dim, keepdim, axis, keepdims) -> tuple:
    """(dim, keepdim) for a function that spells out ``axis``/``keepdims`` itself (the hot reductions do, to
    skip the wrapper); both spellings of one argument is an error."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}(): got both dim= and its alias axis=; give one of them")
        dim = axis
    if keepdims is not None:
        if keepdim:
            raise TypeError(f"{name}(): got both keepdim= and its alias keepdims=; give one of them")
        keepdim = keepdims
    return dim, keepdim


def _parameters(fn) -> set:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def numpy_names(fn):
    """``fn`` accepting ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=`` (``fn`` itself when it has
    no ``dim`` parameter)."""
    params = _parameters(fn)
    if "dim" not in params or "axis" in params:
        return fn
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "axis" in kwargs or "keepdims" in kwargs:
            kwargs = _rename(name, kwargs)
        return fn(*args, **kwargs)

    return wrapper


def _inputs_need_grad(args, kwargs) -> bool:
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor) and a.requires_grad:
            return True
        if isinstance(a, (list, tuple)) and any(isinstance(t, Tensor) and t.requires_grad for t in a):
            return True
    return False


def _write(name: str, out, result) -> None:
    if not isinstance(out, Tensor) or not isinstance(result, Tensor):
        raise TypeError(f"{name}(): out= must be a Tensor for a function that returns one, got "
                        f"{type(out).__name__}")
    out._check_inplace(name)
    src, dst = result._data, out._data
    if src.dtype != dst.dtype and not xp.can_cast(src.dtype, dst.dtype, casting="same_kind"):
        raise RuntimeError(f"{name}(): result type {src.dtype} can't be cast to the desired output type {dst.dtype}")
    if src.shape == dst.shape and dst.flags.writeable:
        xp.copyto(dst, src, casting="unsafe")
        bump_version(out)
    else:  # torch resizes an out tensor of another shape
        out._data = src.astype(dst.dtype, copy=True)
        bump_version(out)


def _store(name: str, out, result):
    if isinstance(out, (tuple, list)):
        if not isinstance(result, tuple) or len(out) != len(result):
            raise TypeError(f"{name}(): out= got {len(out)} tensors but the function returns "
                            f"{len(result) if isinstance(result, tuple) else 1}")
        for o, r in zip(out, result):
            _write(name, o, r)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    _write(name, out, result)
    return out


def with_out(fn):
    """``fn`` accepting ``out=`` (``fn`` itself when it already has an ``out`` parameter)."""
    if "out" in _parameters(fn):
        return fn
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if _mode.grad_enabled and _inputs_need_grad(args, kwargs):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad")
        return _store(name, out, fn(*args, **kwargs))

    return wrapper


def torch_keywords(namespace: dict, modules: tuple = ("lamina.ops.", "lamina.autograd.op")) -> None:
    """Give every function of ``namespace`` defined in one of ``modules`` the ``axis``/``keepdims`` aliases and
    ``out=`` (in place: the names are rebound to the wrapped functions)."""
    for key, fn in list(namespace.items()):
        if inspect.isfunction(fn) and not key.startswith("_") and fn.__module__.startswith(modules):
            namespace[key] = with_out(numpy_names(fn))
