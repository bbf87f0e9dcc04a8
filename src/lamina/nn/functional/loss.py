"""Loss functions with ``reduction='mean' | 'sum' | 'none'``, as in PyTorch.

    mse_loss          (f − y)²                        half_mse_loss   ½‖f_i − y_i‖² per sample
    l1_loss           |f − y|                         huber_loss / smooth_l1_loss
    hinge_loss        max(0, 1 − y·f), y ∈ {−1, +1}   (a convex surrogate of the zero-one loss)
    binary_cross_entropy               −(y log p + (1 − y) log(1 − p)), logs clamped at −100
    binary_cross_entropy_with_logits   (1 − y)x + (1 + (pw − 1)y)·log(1 + e⁻ˣ), stable for any x;
                                       multi-label targets such as [1, 1] work as they are
    cross_entropy     −Σ_c q_c log softmax(x)_c with class indices or class probabilities / one-hot
    nll_loss          −w_y·ℓ_y on log-probabilities ℓ

Every loss is finite, with finite gradients, for logits as large as ±1e4.
"""
from __future__ import annotations

from ...autograd.op import batched_api, is_batched, per_sample_if_batched
from ...backend import int64, xp
from ...errors import ShapeError
from ...ops import activations as _act
from ...ops import losses as _losses
from ...ops.elementwise import abs as _abs
from ...ops.elementwise import relu, where
from ...ops.reduce import log_softmax, mean
from ...ops.reduce import sum as _sum
from ...ops.shape import permute, reshape, unsqueeze
from ...tensor import Tensor
from .._array import _array_of

