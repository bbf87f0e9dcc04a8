"""Multi-head attention (PyTorch's ``multi_head_attention_forward``), sequence-first (L, N, E):

    headᵢ = attention(Q W_qᵢ + b_qᵢ, K W_kᵢ + b_kᵢ, V W_vᵢ + b_vᵢ),   out = concat(head₁ … head_h) W_oᵀ + b_o,

each head of width E/h, scaled by 1/√(E/h). Masks follow ``nn.MultiheadAttention``: a boolean
``key_padding_mask`` (N, S) / ``attn_mask`` (L, S) or (N·h, L, S) is True where attention is NOT
allowed; float masks are added to the scores. With ``need_weights`` the weights (averaged over
heads unless ``average_attn_weights=False``) are returned too.
"""
from __future__ import annotations

import math

from ...errors import ShapeError
from ...ops.linalg import matmul
from ...ops.shape import cat, pad
from ...tensor import Tensor
from ...tensor import zeros as _zeros
from .attention import masked_softmax, scaled_dot_product_attention
from .dropout import dropout
from .linear import linear

__all__ = ["multi_head_attention_forward"]

_NAME = "multi_head_attention_forward"


def canonical_mask(mask: Tensor | None, name: str, dtype) -> Tensor | None:
    """A boolean mask (True = masked out) as a float mask of 0 / −∞ in ``dtype``; a float mask unchanged."""
    if mask is None:
        return None
    if mask.dtype.kind == "b":
        return _zeros(*mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    if mask.dtype.kind != "f":
        raise TypeError(f"{_NAME}: only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask


def _shape_check(query, key, value, key_padding_mask, attn_mask) -> bool:
    """True for batched (3-D) inputs, False for unbatched (2-D); an error for anything else."""
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ShapeError(f"{_NAME}: expected query, key, value all batched 3-D (L, N, E) or all unbatched 2-D "
                         f"(L, E), got {shapes}")
    batched = query.ndim == 3
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ShapeError(f"{_NAME}: key_padding_mask must be {'2-D (N, S)' if batched else '1-D (S,)'} for "
                         f"{query.ndim}-D inputs, got shape {tuple(key_padding_mask.shape)}")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise ShapeError(f"{_NAME}: attn_mask must be 2-D (L, S) or 3-D (N*num_heads, L, S), "
                         f"got shape {tuple(attn_mask.shape)}")
    return batched


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate) -> tuple[Tensor, Tensor, Tensor]:
    e = query.shape[-1]
    bs = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate is not None:
        ws = separate
    elif query is key and key is value:
        q, k, v = linear(query, in_proj_weight, in_proj_bias).unflatten(-1, (3, e)).unbind(-2)
        return q, k, v
    else:
        ws = in_proj_weight.chunk(3)
    return linear(query, ws[0], bs[0]), linear(key, ws[1], bs[1]), linear(value, ws[2], bs[2])


def _prepare_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads):
    if attn_mask is None:
        return None
    want = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
    if tuple(attn_mask.shape) != want:
        raise ShapeError(f"{_NAME}: the {attn_mask.ndim}-D attn_mask should be of size {want}, "
                         f"got {tuple(attn_mask.shape)}")
    return attn_mask.unsqueeze(0) if attn_mask.ndim == 2 else attn_mask


def _add_bias_kv(k, v, bias_k, bias_v, attn_mask, kpm, bsz):
    if bias_k is None and bias_v is None:
        return k, v, attn_mask, kpm
    if bias_k is None or bias_v is None:
        raise ValueError(f"{_NAME}: give both bias_k and bias_v, or neither")
    k = cat([k, bias_k.expand(1, bsz, k.shape[-1])], 0)
    v = cat([v, bias_v.expand(1, bsz, v.shape[-1])], 0)
    return k, v, _pad_last(attn_mask), _pad_last(kpm)


def _pad_last(mask):
    return None if mask is None else pad(mask, (0, 1))


def _heads(x: Tensor, bsz: int, num_heads: int, static: Tensor | None, name: str) -> Tensor:
    """(S, N, E) → (N·h, S, E/h), or the given ``static`` (N·h, S, E/h) projection."""
    head_dim = x.shape[-1] // num_heads
    if static is None:
        return x.reshape(x.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if static.ndim != 3 or static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise ShapeError(f"{_NAME}: {name} must have shape ({bsz * num_heads}, S, {head_dim}), "
                         f"got {tuple(static.shape)}")
    return static


def _merge_masks(attn_mask, kpm, bsz, num_heads, src_len):
    if kpm is None:
        return attn_mask
    if tuple(kpm.shape) != (bsz, src_len):
        raise ShapeError(f"{_NAME}: key_padding_mask should have shape ({bsz}, {src_len}), got {tuple(kpm.shape)}")
    kpm = kpm.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len).reshape(bsz * num_heads, 1, src_len)
    return kpm if attn_mask is None else attn_mask + kpm


