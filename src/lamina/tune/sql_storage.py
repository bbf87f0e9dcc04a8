"""A study in a SQLite database, shared by several processes: ``storage="sqlite:///study.db"``.

The database holds the same records as the JSON-lines journal (``storage.py``: a ``study``
header, then a ``start`` and a ``finish`` record per trial), in the order they were committed,
for any number of named studies, plus two tables that let processes work together:

* ``lamina_trials``: one row per trial (state, value, params, the worker running it and its last
  heartbeat), so ``SELECT number, state, value FROM lamina_trials`` shows a study at a glance;
* ``lamina_queue``: trials waiting to be run (``enqueue_trial``, and retries of dead trials), each
  claimed by exactly one worker.

Every change is a ``BEGIN IMMEDIATE`` transaction, so the processes take turns: a worker reads
the records it has not seen, asks its strategy for a trial and records the start before the next
worker can do the same; numbers are never handed out twice and each strategy knows which points
are taken. While a trial runs, a thread of its worker stamps a heartbeat every
``heartbeat_interval`` seconds. A RUNNING trial whose heartbeat is older than ``grace_period``
(its worker was killed) is recorded FAIL by the next worker that looks, and a copy with the same
values is queued (``system_attrs['retry_of']``) up to ``max_retries`` times: never lost, and
counted once: a result that arrives after its trial was declared dead is dropped with a warning.

SQLite wants a local file system (or one whose locks work): several processes on one machine.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .storage import JournalStorage

__all__ = ["SQLiteStorage", "open_storage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lamina_studies (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS lamina_events (id INTEGER PRIMARY KEY AUTOINCREMENT, study INTEGER NOT NULL,
    number INTEGER, op TEXT NOT NULL, worker TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS lamina_events_by_study ON lamina_events (study, id);
CREATE TABLE IF NOT EXISTS lamina_trials (study INTEGER NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL,
    value REAL, params TEXT, worker TEXT NOT NULL, heartbeat REAL NOT NULL, PRIMARY KEY (study, number));
CREATE TABLE IF NOT EXISTS lamina_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, study INTEGER NOT NULL,
    fixed TEXT NOT NULL, attrs TEXT NOT NULL, draw INTEGER, fallback TEXT NOT NULL, trial INTEGER);
"""

_ACCEPTED = ("None (in memory), a path of a JSON-lines journal ('search.jsonl'), a SQLite URL "
             "'sqlite:///relative/study.db' or 'sqlite:////absolute/study.db' (shared by processes on one "
             "machine), or a tune.JournalStorage / tune.SQLiteStorage")
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=True)


def _sqlite_path(url: str) -> str:
    path = url[len("sqlite:///"):]
    if not path or path == ":memory:" or "?" in path:
        raise ValueError(f"storage {url!r}: give the database file, as in 'sqlite:///study.db' (an in-memory "
                         "database cannot be shared between processes: use storage=None for a study in memory)")
    return path


def open_storage(storage: Any) -> JournalStorage | SQLiteStorage | None:
    """The storage a ``storage=`` argument names; anything not understood is refused, saying what is."""
    if storage is None or isinstance(storage, (JournalStorage, SQLiteStorage)):
        return storage
    if isinstance(storage, os.PathLike):
        return JournalStorage(storage)
    if not isinstance(storage, str):
        raise TypeError(f"storage must be {_ACCEPTED}; got {type(storage).__name__}")
    if storage.startswith("sqlite:"):
        if not storage.startswith("sqlite:///"):
            raise ValueError(f"storage {storage!r}: a SQLite URL has three slashes: 'sqlite:///study.db'")
        return SQLiteStorage(storage)
    if ":" in storage and not _WINDOWS_PATH.match(storage):
        raise ValueError(f"storage {storage!r} is not a storage lamina understands (only SQLite databases are "
                         f"supported, through the standard library); it accepts: {_ACCEPTED}")
    return JournalStorage(storage)


