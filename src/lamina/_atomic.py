"""Atomic file writes: write to a temporary file in the same folder, fsync it, then ``os.replace`` it over the
target, so a crash or an error leaves either the old file or the new one, never half of one, and no temporary
file behind.

* ``atomic_open(path, mode)``: a context manager yielding the file object to write;
* ``atomic_write(path, data)``: write ``bytes``, or ``str`` as UTF-8 (newlines kept as written);
* ``atomic_savefig(fig, path)``: a matplotlib figure, in the format of ``path``'s extension;
* ``check_target(path)``: refuse a path those would refuse, before the work that produces the data.

What is at ``path`` is treated as ``open(path, "w")`` would treat it:

* a symbolic link is written through: its target file is replaced and the link stays a link;
* a directory, named pipe, device node or socket is refused before anything is written
  (``IsADirectoryError`` / :class:`NotARegularFileError`), never replaced by a regular file;
* a new file gets the permissions of an ordinary ``open``: ``0o666`` minus the umask (the kernel applies
  the umask when the temporary file is created); a replaced file keeps its permission bits.

Stale temporaries. The temporary of ``dir/name`` is ``dir/.name.<host>-<pid>.<random>.tmp``, tagged with
the writing process (``<host>``: 8 hex digits of the host name's CRC-32). A writer killed between creating
and renaming it (SIGKILL, power loss) leaves it behind, so every write first removes the temporaries of the
same target whose tag names this host and a process that no longer exists. A running writer's temporary is
never touched: its pid is alive. A reused pid only delays the removal, and temporaries of other hosts
sharing the folder (a network file system) are left to those hosts.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
import stat
import zlib
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write", "atomic_savefig", "check_target", "NotARegularFileError"]

PathLike = str | os.PathLike[str]

_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"
_TAG = re.compile(r"(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)\.[0-9a-f]{8}")
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotARegularFileError(OSError):
    """The path to write names a named pipe, a device node or a socket: lamina writes regular files only."""


def _existing_mode(path: str) -> int | None:
    """The permission bits of the regular file at ``path`` (None when nothing is there); a directory or a
    special file raises."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    kind = next((name for test, name in _SPECIAL_KINDS if test(st.st_mode)), "a special file")
    raise NotARegularFileError(f"{path!r} is {kind}, not a regular file; lamina writes only regular files "
                               "(remove it or choose another path)")


def check_target(path: PathLike) -> None:
    """Raise the error ``atomic_open(path)`` would raise for what is at ``path`` (a directory or a special
    file), before any work whose result is to be written there."""
    _existing_mode(os.path.realpath(os.fspath(path)))


def _process_exists(pid: int) -> bool:
    if os.name != "posix":  # without POSIX signals there is no harmless probe: treat every writer as alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Remove ``folder/.name.<host>-<pid>.<random>.tmp`` files of this host whose process has ended."""
    prefix = f".{name}."
    with contextlib.suppress(OSError):
        for entry in os.listdir(folder):
            tag = _TAG.fullmatch(entry[len(prefix):-len(".tmp")]) if entry.startswith(prefix) \
                and entry.endswith(".tmp") else None
            if tag and tag["host"] == _HOST and not _process_exists(int(tag["pid"])):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, entry))


def _create_temporary(folder: str, name: str) -> tuple[int, str]:
    """A new temporary file beside ``folder/name`` (mode ``0o666`` minus the umask), opened for writing."""
    while True:
        tmp = os.path.join(folder, f".{name}.{_HOST}-{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, _CREATE, 0o666), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "wb", *, encoding: str | None = None, newline: str | None = None,
                parents: bool = True) -> Iterator[IO[Any]]:
    """Yield a file object (``mode`` ``"w"`` or ``"wb"``) that writes a temporary file beside ``path``.

    When the block ends normally the file is flushed, fsynced and renamed over ``path`` (over the target
    of a symbolic link); when it raises, the temporary file is removed and ``path`` is left as it was.
    ``parents`` creates the missing folders of ``path``; without it a missing folder raises
    ``FileNotFoundError`` as ``open`` would. An ``OSError`` names ``path``, not the temporary file.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    target = os.path.realpath(os.fspath(path))
    old_mode = _existing_mode(target)
    folder, name = os.path.split(target)
    tmp = None
    try:
        if parents:
            os.makedirs(folder, exist_ok=True)
        _remove_stale_temporaries(folder, name)
        fd, tmp = _create_temporary(folder, name)
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            if old_mode is not None:
                os.fchmod(f.fileno(), old_mode)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _name_the_target(e, name, os.fspath(path))
        raise


def _name_the_target(e: BaseException, name: str, path: str) -> None:
    """An ``OSError`` about a temporary file of ``name`` (or about no file) names ``path`` instead: the user
    never chose the temporary's name."""
    if not isinstance(e, OSError) or e.errno is None:
        return
    if e.filename is None or os.path.basename(os.fsdecode(e.filename)).startswith(f".{name}."):
        e.filename, e.filename2 = path, None


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
