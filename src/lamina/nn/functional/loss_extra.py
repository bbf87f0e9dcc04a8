"""KL divergence and triplet margin losses, as ``torch.nn.functional``.

    kl_div(x, y) = y (log y − x) pointwise, 0 where y = 0  (x holds log-probabilities);
                   with log_target: eʸ (y − x)
    triplet_margin_loss(a, p, n) = max(d(a, p) − d(a, n) + margin, 0),  d = pairwise_distance
                   (with swap: d(a, n) replaced by min(d(a, n), d(p, n)))
reduction 'mean' | 'sum' | 'none', and for kl_div also 'batchmean' (the sum divided by the batch size).
"""
from __future__ import annotations

from ...ops.elementwise import exp, minimum, relu
from ...ops.reduce import sum as _sum
from ...ops.special import xlogy
from ...tensor import Tensor
from .distance import pairwise_distance
from .loss import _check_reduction, _float_target, _reduce

__all__ = ["kl_div", "triplet_margin_loss"]


def kl_div(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Σ y (log y − x) with x the log-probabilities of the model and y the target probabilities (or
    log-probabilities with ``log_target``); 'batchmean' divides the sum by input.shape[0]."""
    if reduction != "batchmean":
        _check_reduction("kl_div", reduction)
    if size_average is not None or reduce is not None:
        raise ValueError("kl_div: size_average and reduce are deprecated; use reduction=")
    y = _float_target("kl_div", input, target)
    pointwise = exp(y) * (y - input) if log_target else xlogy(y, y) - y * input
    if reduction == "batchmean":
        return _sum(pointwise) / (input.shape[0] if input.ndim else 1)
    return _reduce(pointwise, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(d(a, p) − d(a, n) + margin, 0) for each triplet, d the p-norm distance along the last dim."""
    _check_reduction("triplet_margin_loss", reduction)
    if size_average is not None or reduce is not None:
        raise ValueError("triplet_margin_loss: size_average and reduce are deprecated; use reduction=")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(relu(d_pos - d_neg + margin), reduction)
