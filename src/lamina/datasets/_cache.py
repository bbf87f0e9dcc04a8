"""Where datasets live on disk, and how files get there (download + SHA-256 check).

Folder resolution, first match wins:

1. the ``root`` argument of a loader (the folder that holds the files);
2. ``$LAMINA_DATA/<name>`` when the environment variable is set;
3. ``$XDG_CACHE_HOME/lamina/<name>``, else ``~/.cache/lamina/<name>``.

Downloads stream to a temporary file in the destination folder while
hashing, and only an intact file (matching the published SHA-256) is moved
into place with ``os.replace``; an interrupted or corrupt download never
leaves a half-written file under the final name.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .._atomic import atomic_open
from .errors import ChecksumError, DownloadError

__all__ = ["data_home", "dataset_dir", "sha256_file", "download_file", "fetch_file"]

_CHUNK = 1 << 20


def data_home() -> Path:
    """The folder that holds every dataset's cache folder.

    ``$LAMINA_DATA`` if set, else ``$XDG_CACHE_HOME/lamina``, else ``~/.cache/lamina``.
    The folder is not created here; loaders create it only when they download.
    """
    env = os.environ.get("LAMINA_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "lamina"


def dataset_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of dataset ``name``: ``root`` itself when given, else ``data_home()/name``."""
    if root is not None:
        return Path(root).expanduser()
    return data_home() / name


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


Opener = Callable[..., AbstractContextManager[Any]]  # opener(url, timeout=...) -> binary response


def download_file(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None,
    *,
    timeout: float = 60.0,
    opener: Opener | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying its SHA-256 when given.

    ``opener(url, timeout=...)`` must return a binary file-like response
    (default :func:`urllib.request.urlopen`; ``file://`` URLs work too).
    Raises :class:`ChecksumError` naming the file, the URL and both digests on
    a mismatch; the partial file is removed in every failure case.
    """
    dest = Path(dest)
    open_url = opener if opener is not None else urllib.request.urlopen
    with atomic_open(dest, "wb") as out, open_url(url, timeout=timeout) as response:
        digest = hashlib.sha256()
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256.lower():
            raise ChecksumError(
                f"download of {dest.name} from {url}: SHA-256 mismatch, expected {sha256.lower()}, "
                f"got {actual}; the file was discarded (corrupt transfer or a changed mirror)"
            )
    return dest


def fetch_file(
    filename: str,
    mirrors: Sequence[str],
    folder: Path,
    sha256: str | None,
    *,
    opener: Opener | None = None,
    quiet: bool = False,
) -> Path:
    """Download ``filename`` into ``folder`` from the first mirror that delivers an intact copy.

    Each mirror is a base URL ending in ``/``. Network failures and checksum
    mismatches move on to the next mirror; when every mirror failed, raises
    :class:`ChecksumError` if any copy arrived corrupt, else :class:`DownloadError`,
    listing each URL tried and why it failed.
    """
    failures: list[str] = []
    corrupt = False
    for base in mirrors:
        url = base + filename
        if not quiet:
            print(f"lamina: downloading {url} -> {folder / filename}", file=sys.stderr)
        try:
            return download_file(url, folder / filename, sha256, opener=opener)
        except ChecksumError as err:
            corrupt = True
            failures.append(f"{url}: {err}")
        except (urllib.error.URLError, OSError, ValueError) as err:
            failures.append(f"{url}: {err}")
    detail = "; ".join(failures) if failures else "no mirror configured"
    cls = ChecksumError if corrupt else DownloadError
    raise cls(
        f"could not download {filename} into {folder} ({detail}). "
        f"Copy the file there by hand, or pass root= pointing at a folder that has it"
    )
