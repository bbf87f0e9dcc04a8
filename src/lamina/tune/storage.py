"""Append-only JSON-lines journal: how a study survives being killed.

Only the master writes.  Each event is one JSON object on one line, flushed and
``fsync``-ed before the master goes on::

    {"op": "study",  "version": 1, "direction": "minimize", "seed": 7, "strategy": "Bayesian", ...}
    {"op": "start",  "number": 3, "fixed": {...}, "seed": 7, "fallback": "random", ...}
    {"op": "finish", "number": 3, "state": "COMPLETE", "value": 0.41, "params": {...},
     "distributions": {...}, "intermediate_values": {...}, "user_attrs": {...}, ...}

Replaying the journal rebuilds the study: trials with a ``finish`` record are
done and are told to the strategy again in the order they were finished (so
the strategy's state is the same as before the kill); trials with only a
``start`` record were running when the master died and are run again with the
same number and the same fixed/sampled values.

Appending (rather than rewriting through a temporary file) is what makes the
journal crash-safe: a kill can only tear the last line, and ``load`` cuts such
a torn tail off before anything new is appended.

A file that is not a journal is never touched: ``load`` refuses it
(:class:`NotAJournalError`) unless it is empty or its complete lines are
journal records that begin with the ``study`` header; the one torn tail it
cuts off must look like the start of a record (``{"op"...``, no newline).

One master at a time (:class:`JournalLock`).  A master holds an exclusive
advisory lock (``fcntl.flock`` on the sidecar file ``<journal>.lock``, which
holds ``"<pid> <host>"``) while it writes: for the whole of ``optimize``, and
from a manual ``ask`` until the last asked trial is told.  A second master
that wants to write meanwhile gets :class:`JournalLockedError` naming the
holder's PID.  A master that takes the lock first reads what was appended
since it last looked (another master may have run in between), so trials are
neither run twice nor lost; trials left RUNNING by a master that no longer
holds the lock are ones it was killed in and are run again.  Reading a
journal (``load_study`` to look at the results) needs no lock and never
repairs it.  Several processes running one study at the same time: use the
SQLite storage (``storage="sqlite:///study.db"``).  The lock is the kernel's,
so a killed master releases it by dying; a child forked while it is held (a
pool worker) closes its inherited copy of the descriptor at once, so the lock
never outlives the master.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import warnings
import weakref
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:         # not a POSIX system: journals are not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["JournalStorage", "JournalLock", "JournalLockedError", "NotAJournalError"]

VERSION = 1

# The beginning of a record as ``append`` (or json.dumps with its default separators) writes it: a torn
# tail must be a prefix of this; any other unterminated last line is not ours.
_RECORD_START = re.compile(rb'\{\s*"op"\s*:')
_HEADER_START = re.compile(rb'\{\s*"op"\s*:\s*"study"')


def _prefix_of(pattern: re.Pattern, text: bytes) -> bool:
    """Whether ``text`` is the pattern's match or a prefix of one (checked on the compact and spaced forms)."""
    if pattern.match(text):
        return True
    stripped = re.sub(rb"\s+", b"", text)
    full = b'{"op":"study"' if pattern is _HEADER_START else b'{"op":'
    return full.startswith(stripped) or stripped.startswith(full)


_HELD: weakref.WeakSet = weakref.WeakSet()      # the JournalLock objects of this process holding a lock


def _drop_inherited_locks() -> None:
    """In a forked child: close the copies of the parent's lock descriptors (the child is not the master)."""
    for lock in list(_HELD):
        fd, lock._fd, lock._depth = lock._fd, None, 0
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


class NotAJournalError(ValueError):
    """The storage path holds a file that is not a lamina journal; it is left as it is."""


class JournalLockedError(RuntimeError):
    """Another master holds the journal's lock (``holder``: its ``"<pid> <host>"``, or None if unknown)."""

    def __init__(self, message: str, holder: str | None = None):
        super().__init__(message)
        self.holder = holder


