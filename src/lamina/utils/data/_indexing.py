"""Small helpers shared by the split and fold code: sample counts, label codes, array indexing."""

from __future__ import annotations

import numpy as np

__all__ = ["num_samples", "as_labels", "take"]


def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach") and hasattr(a, "numpy"):  # lamina / torch tensors
        a = a.detach().numpy()
    return np.asarray(a)


def num_samples(X, who: str) -> int:
    """Number of samples of ``X``: an int itself, ``X.shape[0]``, or ``len(X)`` (datasets, lists)."""
    if isinstance(X, (int, np.integer)) and not isinstance(X, bool):
        n = int(X)
    elif getattr(X, "shape", None) is not None and len(X.shape) > 0:
        n = int(X.shape[0])
    elif hasattr(X, "__len__"):
        n = len(X)
    else:
        raise TypeError(f"{who}: cannot count the samples of {type(X).__name__}; pass an array, a dataset or an int")
    if n < 0:
        raise ValueError(f"{who}: number of samples must be >= 0, got {n}")
    return n


def as_labels(y, n: int | None, who: str) -> np.ndarray:
    """Class labels as int codes ``0..C-1``; a 2-D ``y`` (one-hot / multi-label rows) counts each distinct row as a class."""
    arr = _to_numpy(y)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{who}: labels must be 1-D (or 2-D one-hot rows), got shape {tuple(arr.shape)}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{who}: labels have {arr.shape[0]} entries but there are {n} samples")
    if arr.ndim == 2:
        _, codes = np.unique(arr, axis=0, return_inverse=True)
    else:
        _, codes = np.unique(arr, return_inverse=True)
    return codes.reshape(-1).astype(np.int64)


def take(a, idx: np.ndarray):
    """``a[idx]`` for arrays and tensors (one fancy-indexing call); lists and tuples become NumPy arrays."""
    if getattr(a, "shape", None) is not None and hasattr(a, "__getitem__"):
        return a[idx]
    try:
        arr = np.asarray(a)
    except ValueError:  # ragged sequence: keep the items as objects
        arr = np.empty(len(a), dtype=object)
        arr[:] = list(a)
    return arr[idx]
