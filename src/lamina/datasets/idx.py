"""Read and write IDX files, the format of MNIST and Fashion-MNIST (gzip or raw).

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                              0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 .. 4+4d   the d sizes, each an unsigned 32-bit integer
    then        prod(sizes) elements in C (row-major) order

The first four bytes read as one integer are the *magic number*: 2051
(``0x00000803``: uint8, 3 dims) for image files and 2049 (``0x00000801``:
uint8, 1 dim) for label files. A file is accepted only if its length is
exactly header + data, so truncated downloads and wrong files are caught
with the expected and actual byte counts.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from .errors import DataFileError

__all__ = ["read_idx", "write_idx", "read_idx_images", "read_idx_labels", "IMAGES_MAGIC", "LABELS_MAGIC"]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

# type code -> (big-endian dtype, name)
_TYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype("u1"), "uint8"),
    0x09: (np.dtype("i1"), "int8"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}
_CODES = {dt.newbyteorder("="): code for code, (dt, _) in _TYPES.items()}


def _read_bytes(path: Path) -> tuple[bytes, str]:
    """File contents, gunzipped when the file starts with the gzip magic ``1f 8b``.

    Returns the bytes and a note for error messages (non-empty when a gzip
    stream ends before its end marker: a truncated ``.gz`` download).
    """
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw, ""
    parts, rest, note = [], raw, ""
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            parts.append(inflater.decompress(rest))
            parts.append(inflater.flush())
            if not inflater.eof:
                note = f" (the gzip stream of {len(raw)} bytes ends early: truncated download?)"
                break
            rest = inflater.unused_data
    except zlib.error as err:
        raise DataFileError(f"read_idx: {path}: not a valid gzip file ({err})") from err
    return b"".join(parts), note


def _element_type(data: bytes, path: Path, note: str, expect_magic: int | None) -> tuple[np.dtype, str]:
    """The element dtype and its name, from the magic number ``0x0000TTDD`` (checked against ``expect_magic``)."""
    if len(data) < 4:
        raise DataFileError(f"read_idx: {path}: {len(data)} bytes, too short for an IDX header (4 bytes){note}")
    magic = int.from_bytes(data[:4], "big")
    if expect_magic is not None and magic != expect_magic:
        raise DataFileError(
            f"read_idx: {path}: magic number {magic} (0x{magic:08X}), expected {expect_magic} "
            f"(0x{expect_magic:08X}); is this the right file? (2051 = images, 2049 = labels)"
        )
    if data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DataFileError(
            f"read_idx: {path}: magic number 0x{magic:08X} is not an IDX header "
            f"(expected 0x0000TTDD with type TT in {{08,09,0B,0C,0D,0E}})"
        )
    return _TYPES[data[2]]


def _shape(data: bytes, path: Path, note: str) -> tuple[tuple[int, ...], int]:
    """The array shape (``DD`` big-endian uint32 sizes after the magic number) and the header length."""
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(
            f"read_idx: {path}: truncated header, expected {header} bytes for {ndim} dimensions, "
            f"got {len(data)}{note}"
        )
    return tuple(int(s) for s in np.frombuffer(data, ">u4", ndim, 4)), header


def read_idx(path: str | os.PathLike, *, expect_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a native-endian NumPy array.

    Args:
        path: the file; gzip is detected from its first bytes, not its name.
        expect_magic: if given, the magic number the file must have
            (:data:`IMAGES_MAGIC` = 2051, :data:`LABELS_MAGIC` = 2049).

    Raises:
        FileNotFoundError: the file does not exist.
        DataFileError: bad magic number, unknown type code, or a length that
            differs from what the header declares (both byte counts named).
    """
    path = Path(path)
    data, note = _read_bytes(path)
    dtype, type_name = _element_type(data, path, note, expect_magic)
    shape, header = _shape(data, path, note)
    expected = header + math.prod(shape) * dtype.itemsize  # Python integers: sizes of 2**32 ** d do not overflow
    if len(data) != expected:
        problem = "truncated file" if len(data) < expected else "trailing bytes after the data"
        raise DataFileError(
            f"read_idx: {path}: {problem}: header declares {type_name} array of shape {shape}, "
            f"expected {expected} bytes, got {len(data)}{note}"
        )
    flat = np.frombuffer(data, dtype, (expected - header) // dtype.itemsize, header)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Read an image file (magic 2051): uint8 array ``(n, rows, cols)``."""
    return read_idx(path, expect_magic=IMAGES_MAGIC)


def read_idx_labels(path: str | os.PathLike) -> np.ndarray:
    """Read a label file (magic 2049): uint8 array ``(n,)``."""
    return read_idx(path, expect_magic=LABELS_MAGIC)


def write_idx(path: str | os.PathLike, array, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file, atomically (temporary file + ``os.replace``).

    Args:
        path: destination; gzip-compressed when ``compress`` is True, or when
            it is None and the name ends in ``.gz``.
        array: uint8, int8, int16, int32, float32 or float64 data, at most 255
            dimensions, each below 2**32.
    """
    path = Path(path)
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"write_idx: dtype {arr.dtype} has no IDX type code; use one of {[n for _, n in _TYPES.values()]}")
    if arr.ndim > 255 or any(s >= 2**32 for s in arr.shape):
        raise ValueError(f"write_idx: shape {tuple(arr.shape)} does not fit an IDX header (<= 255 dims, each < 2**32)")
    code = _CODES[native]
    payload = (
        bytes([0, 0, code, arr.ndim])
        + np.asarray(arr.shape, dtype=">u4").tobytes()
        + np.ascontiguousarray(arr, dtype=_TYPES[code][0]).tobytes()
    )
    if compress or (compress is None and path.suffix == ".gz"):
        payload = gzip.compress(payload, mtime=0)
    atomic_write(path, payload)
    return path
