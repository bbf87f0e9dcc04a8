"""``embedding_bag``: the sum, mean or max of the embedding rows of each bag of indices, without the (n, D)
intermediate leaving this function.

A bag is a row of a 2-D ``input`` (B, L), or, for a 1-D ``input`` of n indices, the run
``input[offsets[b] : offsets[b+1]]`` (the last bag runs to the end unless ``include_last_offset``).
With r_k = weight[input[k]] (times ``per_sample_weights[k]`` in sum mode):
    sum:  out_b = Σ_{k ∈ b} r_k        mean: out_b = (1/|b|) Σ_{k ∈ b} r_k        max: out_b = max_{k ∈ b} r_k
(per dim; the gradient of max goes to the first row that attains it). An empty bag gives zeros, and an index
equal to ``padding_idx`` is left out of its bag, as in PyTorch.
"""
from __future__ import annotations

from ...backend import xp
from ...errors import ShapeError
from ...ops.scatter import index_add
from ...ops.shape import gather
from ...tensor import Tensor
from .sparse import embedding

__all__ = ["embedding_bag"]

_MODES = ("sum", "mean", "max")


def _as_index(x, name: str) -> xp.ndarray:
    a = x._data if isinstance(x, Tensor) else xp.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"embedding_bag: {name} must hold integers, got dtype {a.dtype}")
    return a.astype(xp.int64, copy=False)


def _check_offsets(off: xp.ndarray, n: int) -> None:
    if off.ndim != 1 or off.size == 0 or off[0] != 0 or (off.size > 1 and (xp.diff(off) < 0).any()) \
            or off[-1] > n:
        raise ValueError(f"embedding_bag: offsets must be a non-empty 1-D non-decreasing sequence starting at 0 "
                         f"and at most len(input) = {n}, got {off.tolist()}")


def _offset_bags(idx: xp.ndarray, offsets, include_last_offset: bool) -> tuple:
    """The bags of a 1-D ``idx`` cut at ``offsets``: (indices, bag id of each, number of bags)."""
    if offsets is None:
        raise ValueError("embedding_bag: a 1-D input needs offsets (where each bag starts)")
    off = _as_index(offsets, "offsets")
    _check_offsets(off, idx.size)
    starts = off[:-1] if include_last_offset else off
    bag = xp.searchsorted(starts, xp.arange(idx.size), side="right") - 1
    return idx, bag, starts.size


def _bags(idx: xp.ndarray, offsets, include_last_offset: bool) -> tuple:
    """(flat indices, bag id of each, number of bags)."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None when input is 2-D (each row is a bag)")
        b, n = idx.shape
        return idx.reshape(-1), xp.repeat(xp.arange(b), n), b
    if idx.ndim != 1:
        raise ShapeError(f"embedding_bag: input must be 1-D (with offsets) or 2-D (bags as rows), got shape "
                         f"{idx.shape}")
    return _offset_bags(idx, offsets, include_last_offset)


def _bag_max(rows: Tensor, bag: xp.ndarray, n_bags: int) -> Tensor:
    """Per bag and dim, the row that attains the maximum (the first one), gathered so its gradient flows there."""
    r = rows._data
    n, d = r.shape
    best = xp.full((n_bags, d), -xp.inf, dtype=r.dtype)
    xp.maximum.at(best, bag, r)
    pos = xp.where(r == best[bag], xp.arange(n)[:, None], n)
    first = xp.full((n_bags, d), n, dtype=xp.int64)
    xp.minimum.at(first, bag, pos)
    empty = first == n
    picked = gather(rows, 0, Tensor._make(xp.where(empty, 0, first)))
    return picked * Tensor._make((~empty).astype(r.dtype)) if empty.any() else picked


def _check_mode(mode: str, per_sample_weights) -> None:
    if mode not in _MODES:
        raise ValueError(f"embedding_bag: mode must be one of {_MODES}, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise ValueError(f"embedding_bag: per_sample_weights is only supported for mode='sum' (as in "
                                  f"PyTorch), got mode={mode!r}")


def _weighted(rows: Tensor, per_sample_weights: Tensor, keep, idx: xp.ndarray) -> Tensor:
    """rows_k · per_sample_weights[k] for the indices kept (``keep`` masks out padding_idx, or is None)."""
    w = per_sample_weights.reshape(-1)
    if w.shape[0] != (keep.size if keep is not None else idx.size):
        raise ShapeError(f"embedding_bag: per_sample_weights must have one weight per index, got shape "
                         f"{tuple(per_sample_weights.shape)} for {idx.size} indices")
    return rows * (w[Tensor._make(xp.flatnonzero(keep))] if keep is not None else w).unsqueeze(1)


def _bag_sum_or_mean(rows: Tensor, bag: xp.ndarray, n_bags: int, weight: Tensor, mode: str) -> Tensor:
    zeros = Tensor._make(xp.zeros((n_bags, weight.shape[1]), dtype=weight.dtype))
    out = index_add(zeros, 0, Tensor._make(bag), rows)
    if mode == "sum":
        return out
    counts = xp.bincount(bag, minlength=n_bags).astype(weight.dtype)
    return out * Tensor._make((1.0 / xp.maximum(counts, 1))[:, None])


def embedding_bag(input, weight: Tensor, offsets=None, max_norm=None, norm_type: float = 2.0,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False, padding_idx=None) -> Tensor:
    """The reduced embeddings of each bag: (number of bags, embedding_dim)."""
    _check_mode(mode, per_sample_weights)
    idx, bag, n_bags = _bags(_as_index(input, "input"), offsets, include_last_offset)
    keep = None
    if padding_idx is not None:
        keep = idx != padding_idx % weight.shape[0]
        idx, bag = idx[keep], bag[keep]
    rows = embedding(Tensor._make(idx), weight, max_norm=max_norm, norm_type=norm_type,
                     scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
    if per_sample_weights is not None:
        rows = _weighted(rows, per_sample_weights, keep, idx)
    if mode == "max":
        return _bag_max(rows, bag, n_bags)
    return _bag_sum_or_mean(rows, bag, n_bags, weight, mode)
