"""Train / validation / test splits.

The training set fits the weights, the validation set checks
generalisation and tunes hyperparameters, the test set is touched only at
the very end. Typical ratios are 60/20/20 and 80/10/10.

Sizes use the largest-remainder rule: each part gets ``floor(ratio * n)``
samples and the samples left over go one each to the parts with the largest
fractional remainders (earlier parts first on ties), so the sizes always add
up to ``n`` and are as close to the ratios as integers allow. A stratified
split keeps each class's share in every part within one sample of its share
in the whole set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._indexing import as_labels, num_samples, take

__all__ = ["train_val_test_indices", "train_val_test_split", "split_sizes"]


def split_sizes(n: int, ratios: Sequence[float]) -> np.ndarray:
    """Integer sizes summing to ``n`` closest to ``ratios * n`` (largest remainder)."""
    r = np.asarray(ratios, dtype=np.float64)
    if r.ndim != 1 or len(r) < 1 or (r < 0).any() or not np.isfinite(r).all():
        raise ValueError(f"split_sizes: ratios must be non-negative numbers, got {list(ratios)}")
    if abs(r.sum() - 1.0) > 1e-6:
        raise ValueError(f"split_sizes: ratios must sum to 1, got {list(ratios)} (sum {r.sum():.6g})")
    raw = r * n
    sizes = np.floor(raw + 1e-9).astype(np.int64)
    left = n - int(sizes.sum())
    if left > 0:
        order = np.argsort(-(raw - sizes), kind="stable")
        sizes[order[:left]] += 1
    return sizes


def _stratified_order(codes: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """A sample order whose every prefix holds each class in proportion (±1).

    The ``q``-th member (0-based) of a class of size ``c`` gets the key
    ``(q + 0.5) / c``; sorting by key interleaves the classes evenly, so
    cutting the order into consecutive parts stratifies every part.
    Members are ranked in random order and ties broken at random when
    ``rng`` is given, else in index order.
    """
    n = len(codes)
    base = rng.permutation(n) if rng is not None else np.arange(n)
    grouped = base[np.argsort(codes[base], kind="stable")]
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(n) - starts[codes[grouped]]
    key = np.empty(n)
    key[grouped] = (rank + 0.5) / counts[codes[grouped]]
    tie = rng.random(n) if rng is not None else np.arange(n)
    return np.lexsort((tie, key))


def train_val_test_indices(
    n, ratios: Sequence[float] = (0.6, 0.2, 0.2), *, stratify=None, seed=None, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays ``(train, val, test)`` partitioning ``range(n)``.

    Args:
        n: number of samples (or anything with ``len`` / ``shape[0]``).
        ratios: three non-negative fractions summing to 1, e.g. ``(0.8, 0.1, 0.1)``.
        stratify: class labels (length ``n``) to keep class shares equal across parts.
        seed: int seed or ``np.random.Generator``; same seed, same split.
        shuffle: draw the parts at random (default). ``False`` cuts ``range(n)``
            in order (train first), or, with ``stratify``, deterministically.

    With ``shuffle=True`` each part is returned in random order; otherwise sorted.
    """
    n = num_samples(n, "train_val_test_indices")
    if len(ratios) != 3:
        raise ValueError(f"train_val_test_indices: ratios must have 3 entries (train, val, test), got {list(ratios)}")
    sizes = split_sizes(n, ratios)
    rng = np.random.default_rng(seed) if shuffle else None
    if stratify is not None:
        order = _stratified_order(as_labels(stratify, n, "train_val_test_indices"), rng)
    else:
        order = rng.permutation(n) if rng is not None else np.arange(n)
    parts = np.split(order, np.cumsum(sizes)[:-1])
    if rng is None:
        parts = [np.sort(p) for p in parts]
    elif stratify is not None:
        parts = [rng.permutation(p) for p in parts]
    train, val, test = (p.astype(np.int64) for p in parts)
    return train, val, test


def train_val_test_split(*arrays, ratios: Sequence[float] = (0.6, 0.2, 0.2), stratify=None, seed=None,
                         shuffle: bool = True) -> list:
    """Split arrays into train / validation / test parts (60/20/20 by default).

    Like scikit-learn's ``train_test_split`` with three parts::

        X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
            X, y, ratios=(0.8, 0.1, 0.1), stratify=y, seed=0)

    Arrays (NumPy arrays, lamina or torch tensors, lists) must share their
    first dimension; each is indexed once with an integer array, so tensors
    stay tensors. See :func:`train_val_test_indices` for the arguments.
    """
    if not arrays:
        raise ValueError("train_val_test_split: pass at least one array")
    lengths = [num_samples(a, "train_val_test_split") for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"train_val_test_split: arrays have different numbers of samples {lengths}")
    parts = train_val_test_indices(lengths[0], ratios, stratify=stratify, seed=seed, shuffle=shuffle)
    return [take(a, idx) for a in arrays for idx in parts]