def _check_dims(query, key, value, embed_dim_to_check, num_heads, separate):
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise ShapeError(f"{_NAME}: was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim} "
                         f"(query shape {tuple(query.shape)})")
    if embed_dim % num_heads:
        raise ValueError(f"{_NAME}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
    same = key.shape[:2] == value.shape[:2] if separate else key.shape == value.shape
    if not same or key.shape[1] != bsz:
        raise ShapeError(f"{_NAME}: key {tuple(key.shape)} and value {tuple(value.shape)} must match (and share "
                         f"the batch size {bsz} of query {tuple(query.shape)})")


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int,
                                 num_heads: int, in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None,
                                 static_k: Tensor | None = None, static_v: Tensor | None = None,
                                 average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention of (L, N, E) queries over (S, N, kdim) keys and (S, N, vdim) values (or unbatched
    (L, E), (S, kdim), (S, vdim)); returns (attn_output (L, N, E), weights (N, L, S) / (N, h, L, S) or None)."""
    batched = _shape_check(query, key, value, key_padding_mask, attn_mask)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    separate = _separate_weights(use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight)
    _check_dims(query, key, value, embed_dim_to_check, num_heads, separate)
    use_causal, attn_mask, kpm = _canonical_masks(attn_mask, key_padding_mask, is_causal, need_weights, query.dtype)
    tgt_len, bsz, embed_dim = query.shape
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)
    attn_mask = _prepare_attn_mask(attn_mask, tgt_len, key.shape[0], bsz, num_heads)
    k, v, attn_mask, kpm = _add_bias_kv(k, v, bias_k, bias_v, attn_mask, kpm, bsz)
    q = _heads(q, bsz, num_heads, None, "query")
    k, v = _heads(k, bsz, num_heads, static_k, "static_k"), _heads(v, bsz, num_heads, static_v, "static_v")
    if add_zero_attn:
        zero = _zeros(bsz * num_heads, 1, k.shape[-1], dtype=k.dtype)
        k, v = cat([k, zero], 1), cat([v, zero], 1)
        attn_mask, kpm = _pad_last(attn_mask), _pad_last(kpm)
    attn_mask = _merge_masks(attn_mask, kpm, bsz, num_heads, k.shape[1])
    p = dropout_p if training else 0.0
    if need_weights:
        out, weights = _attend_with_weights(q, k, v, attn_mask, p)
        weights = weights.reshape(bsz, num_heads, tgt_len, k.shape[1])
        weights = weights.mean(1) if average_attn_weights else weights
    else:
        out, weights = _attend(q, k, v, attn_mask, p, use_causal, bsz, num_heads), None
    out = linear(out.transpose(0, 1).reshape(tgt_len, bsz, embed_dim), out_proj_weight, out_proj_bias)
    if batched:
        return out, weights
    return out.squeeze(1), None if weights is None else weights.squeeze(0)


def _separate_weights(use, q_proj_weight, k_proj_weight, v_proj_weight):
    if not use:
        return None
    if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
        raise ValueError(f"{_NAME}: use_separate_proj_weight=True needs q_proj_weight, k_proj_weight, v_proj_weight")
    return q_proj_weight, k_proj_weight, v_proj_weight


def _canonical_masks(attn_mask, key_padding_mask, is_causal, need_weights, dtype):
    """(whether the causal mask replaces attn_mask, attn_mask, key_padding_mask) with boolean masks as float.

    ``is_causal`` is a hint that ``attn_mask`` is causal: PyTorch then drops the mask and attends causally
    when there is no key padding and no weights are asked for, and uses the mask otherwise."""
    kpm = canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise ValueError(f"{_NAME}: is_causal=True is a hint that attn_mask is the causal mask; pass attn_mask too "
                         f"(nn.Transformer.generate_square_subsequent_mask(L))")
    use_causal = is_causal and kpm is None and not need_weights
    return use_causal, None if use_causal else canonical_mask(attn_mask, "attn_mask", dtype), kpm


def _attend(q, k, v, attn_mask, p, is_causal, bsz, num_heads):
    """The fused path through scaled_dot_product_attention, heads as a dim of their own."""
    heads = (bsz, num_heads, -1, q.shape[-1])
    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else \
            attn_mask.reshape(bsz, num_heads, -1, k.shape[1])
    out = scaled_dot_product_attention(q.reshape(heads), k.reshape(heads), v.reshape(heads), attn_mask, p, is_causal)
    return out.reshape(bsz * num_heads, q.shape[1], -1)


def _attend_with_weights(q, k, v, attn_mask, p):
    """The explicit path: weights softmax(q kᵀ/√d + mask) (NaN for a row with every key masked, as PyTorch's)."""
    scores = matmul(q * math.sqrt(1.0 / q.shape[-1]), k.transpose(-2, -1))
    weights = masked_softmax(scores, attn_mask, safe=False)
    if p > 0.0:
        weights = dropout(weights, p)
    return matmul(weights, v), weights
