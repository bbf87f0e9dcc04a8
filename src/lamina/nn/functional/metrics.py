"""Classification metrics (no gradient): accuracy and the zero-one loss, (1/m) Σ_i [ŷ_i ≠ y_i].

The zero-one loss counts mistakes; its derivative is 0 almost everywhere, which is why training
minimises a surrogate (hinge, cross-entropy) and reports this one.

How predictions are read from ``input``:

* class scores (N, C) or (N, C, d1, ...) with integer class-index targets (N,) / (N, d1, ...): the
  predicted class is the argmax over dim 1 (for one-hot targets pass ``target.argmax(1)``);
* binary or multi-label scores with a target of the same shape: an element is predicted positive when
  score > ``threshold`` (0 for logits or margins, use 0.5 for probabilities); the target is positive
  when > 0, so both {0, 1} and {−1, +1} labels work. Each element counts once (Hamming accuracy).
"""
from __future__ import annotations

from ...backend import float32, int64, xp
from ...errors import ShapeError
from ...tensor import Tensor
from .._array import _array_of

__all__ = ["accuracy", "zero_one_loss"]


def _correct(input, target, threshold: float) -> xp.ndarray:
    x, t = _array_of(input), _array_of(target)
    if x.ndim == t.ndim + 1 and t.dtype.kind in "iub":
        if x.shape[:1] + x.shape[2:] != t.shape:
            raise ShapeError(f"accuracy: scores of shape {tuple(x.shape)} need class-index targets of shape "
                             f"{x.shape[:1] + x.shape[2:]}, got {tuple(t.shape)}")
        return xp.argmax(x, axis=1) == t
    if x.shape != t.shape:
        squeezed = x.reshape(t.shape) if x.size == t.size and x.ndim == t.ndim + 1 and x.shape[-1] == 1 else None
        if squeezed is None:
            raise ShapeError(f"accuracy: input shape {tuple(x.shape)} and target shape {tuple(t.shape)} do not match: give class "
                             "scores (N, C) with integer targets (N,), or scores and 0/1 (or ±1) labels of one shape")
        x = squeezed
    return (x > threshold) == (t > 0)


def accuracy(input, target, threshold: float = 0.0, reduction: str = "mean") -> Tensor:
    """Fraction of correct predictions ('mean'), their number ('sum') or a 0/1 per prediction ('none')."""
    ok = _correct(input, target, threshold)
    return _finish(ok, reduction)


def zero_one_loss(input, target, threshold: float = 0.0, reduction: str = "mean") -> Tensor:
    """Fraction of mistakes ('mean'), their number ('sum') or a 0/1 per prediction ('none'); 1 − accuracy."""
    ok = _correct(input, target, threshold)
    return _finish(~ok, reduction)


def _finish(hit: xp.ndarray, reduction: str) -> Tensor:
    if reduction == "mean":
        return Tensor._make(xp.asarray(hit.mean() if hit.size else xp.nan, dtype=float32))
    if reduction == "sum":
        return Tensor._make(xp.asarray(hit.sum(), dtype=int64))
    if reduction == "none":
        return Tensor._make(hit.astype(float32))
    raise ValueError(f"accuracy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
