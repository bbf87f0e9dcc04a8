"""Reading a plain-text corpus (such as text8) into a list of words."""
from __future__ import annotations

import codecs
import os
from pathlib import Path


def read_corpus(path, lowercase: bool = False) -> list[str]:
    """The whitespace-separated words of the UTF-8 text file ``path``.

    A leading UTF-8 byte-order mark is skipped. A missing file raises ``FileNotFoundError``, a
    folder ``IsADirectoryError``, an empty (or whitespace-only) file or bytes that are not UTF-8
    ``ValueError``; every message names the file, and for bad UTF-8 gives the byte offset and line.
    """
    op = "read_corpus"
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: path must be a str or path-like, got {path!r}")
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{op}: corpus file {name!r} does not exist") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{op}: {name!r} is a folder, expected a text file") from None
    except PermissionError:
        raise PermissionError(f"{op}: no permission to read corpus file {name!r}") from None
    if not raw:
        raise ValueError(f"{op}: corpus file {name!r} is empty (0 bytes)")
    start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[start:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = start + e.start
        line = raw.count(b"\n", 0, offset) + 1
        bad = raw[offset : offset + 1].hex()
        raise ValueError(
            f"{op}: corpus file {name!r} is not valid UTF-8: byte 0x{bad} at byte offset {offset} "
            f"(line {line}): {e.reason}"
        ) from None
    del raw
    if lowercase:
        text = text.lower()
    words = text.split()
    if not words:
        raise ValueError(f"{op}: corpus file {name!r} contains no words (only whitespace)")
    return words
