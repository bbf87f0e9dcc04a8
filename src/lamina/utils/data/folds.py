"""k-fold cross-validation: each fold of the training data is the validation data once (for
instance a hyperparameter search's fitness by 10-fold cross-validation).

``KFold`` and ``StratifiedKFold`` yield ``(train_idx, val_idx)`` pairs like
scikit-learn's splitters, and give exactly scikit-learn's folds when
``shuffle=False``. :func:`cross_validate` runs a user's train-and-score
function on every fold.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ._indexing import as_labels, num_samples

__all__ = ["KFold", "StratifiedKFold", "cross_validate", "CVResult"]


class _Folds:
    """Shared constructor and ``split`` loop; subclasses assign a fold number to every sample."""

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, seed=None, random_state=None):
        name = type(self).__name__
        if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
            raise ValueError(f"{name}: n_splits must be an int >= 2, got {n_splits!r}")
        if seed is not None and random_state is not None:
            raise ValueError(f"{name}: give seed or random_state (its scikit-learn name), not both")
        seed = seed if seed is not None else random_state
        if seed is not None and not shuffle:
            raise ValueError(f"{name}: seed={seed!r} has no effect with shuffle=False; pass shuffle=True or no seed")
        self.n_splits, self.shuffle, self.seed = int(n_splits), bool(shuffle), seed

    def get_n_splits(self, X=None, y=None) -> int:
        """Number of folds."""
        return self.n_splits

    def _fold_of(self, n: int, y, rng) -> np.ndarray:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} does not assign folds")

    def split(self, X, y=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, val_idx)`` int64 arrays (both sorted), one pair per fold.

        ``X`` is only used for its number of samples (array, dataset or int).
        With ``shuffle=True`` an int ``seed`` gives the same folds on every call.
        """
        n = num_samples(X, f"{type(self).__name__}.split")
        if self.n_splits > n:
            raise ValueError(f"{type(self).__name__}.split: n_splits={self.n_splits} is greater than the number of samples {n}")
        rng = np.random.default_rng(self.seed) if self.shuffle else None
        fold = self._fold_of(n, y, rng)
        for k in range(self.n_splits):
            yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_splits={self.n_splits}, shuffle={self.shuffle}, seed={self.seed!r})"


class KFold(_Folds):
    """Split ``n`` samples into ``n_splits`` consecutive folds; each fold is the validation set once.

    The first ``n % n_splits`` folds have ``n // n_splits + 1`` samples, the
    others ``n // n_splits``. ``shuffle=True`` permutes the samples first.
    """

    def _fold_of(self, n: int, y, rng) -> np.ndarray:
        k = self.n_splits
        sizes = np.full(k, n // k) + (np.arange(k) < n % k)
        order = rng.permutation(n) if rng is not None else np.arange(n)
        fold = np.empty(n, dtype=np.int64)
        fold[order] = np.repeat(np.arange(k), sizes)
        return fold


class StratifiedKFold(_Folds):
    """k folds that each keep the class proportions of ``y``.

    Take the samples sorted by class (classes in order of first appearance)
    and deal them to folds round-robin, 0, 1, ..., k-1, 0, 1, ...; this fixes
    how many members of each class every fold gets. Then each class's
    members, in index order (``shuffle=False``) or random order, fill fold 0's
    quota, then fold 1's, and so on. This gives scikit-learn's folds when
    ``shuffle=False``. ``y`` may be 2-D (one-hot rows): each distinct row is a class.
    """

    def split(self, X, y=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if y is None:
            raise ValueError("StratifiedKFold.split: y (the class labels) is required")
        return super().split(X, y)

    def _fold_of(self, n: int, y, rng) -> np.ndarray:
        k = self.n_splits
        codes = as_labels(y, n, "StratifiedKFold.split")
        _, first = np.unique(codes, return_index=True)
        codes = np.argsort(np.argsort(first))[codes]  # renumber classes by first appearance
        counts = np.bincount(codes)
        if k > counts.max():
            raise ValueError(
                f"StratifiedKFold.split: n_splits={k} is greater than the number of members of every class "
                f"(largest class has {counts.max()})"
            )
        if k > counts.min():
            warnings.warn(
                f"StratifiedKFold.split: the smallest class has only {counts.min()} members, fewer than n_splits={k}",
                UserWarning, stacklevel=3,
            )
        n_classes = len(counts)
        dealt = np.repeat(np.arange(n_classes), counts) * k + np.arange(n) % k
        quota = np.bincount(dealt, minlength=n_classes * k)  # quota[c * k + f]: members of class c in fold f
        folds_by_class = np.repeat(np.tile(np.arange(k), n_classes), quota)
        tie = rng.random(n) if rng is not None else np.arange(n)
        members = np.lexsort((tie, codes))  # grouped by class; index or random order within a class
        fold = np.empty(n, dtype=np.int64)
        fold[members] = folds_by_class
        return fold


@dataclass(frozen=True)
class CVResult:
    """Per-fold scores of :func:`cross_validate`, their mean and (population, ddof=0) std."""

    scores: np.ndarray
    mean: float
    std: float

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.std:.2g} over {len(self.scores)} folds"


def cross_validate(fit_score: Callable[[np.ndarray, np.ndarray], float], X, y=None, k: int = 5, *, seed=None,
                   shuffle: bool = True, cv=None) -> CVResult:
    """k-fold cross-validation of a user function.

    For each fold, calls ``fit_score(train_idx, val_idx)``: the function
    builds a fresh model, trains it on the samples ``train_idx`` (int arrays
    into your data) and returns one number measured on ``val_idx`` (accuracy,
    loss, ...; anything ``float()`` accepts, including 0-d tensors)::

        def fit_score(train_idx, val_idx):
            model = make_model()
            fit(model, X[train_idx], y[train_idx])
            return accuracy(model, X[val_idx], y[val_idx])

        result = cross_validate(fit_score, X, y, k=5, seed=0)
        print(result)  # 0.9612 ± 0.011 over 5 folds

    Args:
        X: the data (only its length is used; an int works too).
        y: class labels; when given the folds are stratified (``StratifiedKFold``),
            else plain ``KFold``. Leave it None for regression targets.
        k: number of folds.
        seed: seed of the shuffling; same seed, same folds.
        shuffle: shuffle before cutting folds (default True).
        cv: any splitter with ``split(X, y)`` to use instead of the above.

    Returns:
        :class:`CVResult` with ``scores`` (one per fold, in fold order), ``mean``, ``std``.
    """
    if cv is None:
        kind = StratifiedKFold if y is not None else KFold
        cv = kind(k, shuffle=shuffle, seed=seed if shuffle else None)
    scores = []
    for i, (train_idx, val_idx) in enumerate(cv.split(X, y)):
        try:
            score = fit_score(train_idx, val_idx)
        except Exception as err:
            total = cv.get_n_splits(X, y) if hasattr(cv, "get_n_splits") else "?"
            err.add_note(f"cross_validate: raised by fit_score on fold {i + 1} of {total}")
            raise
        try:
            scores.append(float(score))
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"cross_validate: fit_score must return a number, fold {i + 1} returned {type(score).__name__} {score!r}"
            ) from err
    values = np.asarray(scores, dtype=np.float64)
    return CVResult(scores=values, mean=float(values.mean()) if len(values) else math.nan,
                    std=float(values.std()) if len(values) else math.nan)
