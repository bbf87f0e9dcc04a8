"""The UCI optical-recognition 8×8 handwritten digits, shipped inside the package.

1797 images of 8×8 pixel counts 0..16 (each pixel counts the "on" bits of a
4×4 block of a 32×32 bitmap) and their labels 0..9, about 180 per class.
The file ``data/digits.csv.gz`` has one row per image: 64 pixel values in
row-major order, then the label.

Source and licence: E. Alpaydin and C. Kaynak, "Optical Recognition of
Handwritten Digits", UCI Machine Learning Repository,
https://doi.org/10.24432/C50P49, CC BY 4.0.
"""

from __future__ import annotations

import gzip
import io
from functools import lru_cache
from importlib import resources

import numpy as np

from ._bunch import Bunch
from .errors import DataFileError

__all__ = ["digits"]

_FILE = "digits.csv.gz"
_N_SAMPLES, _N_PIXELS = 1797, 64
_CITATION = (
    "E. Alpaydin, C. Kaynak: Optical Recognition of Handwritten Digits, UCI Machine Learning "
    "Repository, https://doi.org/10.24432/C50P49 (CC BY 4.0)"
)


@lru_cache(maxsize=1)
def _table() -> np.ndarray:
    """The parsed CSV as an int64 ``(1797, 65)`` array (read once per process, treated as read-only)."""
    resource = resources.files(__package__).joinpath("data").joinpath(_FILE)
    try:
        text = gzip.decompress(resource.read_bytes()).decode("ascii")
        table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as err:
        raise DataFileError(f"digits: cannot read the packaged file {resource}: {err}") from err
    expected = (_N_SAMPLES, _N_PIXELS + 1)
    if table.shape != expected:
        raise DataFileError(f"digits: packaged file {resource} has shape {tuple(table.shape)}, expected {expected}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise DataFileError(f"digits: packaged file {resource} has pixels outside 0..16 or labels outside 0..9")
    table.setflags(write=False)
    return table


def digits(*, return_X_y: bool = True, images: bool = False, dtype=np.float32):
    """Load the 8×8 digits (no download: the data ships with lamina).

    Args:
        return_X_y: return ``(X, y)`` (default). With ``False`` return a
            :class:`Bunch` with ``data`` ``(1797, 64)``, ``images``
            ``(1797, 1, 8, 8)``, ``target``, ``target_names``,
            ``feature_names``, ``DESCR`` and ``citation`` (scikit-learn's
            ``load_digits`` layout, but ``images`` has a channel axis).
        images: when returning ``(X, y)``, give ``X`` the CNN layout
            ``(1797, 1, 8, 8)`` (N, C, H, W) instead of flat ``(1797, 64)``.
        dtype: dtype of the pixels (default float32); values stay 0..16, so
            scale them yourself (``X / 16``) or fit a ``MinMaxScaler`` on the
            training split.

    Returns:
        ``X`` float32 with values 0..16 and ``y`` int64 labels 0..9, fresh copies.
    """
    table = _table()
    flat = table[:, :-1].astype(dtype)
    y = table[:, -1].copy()
    cube = flat.reshape(-1, 1, 8, 8).copy()
    if return_X_y:
        return (cube if images else flat), y
    return Bunch(
        data=flat,
        images=cube,
        target=y,
        target_names=np.arange(10),
        feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
        DESCR=__doc__,
        citation=_CITATION,
    )