class SQLiteStorage:
    """``SQLiteStorage(url, heartbeat_interval=10.0, grace_period=None, max_retries=3, timeout=60.0)``.

    ``grace_period`` (default ``6 * heartbeat_interval``): seconds without a heartbeat after which a
    running trial counts as dead; it must also exceed the longest time one worker keeps the database
    locked (a strategy's ``ask``, e.g. fitting the Bayesian surrogate). ``max_retries``: how many times
    a trial whose worker died is queued again. ``timeout``: seconds to wait for the database lock.
    Open a study in it with ``tune.create_study(storage=...)`` or ``tune.load_study(...)``."""

    def __init__(self, url: str, heartbeat_interval: float = 10.0, grace_period: float | None = None,
                 max_retries: int = 3, timeout: float = 60.0):
        if heartbeat_interval <= 0:
            raise ValueError(f"SQLiteStorage: heartbeat_interval must be > 0 seconds, got {heartbeat_interval}")
        self.url, self.path = url, _sqlite_path(url)
        self.heartbeat_interval = float(heartbeat_interval)
        self.grace_period = 6.0 * self.heartbeat_interval if grace_period is None else float(grace_period)
        if self.grace_period <= self.heartbeat_interval:
            raise ValueError(f"SQLiteStorage: grace_period ({self.grace_period} s) must exceed heartbeat_interval "
                             f"({self.heartbeat_interval} s)")
        self.max_retries, self.timeout = int(max_retries), float(timeout)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.study_name: str | None = None
        self.mine: set[int] = set()          # numbers of the trials this worker runs
        self._study: int | None = None
        self._conn: sqlite3.Connection | None = None
        self._depth = 0
        self._cursor = 0                     # last event id this worker has read
        self._own_events: set[int] = set()
        self._beat_lock = threading.Lock()
        self._beat: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ connection and transactions
    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
            with self.transaction() as conn:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (re-entrant: an inner one joins the outer)."""
        conn = self._conn if self._conn is not None else self._connection()
        if self._depth:
            self._depth += 1
            try:
                yield conn
            finally:
                self._depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._depth = 0

    # ------------------------------------------------------------------ studies
    def study_names(self) -> list[str]:
        return [r[0] for r in self._connection().execute("SELECT name FROM lamina_studies ORDER BY id")]

    def bind(self, study_name: str | None, create: bool, load_if_exists: bool = False) -> None:
        """Attach this storage to the study ``study_name`` (created if ``create``)."""
        with self.transaction() as conn:
            if study_name is None and not create:
                study_name = self._only_study()
            row = conn.execute("SELECT id FROM lamina_studies WHERE name = ?", (study_name,)).fetchone()
            if row is not None and create and not load_if_exists:
                raise ValueError(f"a study named {study_name!r} already exists in {self.url}; pass "
                                 "load_if_exists=True or use tune.load_study to continue it")
            if row is None and not create:
                raise ValueError(f"no study named {study_name!r} in {self.url}; studies there: {self.study_names()}")
            if row is None:
                study_name = study_name or f"study-{uuid.uuid4().hex[:12]}"
                row = (conn.execute("INSERT INTO lamina_studies (name, created) VALUES (?, ?)",
                                    (study_name, time.time())).lastrowid,)
            self._study, self.study_name = int(row[0]), study_name

    def _only_study(self) -> str:
        names = self.study_names()
        if len(names) != 1:
            raise ValueError(f"{self.url} holds {len(names)} studies ({names}); give study_name")
        return names[0]

    def _bound(self) -> int:
        if self._study is None:
            raise ValueError(f"SQLiteStorage({self.url!r}): open a study in a database with "
                             "tune.create_study(storage=..., study_name=...) or tune.load_study(...)")
        return self._study

    def header(self) -> dict:
        """The study's first record (direction, seed, strategy)."""
        row = self._connection().execute("SELECT record FROM lamina_events WHERE study = ? AND op = 'study' "
                                         "ORDER BY id LIMIT 1", (self._bound(),)).fetchone()
        if row is None:
            raise ValueError(f"study {self.study_name!r} in {self.url} has no header record")
        return json.loads(row[0])

    # ------------------------------------------------------------------ the journal interface of Study
    def load(self) -> list[dict]:
        """Every record of the study (after failing the trials of dead workers)."""
        study = self._bound()
        with self.transaction() as conn:
            self._fail_stale(conn)
            rows = conn.execute("SELECT id, record FROM lamina_events WHERE study = ? ORDER BY id",
                                (study,)).fetchall()
        self._cursor = rows[-1][0] if rows else 0
        return [json.loads(r) for _, r in rows]

    def new_records(self) -> list[dict]:
        """The records written by other workers since the last look (dead workers' trials failed first)."""
        study = self._bound()
        with self.transaction() as conn:
            self._fail_stale(conn)
            rows = conn.execute("SELECT id, record FROM lamina_events WHERE study = ? AND id > ? ORDER BY id",
                                (study, self._cursor)).fetchall()
        if rows:
            self._cursor = rows[-1][0]
        return [json.loads(r) for i, r in rows if i not in self._own_events]

    def append(self, record: dict) -> None:
        """Record a ``study``, ``start`` or ``finish`` record of this worker."""
        study, op = self._bound(), record["op"]
        number = None if op == "study" else int(record["number"])
        with self.transaction() as conn:
            if op == "start":
                conn.execute("INSERT INTO lamina_trials (study, number, state, worker, heartbeat) "
                             "VALUES (?, ?, 'RUNNING', ?, ?)", (study, number, self.worker, time.time()))
            elif op == "finish":
                done = conn.execute("UPDATE lamina_trials SET state = ?, value = ?, params = ?, heartbeat = ? "
                                    "WHERE study = ? AND number = ? AND state = 'RUNNING' AND worker = ?",
                                    (record["state"], record["value"], _dumps(record["params"]), time.time(),
                                     study, number, self.worker))
                if done.rowcount != 1:
                    raise RuntimeError(f"SQLiteStorage: trial {number} is not running in this worker")
            self._own_events.add(self._insert_event(conn, number, op, record))
        if number is not None and op == "start":
            self._running(number)
        elif number is not None:
            self.mine.discard(number)

    def _insert_event(self, conn: sqlite3.Connection, number: int | None, op: str, record: dict) -> int:
        cur = conn.execute("INSERT INTO lamina_events (study, number, op, worker, record) VALUES (?, ?, ?, ?, ?)",
                           (self._study, number, op, self.worker, _dumps(record)))
        return int(cur.lastrowid or 0)

    def owns(self, number: int) -> bool:
        """Whether trial ``number`` is still RUNNING in this worker (not declared dead by another)."""
        row = self._connection().execute("SELECT state, worker FROM lamina_trials WHERE study = ? AND number = ?",
                                         (self._bound(), number)).fetchone()
        owned = row is not None and row[0] == "RUNNING" and row[1] == self.worker
        if not owned:
            self.mine.discard(number)
        return owned

    def running_elsewhere(self) -> int:
        """How many trials other workers are running."""
        return self._connection().execute("SELECT COUNT(*) FROM lamina_trials WHERE study = ? AND state = 'RUNNING' "
                                          "AND worker != ?", (self._bound(), self.worker)).fetchone()[0]

    # ------------------------------------------------------------------ the queue
    def enqueue(self, fixed: dict, attrs: dict, draw: int | None = None, fallback: str = "random") -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO lamina_queue (study, fixed, attrs, draw, fallback) VALUES (?, ?, ?, ?, ?)",
                         (self._bound(), _dumps(fixed), _dumps(attrs), draw, fallback))

    def waiting(self, k: int) -> list[tuple[int, dict, dict, int | None, str]]:
        """Up to ``k`` unclaimed queue entries, oldest first: (id, fixed, attrs, draw, fallback)."""
        rows = self._connection().execute("SELECT id, fixed, attrs, draw, fallback FROM lamina_queue WHERE study = ? "
                                          "AND trial IS NULL ORDER BY id LIMIT ?", (self._bound(), k)).fetchall()
        return [(i, json.loads(f), json.loads(a), d, fb) for i, f, a, d, fb in rows]

    def claim(self, entry: int, number: int) -> None:
        """Mark queue entry ``entry`` as run by trial ``number`` (inside the transaction that started it)."""
        with self.transaction() as conn:
            if conn.execute("UPDATE lamina_queue SET trial = ? WHERE id = ? AND trial IS NULL",
                            (number, entry)).rowcount != 1:
                raise RuntimeError(f"SQLiteStorage: queue entry {entry} was claimed twice")

    # ------------------------------------------------------------------ heartbeats
    def _running(self, number: int) -> None:
        with self._beat_lock:
            self.mine.add(number)
            if self._beat is None:
                self._stop.clear()
                self._beat = threading.Thread(target=self._beat_loop, name=f"lamina-heartbeat-{self.study_name}",
                                              daemon=True)
                self._beat.start()

    def _beat_loop(self) -> None:
        conn = self._connect()
        try:
            while not self._stop.wait(self.heartbeat_interval):
                with self._beat_lock:
                    if not self.mine:
                        self._beat = None
                        return
                with contextlib.suppress(sqlite3.OperationalError):   # locked past the timeout: next beat
                    conn.execute("UPDATE lamina_trials SET heartbeat = ? WHERE study = ? AND worker = ? "
                                 "AND state = 'RUNNING'", (time.time(), self._study, self.worker))
        finally:
            conn.close()

    def _fail_stale(self, conn: sqlite3.Connection) -> None:
        """Record FAIL for other workers' trials without a heartbeat for ``grace_period``; queue retries."""
        now = time.time()
        stale = conn.execute("SELECT number, worker, heartbeat FROM lamina_trials WHERE study = ? "
                             "AND state = 'RUNNING' AND heartbeat < ? AND worker != ?",
                             (self._study, now - self.grace_period, self.worker)).fetchall()
        for number, worker, beat in stale:
            self._fail_dead(conn, number, f"its worker {worker} stopped sending heartbeats ({now - beat:.1f} s ago, "
                                          f"grace period {self.grace_period} s); it was presumably killed", now)

    def _fail_dead(self, conn: sqlite3.Connection, number: int, reason: str, now: float) -> None:
        """Trial ``number`` lost its worker: a FAIL record, and a copy queued with the same values."""
        row = conn.execute("SELECT record FROM lamina_events WHERE study = ? AND number = ? AND op = 'start' "
                           "ORDER BY id DESC LIMIT 1", (self._study, number)).fetchone()
        start = json.loads(row[0])
        attrs = dict(start.get("system_attrs") or {})
        finish = {"op": "finish", "number": number, "state": "FAIL", "value": None, "params": {},
                  "distributions": {}, "intermediate_values": {}, "user_attrs": {},
                  "system_attrs": {**attrs, "failed_by": "heartbeat"}, "datetime_start": start.get("time"),
                  "datetime_complete": now, "error": f"trial {number}: {reason}"}
        conn.execute("UPDATE lamina_trials SET state = 'FAIL', heartbeat = ? WHERE study = ? AND number = ?",
                     (now, self._study, number))
        self._insert_event(conn, number, "finish", finish)
        count = int(attrs.get("retry_count", 0))
        if count < self.max_retries:
            retry = {"retry_of": attrs.get("retry_of", number), "retry_count": count + 1}
            self.enqueue(start.get("fixed") or {}, retry, start.get("draw", number), start.get("fallback", "random"))

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Stop the heartbeat thread and close the connection."""
        self._stop.set()
        beat = self._beat
        if beat is not None:
            beat.join()
        self._beat = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"SQLiteStorage({self.url!r}, study_name={self.study_name!r})"
