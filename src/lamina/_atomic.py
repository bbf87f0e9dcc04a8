"""Atomic file writes: write to a temporary file in the same folder, fsync it, then ``os.replace`` it over the
target, so a crash or an error leaves either the old file or the new one, never half of one, and no temporary
file behind.

* ``atomic_open(path, mode)``: a context manager yielding the file object to write;
* ``atomic_write(path, data)``: write ``bytes``, or ``str`` as UTF-8 (newlines kept as written);
* ``atomic_savefig(fig, path)``: a matplotlib figure, in the format of ``path``'s extension.

The file gets the permissions of an ordinary ``open(path, "w")`` (``0o666`` minus the umask), not the
``0o600`` of a temporary file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write", "atomic_savefig"]

PathLike = str | os.PathLike[str]


def _ordinary_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "wb", *, encoding: str | None = None, newline: str | None = None,
                parents: bool = True) -> Iterator[IO[Any]]:
    """Yield a file object (``mode`` ``"wb"`` or ``"w"``) that writes a temporary file beside ``path``.

    When the block ends normally the file is flushed, fsynced and renamed over ``path``; when it raises, the
    temporary file is removed and ``path`` is left as it was. ``parents`` creates the missing folders of
    ``path``; without it a missing folder raises ``FileNotFoundError`` as ``open`` would.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if parents:
        os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _ordinary_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: PathLike, data: bytes | str, *, encoding: str = "utf-8", parents: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: bytes as they are, text in ``encoding`` with no newline
    translation."""
    if isinstance(data, str):
        with atomic_open(path, "w", encoding=encoding, newline="", parents=parents) as f:
            f.write(data)
    else:
        with atomic_open(path, "wb", parents=parents) as f:
            f.write(data)


def atomic_savefig(fig: Any, path: PathLike, *, parents: bool = True, **kwargs: Any) -> None:
    """``fig.savefig(path, **kwargs)`` atomically; the format comes from ``path``'s extension (PNG without one)."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    with atomic_open(path, "wb", parents=parents) as f:
        fig.savefig(f, format=fmt, **kwargs)
