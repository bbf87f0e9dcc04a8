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
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TextIO

__all__ = ["JournalStorage"]

VERSION = 1


class JournalStorage:
    """``JournalStorage(path)``: the journal file of one study."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fh: TextIO | None = None

    def load(self) -> list[dict]:
        """All records; a torn last line (the master killed mid-write) is cut off."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records: list[dict] = []
        offset = 0
        while offset < len(data):
            nl = data.find(b"\n", offset)
            if nl == -1:                      # last line, no newline: torn or complete
                self._last_line(data[offset:], offset, records)
                break
            line = data[offset:nl]
            if line.strip():
                records.append(self._record(line, offset))
            offset = nl + 1
        if records and records[0].get("op") != "study":
            raise ValueError(f"JournalStorage({self.path}): first record is {records[0].get('op')!r}, "
                             "expected the 'study' header")
        return records

    def _record(self, line: bytes, offset: int) -> dict:
        rec = self._parse(line)
        if rec is None:
            raise ValueError(f"JournalStorage({self.path}): the record at byte {offset} is not "
                             "valid JSON and is not the last one; the journal is corrupt")
        return rec

    def _last_line(self, line: bytes, offset: int, records: list) -> None:
        """A last line without newline: a complete record gets its newline, a torn one is cut off."""
        rec = self._parse(line) if line.strip() else None
        if rec is None:
            warnings.warn(f"JournalStorage({self.path}): cutting off a torn last record "
                          f"({len(line)} bytes) left by an interrupted write", stacklevel=3)
            self._repair(truncate_at=offset)
        else:
            records.append(rec)
            self._repair(append_newline=True)

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

    def append(self, record: dict) -> None:
        """Write one record durably (flush + fsync)."""
        line = json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n"
        if self._fh is None:
            new = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
            if new:
                fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self._fh.write(line)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __getstate__(self):
        return {"path": self.path, "_fh": None}

    def __repr__(self) -> str:
        return f"JournalStorage('{self.path}')"