class JournalLock:
    """``JournalLock(journal_path)``: the exclusive lock of one journal, a ``flock`` on ``<journal>.lock``.

    ``acquire()`` never waits: if another process (or another open ``JournalStorage`` of this
    process) holds it, it raises :class:`JournalLockedError` naming the holder.  The holder's PID and
    host name are written into the lock file; ``release()`` removes the file.  Re-entrant within one
    object (a count)."""

    def __init__(self, journal: str | os.PathLike):
        self._fd: int | None = None
        self._depth = 0
        self.journal = Path(journal)
        if not self.journal.name:
            raise ValueError(f"JournalStorage({str(journal)!r}): give the journal's file name, not a folder")
        self.path = self.journal.with_name(self.journal.name + ".lock")

    @property
    def held(self) -> bool:
        return self._depth > 0

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        if fcntl is not None:
            self._fd = self._lock()
            _HELD.add(self)
        self._depth = 1

    def _lock(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, flags, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                raise self._locked_error(holder) from None
            except BaseException:
                os.close(fd)
                raise
            try:                  # the previous holder may have removed the file between our open and flock
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        return fd

    @staticmethod
    def _holder(fd: int) -> str | None:
        for _ in range(20):          # the holder writes its PID right after taking the lock
            text = os.pread(fd, 256, 0).decode("utf-8", "replace").strip()
            if text:
                return text
            time.sleep(0.005)
        return None

    def _locked_error(self, holder: str | None) -> JournalLockedError:
        parts = holder.split() if holder else []
        if not parts:
            who = "another master (PID unknown)"
        elif parts[0] == str(os.getpid()):
            who = f"another study of this process (PID {parts[0]}) (close it, or use that study)"
        else:
            who = f"another master, PID {parts[0]}" + (f" on {parts[1]}" if len(parts) > 1 else "")
        return JournalLockedError(
            f"journal {self.journal} is in use by {who} (lock file {self.path}); wait until it is done or "
            "stop it, or use storage='sqlite:///<file>.db' for a study that several processes run at once",
            holder)

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth or self._fd is None:
            return
        fd, self._fd = self._fd, None
        _HELD.discard(self)
        try:                        # remove the file while still holding it: a waiter re-checks the inode
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __del__(self):
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)       # the kernel drops the lock with the last descriptor of the file
            except OSError:
                pass


