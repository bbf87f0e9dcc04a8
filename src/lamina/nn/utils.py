"""Gradient clipping, as ``torch.nn.utils``."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor


def _stored(g):
    """The array a gradient stores: the rows of a row-sparse one, else its values."""
    return g._values if g.is_sparse else g._data


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _total_norm(grads, norm_type: float) -> float:
    """(Σ ‖g‖_p^p)^(1/p) over all gradients; max |g| for p = inf."""
    if norm_type == math.inf:
        return max(float(np.abs(_stored(g)).max(initial=0.0)) for g in grads)
    return sum(float(np.sum(np.abs(_stored(g).astype(np.float64)) ** norm_type)) for g in grads) ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients in place so their joint ``norm_type``-norm is at most ``max_norm``;
    returns the norm before clipping. Row-sparse gradients count their stored rows."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._make(np.asarray(0.0, dtype=np.float32))
    total = _total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            if g.is_sparse:
                g.mul_(coef)
                continue
            if not g._data.flags.writeable:
                g._data = g._data.copy()
            g._data *= np.asarray(coef, dtype=g._data.dtype)
    return Tensor._make(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    for g in _grads(parameters):
        if g.is_sparse:
            g._values = np.clip(g._values, -clip_value, clip_value)
            continue
        if not g._data.flags.writeable:
            g._data = g._data.copy()
        np.clip(g._data, -clip_value, clip_value, out=g._data)


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (differentiable, in iteration order)."""
    from ..ops.shape import cat

    flat = [p.reshape(-1) for p in parameters]
    if not flat:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' data, each reshaped to its parameter."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-D tensor, got {getattr(vec, 'shape', type(vec).__name__)}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.numel():
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} values, the parameters {total}")
    start = 0
    for p in params:
        n = p.numel()
        p.data = Tensor._make(vec._data[start:start + n].reshape(p.shape).astype(p.dtype))
        start += n
