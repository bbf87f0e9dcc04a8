"""Scaled dot-product attention, composed from lamina tensor ops (so gradients of every order and
forward mode follow from matmul, softmax and where):

    attention(Q, K, V) = softmax(Q Kᵀ · s + B) V,   s = 1/√E unless ``scale`` is given,

with Q (..., L, E), K (..., S, E), V (..., S, Ev). The bias B (broadcast to (..., L, S)) is 0 where a
query may attend to a key and −∞ where it may not: a boolean ``attn_mask`` is True where the pair
takes part, a float ``attn_mask`` is added as it is, ``is_causal`` keeps the lower triangle
(key j ≤ query i). A query row with no key left gets zero weights (PyTorch's CPU kernels do the same).
"""
from __future__ import annotations

import math

from ...backend import xp
from ...errors import ShapeError
from ...ops.linalg import matmul
from ...ops.reduce import softmax
from ...tensor import Tensor
from .dropout import dropout

__all__ = ["scaled_dot_product_attention"]

_NAME = "scaled_dot_product_attention"


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query keyᵀ · scale + bias) value, with the bias from ``attn_mask`` / ``is_causal`` (see the
    module docstring); dropout with probability ``dropout_p`` is applied to the weights (always, as PyTorch's
    function: pass ``dropout_p=0.0`` in evaluation). ``enable_gqa``: key/value heads (dim −3) are repeated
    to the query's number of heads."""
    _check(query, key, value, attn_mask, is_causal)
    if enable_gqa:
        key, value = _repeat_heads(query, key), _repeat_heads(query, value)
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * s
    weights = masked_softmax(scores, attn_mask, is_causal, safe=True)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)


def masked_softmax(scores: Tensor, attn_mask: Tensor | None, is_causal: bool = False, safe: bool = True) -> Tensor:
    """softmax over the last dim of ``scores`` + bias (a boolean mask: True takes part; a float mask: added).

    ``safe``: rows where every entry is −∞ get weights 0 instead of NaN (and gradient 0)."""
    if is_causal:
        n_q, n_k = scores.shape[-2], scores.shape[-1]
        scores = scores.masked_fill(Tensor._make(~xp.tri(n_q, n_k, dtype=bool)), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype.kind == "b":
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + (attn_mask if attn_mask.dtype == scores.dtype else attn_mask.to(scores.dtype))
    if not safe or (attn_mask is None and not is_causal):
        return softmax(scores, -1)
    dead = xp.isneginf(scores._data).all(axis=-1, keepdims=True)
    if not dead.any():
        return softmax(scores, -1)
    dead_t = Tensor._make(dead)
    return softmax(scores.masked_fill(dead_t, 0.0), -1).masked_fill(dead_t, 0.0)


def _repeat_heads(query: Tensor, kv: Tensor) -> Tensor:
    hq, hk = query.shape[-3], kv.shape[-3]
    if hq % hk:
        raise ShapeError(f"{_NAME}: enable_gqa needs the query heads ({hq}, dim -3 of {tuple(query.shape)}) to be "
                         f"a multiple of the key/value heads ({hk}, dim -3 of {tuple(kv.shape)})")
    return kv.repeat_interleave(hq // hk, dim=-3) if hq != hk else kv


def _check(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, is_causal: bool) -> None:
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ShapeError(f"{_NAME}: expected query (..., L, E), key (..., S, E), value (..., S, Ev), got {shapes}")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"{_NAME}: query and key must have the same last dim E, got {shapes}")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{_NAME}: key and value must have the same sequence length S (dim -2), got {shapes}")
    if not (query.dtype == key.dtype == value.dtype) or query.dtype.kind != "f":
        raise TypeError(f"{_NAME}: query, key and value must share one floating dtype, got "
                        f"{query.dtype}, {key.dtype}, {value.dtype}")
    if attn_mask is None:
        return
    if is_causal:
        raise ValueError(f"{_NAME}: give either attn_mask or is_causal=True, not both")
    if attn_mask.dtype.kind not in "bf":
        raise TypeError(f"{_NAME}: attn_mask must be bool (True takes part) or floating (added to the scores), "
                        f"got {attn_mask.dtype}")
    target = tuple(query.shape[:-1]) + (key.shape[-2],)
    try:
        xp.broadcast_shapes(tuple(attn_mask.shape), target)
    except ValueError:
        raise ShapeError(f"{_NAME}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to the "
                         f"attention weights (..., L, S) = {target}") from None