class JournalStorage:
    """``JournalStorage(path)``: the journal file of one study.

    ``load()`` reads every record; ``lock()`` takes the master's lock and ``new_records()`` returns
    what other masters appended since this object last read; ``append(record)`` writes one record
    (the caller holds the lock); ``unlock()`` lets the next master in."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fh: BinaryIO | None = None
        self._lock = JournalLock(self.path)
        self._offset = 0            # bytes of the journal this object has read or written

    # ------------------------------------------------------------------ reading
    def load(self) -> list[dict]:
        """All records.  A torn last line (a master killed mid-write) is skipped, and cut off when this
        object holds the lock.  Raises :class:`NotAJournalError` for a file that is not a journal and a
        ``ValueError`` for a journal with a broken record before its last line; neither is modified."""
        self._offset = 0
        return self._read(header_expected=True)

    def new_records(self) -> list[dict]:
        """The records appended since the last ``load``/``new_records``/``append`` of this object."""
        return self._read(header_expected=self._offset == 0)

    def _read(self, header_expected: bool) -> list[dict]:
        data = self._read_bytes()
        if data is None:
            return []
        records, offset, torn = self._scan(data, header_expected)
        self._check_header(records, data, torn, header_expected)
        self._offset = offset
        if torn is not None:
            self._cut_torn(data, torn)
        elif data and not data.endswith(b"\n") and self._lock.held:
            self._repair(append_newline=True)
            self._offset += 1
        return records

    def _read_bytes(self) -> bytes | None:
        """The journal's bytes (None when there is no journal yet); refuses a vanished, shrunk or odd file."""
        if not self.path.exists():
            if self._offset:
                raise ValueError(f"JournalStorage({self.path}): the journal disappeared while the study was open")
            return None
        if not self.path.is_file():
            raise NotAJournalError(f"JournalStorage({self.path}): not a regular file; a journal is a JSON-lines file")
        data = self.path.read_bytes()
        if len(data) < self._offset:
            raise ValueError(f"JournalStorage({self.path}): the journal shrank from {self._offset} to {len(data)} "
                             "bytes while the study was open; it was changed by something else than a study")
        return data

    def _scan(self, data: bytes, header_expected: bool) -> tuple[list[dict], int, int | None]:
        """(records, offset after the last whole line, offset of a torn last line or None) of ``data`` from
        this object's offset on."""
        records: list[dict] = []
        offset = self._offset
        torn: int | None = None
        while offset < len(data):
            nl = data.find(b"\n", offset)
            end = len(data) if nl == -1 else nl
            line = data[offset:end]
            if line.strip():
                rec = self._parse(line)
                if rec is None:
                    if nl == -1:
                        torn = offset        # the last line, unterminated and not a whole record
                        break
                    raise self._bad_line(line, offset, header_expected and not records)
                records.append(rec)
            offset = end if nl == -1 else nl + 1
        return records, offset, torn

    def _bad_line(self, line: bytes, offset: int, first: bool) -> ValueError:
        if first:
            return NotAJournalError(f"JournalStorage({self.path}): this file is not a lamina journal (its first "
                                   f"line {self._show(line)} is not a JSON record); refusing to touch it")
        return ValueError(f"JournalStorage({self.path}): the record at byte {offset} is not valid JSON and is not "
                         "the last one; the journal is corrupt")

    def _check_header(self, records: list[dict], data: bytes, torn: int | None, header_expected: bool) -> None:
        if not header_expected:
            return
        if records and records[0].get("op") != "study":
            raise NotAJournalError(f"JournalStorage({self.path}): this file is not a lamina journal (its first "
                                   f"record is {records[0].get('op')!r}, expected the 'study' header); refusing "
                                   "to touch it")
        if torn is not None:
            tail = data[torn:]
            if not _prefix_of(_RECORD_START if records else _HEADER_START, tail.lstrip()):
                where = "first line" if not records else "last line"
                raise NotAJournalError(f"JournalStorage({self.path}): this file is not a lamina journal (its {where} "
                                       f"{self._show(tail)} is neither a record nor the start of one); refusing "
                                       "to touch it")

    @staticmethod
    def _show(line: bytes) -> str:
        text = line[:40].decode("utf-8", "replace")
        return repr(text + ("..." if len(line) > 40 else ""))

    def _cut_torn(self, data: bytes, torn: int) -> None:
        if not self._lock.held:
            return                   # maybe a live master's line half written: only its owner may cut it
        if not _prefix_of(_RECORD_START, data[torn:].lstrip()):
            raise NotAJournalError(f"JournalStorage({self.path}): the last line {self._show(data[torn:])} is not "
                                   "the start of a record; refusing to cut it off")
        warnings.warn(f"JournalStorage({self.path}): cutting off a torn last record "
                      f"({len(data) - torn} bytes) left by an interrupted write", stacklevel=4)
        self._repair(truncate_at=torn)

    @staticmethod
    def _parse(line: bytes) -> dict | None:
        try:
            rec = json.loads(line)
        except ValueError:
            return None
        return rec if isinstance(rec, dict) and "op" in rec else None

    def _repair(self, truncate_at: int | None = None, append_newline: bool = False) -> None:
        with open(self.path, "r+b") as f:
            if truncate_at is not None:
                f.truncate(truncate_at)
            if append_newline:
                f.seek(0, os.SEEK_END)
                f.write(b"\n")
            f.flush()
            os.fsync(f.fileno())

    # ------------------------------------------------------------------ the master's lock
    @property
    def locked(self) -> bool:
        """Whether this object holds the journal's lock."""
        return self._lock.held

    def lock(self) -> None:
        """Take the master's lock (re-entrant); :class:`JournalLockedError` if another master holds it."""
        self._lock.acquire()

    def unlock(self) -> None:
        self._lock.release()

    # ------------------------------------------------------------------ writing
    def append(self, record: dict) -> None:
        """Write one record durably (flush + fsync)."""
        line = (json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n").encode("utf-8")
        if self._fh is None:
            new = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")
            if new:
                fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self._fh.write(line)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._offset = self._fh.tell()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        while self._lock.held:
            self._lock.release()

    def __getstate__(self):
        return {"path": self.path, "_fh": None, "_lock": JournalLock(self.path), "_offset": 0}

    def __repr__(self) -> str:
        return f"JournalStorage('{self.path}')"
