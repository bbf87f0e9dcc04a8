"""Exceptions raised by the dataset loaders.

Each one subclasses the built-in exception a caller would already catch
(``FileNotFoundError``, ``ValueError``, ``OSError``), so ``except OSError``
style code keeps working, while a command-line front end can catch
:class:`DatasetError` to print one clear line instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "DatasetNotFoundError",
    "DataFileError",
    "ChecksumError",
    "DownloadError",
]


class DatasetError(Exception):
    """Base class of every error raised by ``lamina.datasets``."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The files of a dataset are not on disk (and downloading was not allowed)."""


class DataFileError(DatasetError, ValueError):
    """A data file exists but is corrupt: bad magic number, truncated, wrong shape, bad encoding."""


class ChecksumError(DatasetError, OSError):
    """A downloaded file does not have the published SHA-256 digest."""


class DownloadError(DatasetError, OSError):
    """No mirror could deliver a file (offline, HTTP error, timeout)."""
