"""Gradient clipping, as ``torch.nn.utils``; and the two array helpers the rest of ``lamina.nn`` shares."""
from __future__ import annotations

import math

from ..backend import float32, float64, xp
from ..tensor import Tensor


def _array_of(x: object) -> xp.ndarray:
    """The array behind ``x``: a tensor's data, or ``xp.asarray(x)`` for arrays, lists and numbers."""
    return x._data if isinstance(x, Tensor) else xp.asarray(x)


def _writable_array(t: Tensor) -> xp.ndarray:
    """``t``'s array, ready for an in-place update: copied first when it is read-only (a broadcast view)."""
    if not t._data.flags.writeable:
        t._data = t._data.copy()
    return t._data


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients in place so their joint ``norm_type``-norm is at most ``max_norm``;
    returns the norm before clipping. Row-sparse gradients count their stored rows."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._make(xp.asarray(0.0, dtype=float32))
    if norm_type == math.inf:
        total = max(float(xp.abs(g._data).max(initial=0.0)) for g in grads)
    else:
        total = sum(float(xp.sum(xp.abs(g._data.astype(float64)) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            d = _writable_array(g)
            d *= xp.asarray(coef, dtype=d.dtype)
    return Tensor._make(xp.asarray(total, dtype=grads[0]._data.dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    for g in _grads(parameters):
        d = _writable_array(g)
        xp.clip(d, -clip_value, clip_value, out=d)
