"""``KLDivLoss`` and ``TripletMarginLoss`` (formulas in ``lamina.nn.functional.loss_extra``)."""
from __future__ import annotations

from .. import functional as F
from .loss import _Loss
from .module import Module

__all__ = ["KLDivLoss", "TripletMarginLoss"]


class KLDivLoss(Module):
    """Σ y (log y − x) with x log-probabilities; reduction 'mean' (default), 'batchmean', 'sum' or 'none'."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
        super().__init__()
        if reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
        if size_average is not None or reduce is not None:
            raise ValueError("KLDivLoss: size_average and reduce are deprecated; use reduction=")
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class TripletMarginLoss(_Loss):
    """max(d(a, p) − d(a, n) + margin, 0), d the p-norm distance."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average=None, reduce=None, reduction: str = "mean"):
        if size_average is not None or reduce is not None:
            raise ValueError("TripletMarginLoss: size_average and reduce are deprecated; use reduction=")
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     reduction=self.reduction)
