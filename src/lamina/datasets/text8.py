"""The text8 corpus for word embeddings (skip-gram and CBOW training).

text8 is the first 10**8 bytes of a cleaned English Wikipedia dump (Matt
Mahoney): one line of lowercase words a-z separated by single spaces,
17,005,207 words, beginning ``anarchism originated as a term of abuse``.
It is distributed as ``text8.zip`` holding one member ``text8``.

The loader reads ``text8`` or ``text8.zip`` from ``root`` (a folder, or the
file itself), else from ``$LAMINA_DATA/text8`` or ``~/.cache/lamina/text8``;
``download=True`` fetches ``text8.zip`` (31,344,016 bytes) and checks its
SHA-256 first.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ._cache import dataset_dir, fetch_file
from .errors import DataFileError, DatasetNotFoundError

__all__ = ["text8"]

_MIRRORS = ("https://mattmahoney.net/dc/", "http://mattmahoney.net/dc/")
_SHA256 = {"text8.zip": "a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232"}


def _find(root, download: bool) -> Path:
    if root is not None and Path(root).expanduser().is_file():
        return Path(root).expanduser()
    folder = dataset_dir("text8", root)
    candidates = [folder / "text8", folder / "text8.zip"]
    for path in candidates:
        if path.is_file():
            return path
    if download:
        return fetch_file("text8.zip", _MIRRORS, folder, _SHA256["text8.zip"])
    raise DatasetNotFoundError(
        f"text8: neither {candidates[0]} nor {candidates[1]} exists. Put the corpus there "
        f"(from {_MIRRORS[0]}text8.zip), pass root= pointing at the folder or the file, "
        f"set LAMINA_DATA, or use download=True"
    )


def _read_bytes(path: Path) -> bytes:
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        member = "text8" if "text8" in names else (names[0] if len(names) == 1 else None)
        if member is None:
            raise DataFileError(f"text8: {path} holds {names}, expected a member named 'text8'")
        try:
            return archive.read(member)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise DataFileError(f"text8: cannot read member {member!r} of {path}: {err}") from err


def text8(root: str | os.PathLike | None = None, *, max_words: int | None = None,
          download: bool = False) -> list[str]:
    """Read the text8 corpus as a list of words, in corpus order.

    Args:
        root: folder holding ``text8`` or ``text8.zip``, or the path of either file.
        max_words: keep only the first ``max_words`` words (handy for quick runs).
        download: fetch ``text8.zip`` into the cache folder when missing.

    Raises:
        DatasetNotFoundError: no corpus file (names where it was looked for).
        DataFileError: the file is empty, not UTF-8 (byte offset named) or a bad zip.
    """
    if max_words is not None and int(max_words) < 1:
        raise ValueError(f"text8: max_words must be a positive integer or None, got {max_words}")
    path = _find(root, download)
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFileError(
            f"text8: {path} is not UTF-8 text: byte 0x{raw[err.start]:02x} at offset {err.start} ({err.reason})"
        ) from err
    words = text.split() if max_words is None else text.split(maxsplit=int(max_words))[: int(max_words)]
    if not words:
        raise DataFileError(f"text8: {path} contains no words ({len(raw)} bytes of whitespace or nothing)")
    return words
