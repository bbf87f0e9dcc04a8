"""``MultiheadAttention``: h heads of scaled dot-product attention over learned projections,

    out = concat(head₁ … head_h) W_oᵀ + b_o,   headᵢ = softmax((Q W_qᵢ)(K W_kᵢ)ᵀ/√(E/h) + mask) V W_vᵢ,

with PyTorch's parameters: ``in_proj_weight`` (3E, E) stacking W_q, W_k, W_v (or ``q_proj_weight``,
``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) when kdim / vdim differ from E), ``in_proj_bias``
(3E,), ``out_proj`` (a Linear(E, E)), optional ``bias_k`` / ``bias_v`` (1, 1, E). Formulas and mask
conventions in ``lamina.nn.functional.multi_head_attention``.
"""
from __future__ import annotations

from ...backend import as_dtype, check_device, get_default_dtype
from ...tensor import Parameter, Tensor
from ...tensor import empty as _empty
from .. import init
from ..functional.multi_head_attention import multi_head_attention_forward
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under the name PyTorch gives ``MultiheadAttention.out_proj``."""


class MultiheadAttention(Module):
    """Attention of queries (L, N, E) over keys (S, N, kdim) and values (S, N, vdim) — (N, L, E) … with
    ``batch_first=True``, or unbatched (L, E) — returning (output (L, N, E), weights (N, L, S) or None).

    Initialised as PyTorch: projection weights xavier_uniform_, ``in_proj_bias`` and ``out_proj.bias`` 0,
    ``bias_k`` / ``bias_v`` xavier_normal_, ``out_proj.weight`` as a Linear's."""

    in_proj_weight: Parameter | None
    in_proj_bias: Parameter | None
    q_proj_weight: Parameter | None
    k_proj_weight: Parameter | None
    v_proj_weight: Parameter | None
    bias_k: Parameter | None
    bias_v: Parameter | None

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        check_device(device)
        embed_dim, num_heads = int(embed_dim), int(num_heads)
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, got embed_dim="
                             f"{embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim="
                             f"{embed_dim} and num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.kdim = embed_dim if kdim is None else int(kdim)
        self.vdim = embed_dim if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        dt = as_dtype(dtype) or get_default_dtype()
        self._register_weights(bias, add_bias_kv, dt)
        self._reset_parameters()

    def _register_weights(self, bias: bool, add_bias_kv: bool, dt) -> None:
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_empty(3 * e, e, dtype=dt))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(_empty(e, e, dtype=dt))
            self.k_proj_weight = Parameter(_empty(e, self.kdim, dtype=dt))
            self.v_proj_weight = Parameter(_empty(e, self.vdim, dtype=dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_empty(3 * e, dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(e, e, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(_empty(1, 1, e, dtype=dt))
            self.bias_v = Parameter(_empty(1, 1, e, dtype=dt))
        else:
            self.bias_k = self.bias_v = None

    def _reset_parameters(self) -> None:
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None and self.out_proj.bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        batched = query.ndim == 3
        if self.batch_first and batched:
            query, key, value = _seq_first(query, key, value)
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights


def _seq_first(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(N, L, E) → (L, N, E), keeping ``query is key is value`` (self-attention projects once)."""
    if query is key and key is value:
        q = query.transpose(1, 0)
        return q, q, q
    if key is value:
        q, k = query.transpose(1, 0), key.transpose(1, 0)
        return q, k, k
    return query.transpose(1, 0), key.transpose(1, 0), value.transpose(1, 0)
