"""k-fold cross-validation as a search objective's fitness (e.g. 10-fold cross-validated
accuracy of the model trained with the trial's hyperparameters).

``kfold`` and ``cross_val_score`` are thin uses of ``lamina.utils.data``'s ``KFold`` and
``cross_validate``: ``kfold(n, k)`` yields the ``(train_idx, val_idx)`` pairs of ``range(n)``
cut into ``k`` folds of sizes differing by at most one (after an optional seeded shuffle);
``cross_val_score`` averages ``fit_score(X[train], y[train], X[val], y[val])`` over the
folds, so an objective can return it as its fitness.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..utils.data import KFold, cross_validate

__all__ = ["kfold", "cross_val_score"]


def _splitter(k: int, shuffle: bool, seed: int) -> KFold:
    return KFold(k, shuffle=shuffle, seed=seed if shuffle else None)


def kfold(n_samples: int, k: int = 10, shuffle: bool = True, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(train_idx, val_idx)`` for each of the ``k`` folds (``KFold(k, shuffle, seed).split``)."""
    yield from _splitter(k, shuffle, seed).split(n_samples)


def cross_val_score(fit_score: Callable, X, y, k: int = 10, shuffle: bool = True, seed: int = 0) -> float:
    """Mean of ``fit_score(X_train, y_train, X_val, y_val)`` over ``k`` folds."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"cross_val_score: X has {len(X)} rows but y has {len(y)}")
    result = cross_validate(lambda tr, va: fit_score(X[tr], y[tr], X[va], y[va]), X, cv=_splitter(k, shuffle, seed))
    return result.mean
