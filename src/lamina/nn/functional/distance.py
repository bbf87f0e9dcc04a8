"""Similarities and distances between pairs of vectors, and the bilinear form.

    cosine_similarity(x₁, x₂) = Σ (x₁/max(‖x₁‖, ε)) (x₂/max(‖x₂‖, ε)) along ``dim`` (the max not differentiated)
    pairwise_distance(x₁, x₂) = ‖x₁ − x₂ + ε‖_p along the last dim
    bilinear(x₁, x₂, A, b)_o = Σ_ij x₁ᵢ A_oij x₂ⱼ + b_o
"""
from __future__ import annotations

from ...errors import ShapeError
from ...ops.linalg_extra import einsum
from ...ops.reduce import norm
from ...ops.reduce import sum as _sum
from ...tensor import Tensor

__all__ = ["cosine_similarity", "pairwise_distance", "bilinear"]


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x₁ and x₂ along ``dim`` (broadcast together), each norm's value clamped
    below by ε; as in PyTorch the clamp is not differentiated (the gradient is that of the plain norm)."""
    return _sum((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps)), dim)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    n = norm(x, 2, dim, keepdim=True)
    value = n.detach()
    return n + (value.clamp(min=eps) - value)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """‖x₁ − x₂ + ε‖_p over the last dim (ε keeps the gradient finite when x₁ = x₂)."""
    d = x1 - x2 + eps
    return norm(d, p, -1 if d.ndim else None, keepdim=keepdim)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x₁ᵀ A_o x₂ + b_o for each output o; x₁ (*, in1), x₂ (*, in2), A (out, in1, in2), b (out,)."""
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise ShapeError(f"bilinear: inputs (*, {weight.shape[1] if weight.ndim == 3 else 'in1'}) and "
                         f"(*, {weight.shape[2] if weight.ndim == 3 else 'in2'}) expected for weight of shape "
                         f"{tuple(weight.shape)} (out, in1, in2); got {tuple(input1.shape)} and {tuple(input2.shape)}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise ShapeError(f"bilinear: the inputs' leading dims differ: {tuple(input1.shape)} and {tuple(input2.shape)}")
    lead = tuple(input1.shape[:-1])
    a, b = input1.reshape(-1, input1.shape[-1]), input2.reshape(-1, input2.shape[-1])
    y = einsum("bi,oij,bj->bo", a, weight, b)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, weight.shape[0])