__all__ = ["mse_loss", "half_mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "hinge_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
           "multilabel_soft_margin_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return _sum(loss)
    return loss


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _as_target(target, like: Tensor) -> Tensor:
    if isinstance(target, Tensor):
        return target
    arr = xp.asarray(target)
    if arr.dtype.kind in "fiub" and like.dtype.kind == "f":
        arr = arr.astype(like.dtype)
    return Tensor._make(arr)


def _same_shape(name, input: Tensor, target: Tensor) -> None:
    """Target must have the input's shape (or broadcast to it without changing it)."""
    if tuple(input.shape) == tuple(target.shape):
        return
    try:
        ok = xp.broadcast_shapes(input.shape, target.shape) == tuple(input.shape)
    except ValueError:
        ok = False
    if ok:
        return
    hint = ""
    a, b = tuple(input.shape), tuple(target.shape)
    if a[:1] == b[:1] and (a[1:] == (1,) and b[1:] == () or b[1:] == (1,) and a[1:] == ()):
        hint = (" — a (N, 1) against an (N,) tensor would broadcast to (N, N) and silently compute the wrong "
                "loss; use target.unsqueeze(1) or input.squeeze(1) so both are the same shape")
    raise ShapeError(f"{name}: input shape {a} and target shape {b} must be the same{hint}")


def _float_target(name, input: Tensor, target) -> Tensor:
    t = _as_target(target, input)
    _same_shape(name, input, t)
    if t.dtype != input.dtype and t.dtype.kind in "iub":
        t = Tensor._make(t._data.astype(input.dtype))
    return t


# ---------------------------------------------------------------------------- regression
def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """(f − y)², averaged over every element with reduction='mean'."""
    _check_reduction("mse_loss", reduction)
    d = input - _float_target("mse_loss", input, target)
    return _reduce(d * d, reduction)


def half_mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """The quadratic loss ½‖f(x_i) − y_i‖² per sample (summed over every dim but the batch dim 0),
    then averaged ('mean') or summed over the batch; 'none' gives one value per sample.

    For scalar outputs (shape (N,) or (N, 1)) it is ½·mse_loss: J = 1/(2m) Σ_i (f_i − y_i)²."""
    _check_reduction("half_mse_loss", reduction)
    d = input - _float_target("half_mse_loss", input, target)
    sq = d * d * 0.5
    per = _sum(sq, tuple(range(1, sq.ndim))) if sq.ndim > 1 else sq
    return _reduce(per, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """|f − y|."""
    _check_reduction("l1_loss", reduction)
    return _reduce(_abs(input - _float_target("l1_loss", input, target)), reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """½d² where |d| < δ, δ(|d| − ½δ) elsewhere (d = f − y)."""
    _check_reduction("huber_loss", reduction)
    d = input - _float_target("huber_loss", input, target)
    a = _abs(d)
    small = a._data < delta
    return _reduce(where(small, d * d * 0.5, (a - 0.5 * delta) * delta), reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """½d²/β where |d| < β, |d| − ½β elsewhere (huber_loss / β)."""
    _check_reduction("smooth_l1_loss", reduction)
    if beta == 0:
        return l1_loss(input, target, reduction)
    d = input - _float_target("smooth_l1_loss", input, target)
    a = _abs(d)
    return _reduce(where(a._data < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


# ---------------------------------------------------------------------------- margin
def hinge_loss(input: Tensor, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """max(0, margin − y·f) for labels y ∈ {−1, +1}; zero once y·f ≥ margin."""
    _check_reduction("hinge_loss", reduction)
    y = _float_target("hinge_loss", input, target)
    vals = xp.unique(y._data)
    if not xp.all(xp.isin(vals, (-1, 1))):
        shown = vals[:6].tolist()
        raise ValueError(f"hinge_loss: labels must be -1 or +1, got values {shown}"
                         + (" (for 0/1 labels use 2 * y - 1)" if xp.all(xp.isin(vals, (0, 1))) else ""))
    return _reduce(relu(margin - y * input), reduction)


# ---------------------------------------------------------------------------- binary
def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """−w(y log p + (1 − y) log(1 − p)) on probabilities p ∈ [0, 1] and targets y ∈ [0, 1] (others raise
    ValueError); each log is clamped at −100 as in PyTorch, so p = 0 or 1 gives a finite loss. Prefer
    binary_cross_entropy_with_logits on logits (any real target is accepted there, as in PyTorch)."""
    _check_reduction("binary_cross_entropy", reduction)
    y = _float_target("binary_cross_entropy", input, target)
    p = input._data
    if p.size and not is_batched(input) and (p.min() < 0 or p.max() > 1 or xp.isnan(p).any()):
        raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1], got values in "
                         f"[{p.min():.4g}, {p.max():.4g}] (for logits use binary_cross_entropy_with_logits)")
    t = y._data
    if t.size and (t.min() < 0 or t.max() > 1):  # as PyTorch, which refuses them too
        raise ValueError(f"binary_cross_entropy: target must hold values in [0, 1], got values in "
                         f"[{t.min():.4g}, {t.max():.4g}] (binary_cross_entropy_with_logits accepts any target)")
    loss = _losses.binary_cross_entropy_elementwise(input, y)
    if weight is not None:
        loss = loss * _as_target(weight, input)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """σ + binary cross-entropy in one stable formula:

        ℓ = (1 − y)·x + (1 + (pw − 1)·y)·log(1 + e⁻ˣ),   log(1 + e⁻ˣ) = max(−x, 0) + log1p(e^{−|x|}),

    ``pos_weight`` (broadcast along the last dim, one per class) weighs positives; ``weight`` each element.
    Targets may be soft, and multi-label ([1, 1] means both classes)."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    y = _float_target("binary_cross_entropy_with_logits", input, target)
    sp = _act.softplus(-input, 1.0, None)
    if pos_weight is not None:
        pw = _as_target(pos_weight, input)
        loss = (1.0 - y) * input + ((pw - 1.0) * y + 1.0) * sp
    else:
        loss = (1.0 - y) * input + sp
    if weight is not None:
        loss = loss * _as_target(weight, input)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """Multi-label loss on (N, C) logits with 0/1 targets: BCE-with-logits averaged over the C classes."""
    _check_reduction("multilabel_soft_margin_loss", reduction)
    per = binary_cross_entropy_with_logits(input, target, weight, reduction="none")
    return _reduce(mean(per, -1), reduction)


# ---------------------------------------------------------------------------- multi-class
def _class_dim(input: Tensor) -> int:
    """The dim holding the classes: 1 for (N, C, ...) inputs, 0 for a single (C,) sample."""
    return 1 if input.ndim > 1 else 0


def _index_target(name: str, input: Tensor, target, ignore_index: int) -> tuple[xp.ndarray, bool]:
    """The targets as int64, checked: each is a class 0..C-1 or ignore_index; and whether all are classes
    (so none is ignored)."""
    t = _array_of(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be integers, got dtype {t.dtype} "
                        "(use target.long(); for class probabilities pass a float target shaped like the input)")
    expected = (tuple(input.shape[:1]) + tuple(input.shape[2:])) if input.ndim >= 2 else ()
    if tuple(t.shape) != expected:
        raise ShapeError(f"{name}: input of shape {tuple(input.shape)} (classes on dim {_class_dim(input)}) "
                         f"needs a target of shape {expected}, got {tuple(t.shape)}")
    in_range = _check_classes(name, t, input.shape[_class_dim(input)], ignore_index)
    return t.astype(int64, copy=False), in_range


def _check_classes(name: str, t: xp.ndarray, c: int, ignore_index: int) -> bool:
    """Whether every target is a class 0..c-1; an IndexError for one that is neither a class nor ignore_index."""
    in_range = not t.size or (t.min() >= 0 and t.max() < c)  # two cheap reductions; details only on failure
    if not in_range:
        bad = (t != ignore_index) & ((t < 0) | (t >= c))
        if bad.any():
            raise IndexError(f"{name}: target value {int(t[bad].reshape(-1)[0])} is out of range for {c} classes "
                             f"(expected 0 .. {c - 1}, or ignore_index={ignore_index})")
    return bool(in_range)


def _rows(input: Tensor, t: xp.ndarray):
    """(M, C) logits and (M,) targets: classes moved to the last dim, other dims flattened."""
    if input.ndim == 1:
        return unsqueeze(input, 0), t.reshape(1)
    if input.ndim == 2:
        return input, t
    c = input.shape[1]
    last = permute(input, (0,) + tuple(range(2, input.ndim)) + (1,))  # classes last
    return reshape(last, (-1, c)), t.reshape(-1)


def _weight_array(weight, input: Tensor, c: int):
    if weight is None:
        return None
    w = _array_of(weight)
    if w.shape != (c,):
        raise ShapeError(f"class weight must have shape ({c},) (one per class), got {tuple(w.shape)}")
    return w.astype(input.dtype, copy=False)


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d1, ...) or (C,) against

    * class indices (integer target of shape (N,) / (N, d1, ...)): one fused op, log-softmax and NLL
      in one pass, gradient softmax − one-hot; supports ``weight``, ``ignore_index``, ``label_smoothing``;
    * class probabilities / one-hot (float target shaped like the input): −Σ_c y_c log softmax(x)_c.

    reduction='mean' divides by the summed weights of the non-ignored targets (index targets) or by the
    number of samples (probability targets), exactly as PyTorch does."""
    _check_reduction("cross_entropy", reduction)
    if is_batched(input) or is_batched(target):
        return _cross_entropy_batched(input, target, weight, ignore_index, reduction, label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:
        raise ShapeError("cross_entropy: input must have a class dim, got a 0-d tensor")
    cdim = _class_dim(input)
    c = input.shape[cdim]
    w = _weight_array(weight, input, c)
    traw = _array_of(target)
    if traw.dtype.kind in "fb" and (tuple(traw.shape) == tuple(input.shape) or input.ndim == 1):
        return _cross_entropy_probs(input, _float_target("cross_entropy", input, target), w, cdim, c,
                                    reduction, label_smoothing)
    t, in_range = _index_target("cross_entropy", input, target, ignore_index)
    x2, t2 = _rows(input, t)
    # every target is a class 0..C-1, and ignore_index is not one: nothing to ignore
    none_ignored = in_range and not 0 <= ignore_index < c
    loss = _losses.cross_entropy_indices(x2, t2, w, ignore_index, label_smoothing, reduction, none_ignored)
    if reduction == "none":
        loss = reshape(loss, t.shape)
    return loss


def _cross_entropy_batched(input, target, weight, ignore_index, reduction, label_smoothing):
    """Under vmap, class-index targets of (N, C) or (C,) logits: the rows of all samples in one call with
    reduction='none', then reduced per sample; other forms go sample by sample."""
    index = isinstance(target, Tensor) and target.dtype.kind in "iu"
    if weight is not None or not index or input.ndim not in (1, 2):
        def one(x, t):
            return cross_entropy(x, t, weight, ignore_index, reduction, label_smoothing)

        return batched_api["per_sample"](one, (input, target))
    rows, targets, unfold = batched_api["fold_rows"](input, target)
    per = unfold(cross_entropy(rows, targets, None, ignore_index, "none", label_smoothing))
    if reduction == "none":
        return per
    if reduction == "sum":
        return _sum(per)
    return _sum(per) / _sum(target != ignore_index).to(per.dtype)


def _cross_entropy_probs(input, y, w, cdim, c, reduction, eps):
    logp = log_softmax(input, cdim)
    q = y if not eps else y * (1.0 - eps) + eps / c
    if w is not None:
        shape = [1] * input.ndim
        shape[cdim] = c
        q = q * Tensor._make(w.reshape(shape))
    per = -_sum(logp * q, cdim)
    return _reduce(per, reduction)


@per_sample_if_batched(1, 'target')
def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """−w_{y}·input[y] on log-probabilities (pair with log_softmax); 'mean' divides by Σ w_y of the kept targets."""
    _check_reduction("nll_loss", reduction)
    if input.ndim == 0:
        raise ShapeError("nll_loss: input must have a class dim, got a 0-d tensor")
    t, _ = _index_target("nll_loss", input, target, ignore_index)
    c = input.shape[_class_dim(input)]
    w = _weight_array(weight, input, c)
    x2, t2 = _rows(input, t)
    valid = t2 != ignore_index
    tt = xp.where(valid, t2, 0)
    wr = (w[tt] if w is not None else xp.ones(tt.shape, dtype=input.dtype)) * valid
    wr = wr.astype(input.dtype, copy=False)
    picked = x2[xp.arange(tt.size), tt]
    per = -picked * Tensor._make(wr)
    if reduction == "none":
        return reshape(per, t.shape)
    total = _sum(per)
    return total / float(wr.sum()) if reduction == "mean" else total
