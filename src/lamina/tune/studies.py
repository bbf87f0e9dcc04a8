"""Opening studies, Optuna-style: ``create_study`` and ``load_study``, and the study shared through a database.

    # in every worker process (or on every machine sharing the file system's locks):
    study = tune.create_study(storage="sqlite:///lr.db", study_name="lr", load_if_exists=True,
                              strategy=tune.Bayesian(seed=0))
    study.optimize(objective, n_trials=20)       # this process runs 20 trials of the shared study
    tune.load_study(study_name="lr", storage="sqlite:///lr.db").best_params

A ``SharedStudy`` is a ``Study`` whose every ask and tell is one database transaction (see
``sql_storage``): before asking its strategy, a worker reads what the other workers recorded
(their finished trials are told to its strategy, their running ones count as pending), takes a
queued trial if there is one, and records its start before releasing the lock. When nothing can
be proposed (a grid is covered) while other workers still run trials, ``ask`` waits: one of those
may die and come back as a retry.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

from .pruners import BasePruner
from .sql_storage import SQLiteStorage, open_storage
from .strategies import Strategy
from .study import Study
from .trial import Trial, TrialState

__all__ = ["SharedStudy", "create_study", "load_study"]


class SharedStudy(Study):
    """A study in a ``SQLiteStorage`` that several processes run at once (made by ``create_study``/``load_study``)."""

    def __init__(self, storage: SQLiteStorage, direction: str = "minimize", strategy: Strategy | None = None,
                 pruner: BasePruner | None = None, seed: int | None = None):
        self.study_name = storage.study_name
        self.poll_interval = min(1.0, storage.heartbeat_interval)
        with storage.transaction():
            super().__init__(direction=direction, strategy=strategy, pruner=pruner, storage=storage, seed=seed)
        self._resume.clear()        # RUNNING trials belong to live workers; dead ones come back as retries
        self._db = storage

    def _sync(self) -> None:
        """Apply what the other workers recorded since the last look."""
        records = self._db.new_records()
        if records:
            self._replay(records)
            self._resume.clear()

    def _ask(self, k: int) -> list[Trial]:
        while True:
            with self._db.transaction():
                self._sync()
                out = self._claim_queued(k)
                if len(out) < k:
                    out += super()._ask(k - len(out))
                if out or self._db.mine or not self._db.running_elsewhere():
                    return out
            time.sleep(self.poll_interval)

    def _claim_queued(self, k: int) -> list[Trial]:
        out = []
        for entry, fixed, attrs, draw, fallback in self._db.waiting(k):
            t = super()._ask_fixed(fixed, attrs, draw, fallback)
            self._db.claim(entry, t.number)
            out.append(t)
        return out

    def _ask_fixed(self, fixed: dict, attrs: dict, draw: int | None = None, fallback: str = "random") -> Trial:
        with self._db.transaction():
            self._sync()
            return super()._ask_fixed(fixed, attrs, draw, fallback)

    def _tell(self, t: Trial, value: Any) -> None:
        with self._db.transaction():
            if self._db.owns(t.number):
                super()._tell(t, value)
                return
        warnings.warn(f"SharedStudy: trial {t.number} finished after another worker declared it dead (no heartbeat "
                      f"for {self._db.grace_period} s) and queued it again; this result is dropped",
                      stacklevel=3)
        t.state, t.value = TrialState.FAIL, None

    @property
    def trials(self) -> list[Trial]:
        """All trials in the database, by number (read afresh)."""
        with self._db.transaction():
            self._sync()
        return super().trials

    def enqueue_trial(self, params: dict, user_attrs: dict | None = None) -> None:
        """Queue a trial with these values in the database: the next worker to ask runs it."""
        super().enqueue_trial(params, user_attrs)
        fixed, attrs = self._enqueued.pop()
        self._db.enqueue(fixed, attrs)

    def __repr__(self) -> str:
        return f"SharedStudy(study_name={self.study_name!r}, storage={self._db.url!r}, n_trials={len(self._trials)})"


def create_study(direction: str = "minimize", strategy: Strategy | None = None, pruner: BasePruner | None = None,
                 storage: Any = None, seed: int | None = None, study_name: str | None = None,
                 load_if_exists: bool = False) -> Study:
    """Create a study, or continue one.

    ``storage``: None (in memory), a JSON-lines journal path (an existing journal is resumed), or a
    SQLite URL ``"sqlite:///study.db"`` holding named studies: there ``study_name`` names the study
    (a fresh name when None) and an existing one is continued only with ``load_if_exists=True``."""
    store = open_storage(storage)
    if isinstance(store, SQLiteStorage):
        with store.transaction():      # the study's row and its header appear together
            store.bind(study_name, create=True, load_if_exists=load_if_exists)
            return SharedStudy(store, direction=direction, strategy=strategy, pruner=pruner, seed=seed)
    return Study(direction=direction, strategy=strategy, pruner=pruner, storage=store, seed=seed)


def load_study(study_name: str | None = None, storage: Any = None, strategy: Strategy | None = None,
               pruner: BasePruner | None = None, seed: int | None = None) -> Study:
    """The study recorded in ``storage`` (its direction and seed come from there); ``study_name`` may be
    left out when the database holds one study."""
    store = open_storage(storage)
    if isinstance(store, SQLiteStorage):
        with store.transaction():
            store.bind(study_name, create=False)
            return SharedStudy(store, direction=store.header()["direction"], strategy=strategy, pruner=pruner,
                               seed=seed)
    if store is None:
        raise ValueError("load_study: give the storage that holds the study (a journal path or 'sqlite:///...')")
    records = store.load()
    if not records:
        raise ValueError(f"load_study: the journal {store.path} holds no study")
    return Study(direction=records[0]["direction"], strategy=strategy, pruner=pruner, storage=store, seed=seed)
