"""k-fold cross-validation for fitness (seed 004: "10-fold cross-validation
accuracy of the machine learning algorithm with those hyperparameters").

``kfold(n, k)`` splits ``range(n)`` into ``k`` folds of sizes differing by at
most one (after an optional seeded shuffle); fold ``i`` is the validation set
of split ``i`` and the rest its training set.  ``cross_val_score`` averages
``fit_score(X[train], y[train], X[val], y[val])`` over the ``k`` splits, so an
objective can return it as its fitness.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

__all__ = ["kfold", "cross_val_score"]


def kfold(n_samples: int, k: int = 10, shuffle: bool = True, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(train_idx, val_idx)`` for each of the ``k`` folds."""
    if not 2 <= k <= n_samples:
        raise ValueError(f"kfold: need 2 <= k <= n_samples, got k={k}, n_samples={n_samples}")
    idx = np.random.default_rng(seed).permutation(n_samples) if shuffle else np.arange(n_samples)
    folds = np.array_split(idx, k)
    for i in range(k):
        yield np.concatenate(folds[:i] + folds[i + 1:]), folds[i]


def cross_val_score(fit_score: Callable, X, y, k: int = 10, shuffle: bool = True, seed: int = 0) -> float:
    """Mean of ``fit_score(X_train, y_train, X_val, y_val)`` over ``k`` folds."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"cross_val_score: X has {len(X)} rows but y has {len(y)}")
    scores = [float(fit_score(X[tr], y[tr], X[va], y[va])) for tr, va in kfold(len(X), k, shuffle, seed)]
    return float(np.mean(scores))
