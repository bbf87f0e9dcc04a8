"""The XOR data set: 4000 points drawn with NumPy's legacy global generator::

    X = np.random.uniform(-1, 1, size=(4000, 2))
    y = ((X[:,0] >= 0) ^ (X[:,1] >= 0)).astype(float)

Points are uniform in the square [-1, 1)²; the label is 1 exactly when the
two coordinates have different signs (quadrants II and IV), the continuous
version of the truth table on {0,1}² (:func:`xor_table`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["xor", "xor_table"]


def xor(n: int = 4000, seed: int | None = None, *, legacy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` XOR points: ``X`` float64 ``(n, 2)`` in [-1, 1), ``y`` float64 ``(n,)`` in {0, 1}.

    Args:
        n: number of points (4000 by default).
        seed: seed of the random generator; ``None`` draws fresh entropy.
        legacy: use NumPy's legacy ``RandomState`` stream (the classic recipe above).
            ``xor(4000, seed=42, legacy=True)`` returns exactly the
            arrays of ``np.random.seed(42); np.random.uniform(-1, 1, size=(4000, 2))``.
            With ``legacy=True`` and ``seed=None`` the *global* legacy state
            is consumed, as ``np.random.uniform`` does. The default
            (``legacy=False``) uses ``np.random.default_rng(seed)``, the
            generator NumPy recommends; same formula, different stream.

    Returns:
        ``(X, y)`` with ``y = [x1 >= 0] xor [x2 >= 0]`` (``y`` is float, ready for ``BCEWithLogitsLoss``).
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"xor: n must be >= 0, got {n}")
    if legacy:
        source = np.random if seed is None else np.random.RandomState(seed)
        X = source.uniform(-1, 1, size=(n, 2))
    else:
        X = np.random.default_rng(seed).uniform(-1, 1, size=(n, 2))
    y = ((X[:, 0] >= 0) ^ (X[:, 1] >= 0)).astype(float)
    return X, y


def xor_table() -> tuple[np.ndarray, np.ndarray]:
    """The four points {[0,0], [0,1], [1,0], [1,1]} and their XOR labels [0, 1, 1, 0] (float64)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.logical_xor(X[:, 0], X[:, 1]).astype(float)
    return X, y
