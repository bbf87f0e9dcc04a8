"""Small helpers shared by ``lamina.text``: random generators and argument checks."""
from __future__ import annotations

import numpy as np

from .. import backend


def make_rng(seed, op: str) -> np.random.Generator:
    """A NumPy generator from ``seed``.

    ``None`` draws a fresh stream from lamina's global generator, so ``lamina.manual_seed(s)``
    makes the result reproducible; an ``int`` seeds a new PCG64; a ``numpy.random.Generator``
    or a ``lamina.Generator`` is used as is.
    """
    if seed is None:
        return np.random.default_rng(int(backend.rng().integers(0, 2**63 - 1)))
    if isinstance(seed, np.random.Generator):
        return seed
    numpy_rng = getattr(seed, "numpy", None)  # lamina.Generator
    if isinstance(numpy_rng, np.random.Generator):
        return numpy_rng
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{op}: seed must be None, an int or a Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{op}: seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def check_int(value, name: str, op: str, minimum: int = 1) -> int:
    """``value`` as a Python int >= ``minimum``, or a clear TypeError/ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return int(value)


def as_index_array(data, op: str, name: str = "data", ndim: int | None = 1) -> np.ndarray:
    """``data`` as a non-negative int64 array (no copy when it already is one)."""
    arr = np.asarray(data)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind in "USO":
            raise TypeError(
                f"{op}: {name} must hold word indices (integers), got {arr.dtype} values; "
                "turn words into indices with Vocabulary.encode(words) first"
            )
        raise TypeError(f"{op}: {name} must hold integers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{op}: {name} must be {ndim}-D, got shape {tuple(arr.shape)}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{op}: {name} must hold non-negative indices, found {int(arr.min())}")
    return arr

