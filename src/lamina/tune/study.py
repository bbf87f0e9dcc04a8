"""The study: the master that controls many workers.

It owns the strategy, the pruner, the list of trials and the journal::

    study = tune.create_study(direction="minimize", strategy=tune.Bayesian(), storage="lr.jsonl", seed=0)
    study.optimize(objective, n_trials=50, n_workers=4)
    study.best_params, study.best_value, study.trials_dataframe()

Only the master writes the journal (``storage``).  Creating a study on an
existing journal resumes it (see ``storage.JournalStorage``).  One master at a
time writes a journal: ``optimize`` (and a manual ``ask`` until its ``tell``)
holds the journal's lock, and another study that wants to write it meanwhile
gets ``JournalLockedError`` naming the holder's PID; a study taking the lock
first reads what other masters appended since it looked.  The manual
ask/tell interface (``study.ask()``, ``study.tell(trial, value)``) and
``enqueue_trial(params)`` (manual search: try these values first) use the
same journal.
"""
from __future__ import annotations

import collections
import contextlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any, cast

from ._optimize import run_optimize
from .distributions import distribution_from_dict
from .optuna_export import to_optuna
from .pruners import BasePruner
from .sql_storage import SQLiteStorage, open_storage
from .storage import VERSION, JournalLockedError, JournalStorage
from .strategies import Bayesian, Strategy
from .table import trials_table
from .trial import Trial, TrialState

__all__ = ["Study"]


def _journal_seed(header: dict, storage, direction: str, seed: int | None) -> int | None:
    """The seed of a resumed journal, after checking its direction."""
    if header["direction"] != direction:
        raise ValueError(f"Study: journal {storage.path} holds a '{header['direction']}' study, "
                         f"but direction='{direction}' was asked")
    if seed is not None and header.get("seed") is not None and seed != header["seed"]:
        warnings.warn(f"Study: journal {storage.path} was created with seed={header['seed']}; "
                      f"using it instead of seed={seed}", stacklevel=3)
    return header.get("seed")


def _initial_records(storage) -> tuple[list[dict], bool]:
    """The records of ``storage``, and whether the journal's lock is now held (to write a header or cut a
    torn tail): a journal another master holds is only read."""
    if storage is None:
        return [], False
    if not isinstance(storage, JournalStorage):
        return storage.load(), False
    deadline = time.monotonic() + 2.0
    while True:
        try:
            storage.lock()
            break
        except JournalLockedError:
            records = storage.load()
            if records:
                return records, False
            if time.monotonic() > deadline:    # the holder keeps an empty journal locked
                raise
            time.sleep(0.01)           # that master is writing the header right now
    try:
        return storage.load(), True
    except BaseException:
        storage.unlock()
        raise


def _seeded(strategy: Strategy | None, seed: int | None) -> Strategy:
    """The strategy (Bayesian by default) with the study's seed unless it was given its own."""
    if strategy is None:
        return Bayesian(seed=seed)
    if seed is not None and getattr(strategy, "_seed_given", False) is False:
        strategy.seed = int(seed)
    return strategy


class Study:
    """``Study(direction="minimize", strategy=None, pruner=None, storage=None, seed=None)``.

    ``strategy`` defaults to ``Bayesian(seed=seed)``.  ``storage`` is a path of
    a JSON-lines journal (or a ``JournalStorage``); an existing journal is
    resumed: its direction must match, and its seed is used when the strategy
    was not given one.
    """

    def __init__(self, direction: str = "minimize", strategy: Strategy | None = None,
                 pruner: BasePruner | None = None, storage=None, seed: int | None = None):
        if direction not in ("minimize", "maximize"):
            raise ValueError(f"Study: direction must be 'minimize' or 'maximize', got {direction!r}")
        if strategy is not None and not isinstance(strategy, Strategy):
            raise TypeError(f"Study: strategy must be a tune.Strategy (Grid, Random, Bayesian, "
                            f"Evolutionary), got {type(strategy).__name__}")
        self.direction = direction
        self.pruner = pruner
        storage = open_storage(storage)
        self.storage: JournalStorage | SQLiteStorage | None = storage
        self._manual: set[int] = set()      # trials handed out by ask() and not told yet
        records, exclusive = _initial_records(storage)
        header = records[0] if records else None
        if header is not None:
            seed = _journal_seed(header, storage, direction, seed)
        self.strategy = strategy = _seeded(strategy, seed)
        strategy.direction = direction
        self.seed = strategy.seed
        self._trials: dict[int, Trial] = {}
        self._resume: collections.deque[Trial] = collections.deque()
        self._enqueued: collections.deque[tuple[dict, dict]] = collections.deque()
        self._stop = False
        try:
            if header is not None:
                self._resume_journal(header, records[1:])
            elif storage is not None:
                storage.append({"op": "study", "version": VERSION, "direction": direction, "seed": self.seed,
                                "strategy": type(strategy).__name__, "created": time.time()})
        finally:
            if exclusive:
                cast(JournalStorage, storage).unlock()

    # ------------------------------------------------------------ journal
    def _resume_journal(self, header: dict, records: list[dict]) -> None:
        name = type(self.strategy).__name__
        if header.get("strategy") not in (None, name):
            path = self.storage.path if self.storage is not None else None
            warnings.warn(f"Study: journal {path} was written by strategy {header['strategy']}, resuming with {name}",
                          stacklevel=3)
        self._replay(records)

    def _replay(self, records: list[dict]) -> None:
        for rec in records:
            op = rec.get("op")
            if op == "start":
                self._replay_start(rec)
            elif op == "finish":
                self._replay_finish(rec)
            elif op != "study":
                warnings.warn(f"Study: unknown journal record {op!r} ignored", stacklevel=3)
        self._collect_resume()

    def _collect_resume(self) -> None:
        """Every RUNNING trial (its master died in it) is adopted and queued to run again, by number."""
        self._resume = collections.deque()
        for number in sorted(self._trials):
            t = self._trials[number]
            if t.state == TrialState.RUNNING and number not in self._manual:
                self.strategy._adopt(t)
                self._resume.append(t)

    def _acquire(self) -> None:
        """Take the journal's lock (re-entrant); the first time, apply what other masters appended."""
        storage = self.storage
        if not isinstance(storage, JournalStorage):
            return
        first = not storage.locked
        storage.lock()
        if first:
            try:
                self._replay(storage.new_records())     # RUNNING trials now are orphans of a dead master
            except BaseException:
                storage.unlock()
                raise

    def _release(self) -> None:
        if isinstance(self.storage, JournalStorage):
            self.storage.unlock()

    @contextlib.contextmanager
    def lock(self):
        """``with study.lock(): ...``: hold the journal for a sequence of calls (``optimize`` takes it
        itself), with the trials other masters recorded applied first.  ``JournalLockedError`` if another
        master holds it.  Nothing to do for a study in memory or in a SQLite database."""
        self._acquire()
        try:
            yield self
        finally:
            self._release()

    def close(self) -> None:
        """Close the journal and let go of its lock (a trial asked and not told then counts as dead)."""
        self._manual.clear()
        if isinstance(self.storage, JournalStorage):
            self.storage.close()

    def _replay_start(self, rec: dict) -> None:
        number = int(rec["number"])
        t = Trial(number, fixed=rec.get("fixed"), seed=rec.get("seed", self.seed),
                  fallback=rec.get("fallback", "random"), draw=rec.get("draw"))
        t.system_attrs = dict(rec.get("system_attrs", {}))
        t.state = TrialState.RUNNING
        self._trials[number] = t

    def _replay_finish(self, rec: dict) -> None:
        number = int(rec["number"])
        t = self._trials.get(number)
        if t is None:
            t = self._trials[number] = Trial(number, seed=self.seed)
        t.params = dict(rec["params"])
        t.distributions = {k: distribution_from_dict(d) for k, d in rec["distributions"].items()}
        t.intermediate_values = {int(k): v for k, v in rec["intermediate_values"].items()}
        t.user_attrs = dict(rec.get("user_attrs", {}))
        t.system_attrs = dict(rec.get("system_attrs", {}))
        t.datetime_start, t.datetime_complete = rec.get("datetime_start"), rec.get("datetime_complete")
        t.error = rec.get("error")
        t.value = rec.get("value")
        state = TrialState(rec["state"])
        t.state = state
        self.strategy.tell(t, t.value if state == TrialState.COMPLETE else state)

    def _record_start(self, t: Trial) -> None:
        if self.storage is not None:
            self.storage.append({"op": "start", "number": t.number, "fixed": t._fixed, "seed": t._seed,
                                 "draw": t._draw, "fallback": t._fallback, "system_attrs": t.system_attrs, "time": time.time()})

    def _record_finish(self, t: Trial) -> None:
        if self.storage is not None:
            self.storage.append({
                "op": "finish", "number": t.number, "state": t.state.value, "value": t.value,
                "params": t.params, "distributions": {k: d.to_dict() for k, d in t.distributions.items()},
                "intermediate_values": {str(k): v for k, v in t.intermediate_values.items()},
                "user_attrs": t.user_attrs, "system_attrs": t.system_attrs,
                "datetime_start": t.datetime_start, "datetime_complete": t.datetime_complete,
                "error": t.error})

    # ------------------------------------------------------------ ask / tell
    def _history(self) -> list:
        return [(t.state, dict(t.intermediate_values)) for t in self._trials.values() if t.state.is_finished()]

    def _ask(self, k: int) -> list[Trial]:
        """Up to ``k`` trials: resumed RUNNING ones, then enqueued ones, then the strategy's."""
        out: list[Trial] = []
        while len(out) < k and self._resume:
            t = self._resume.popleft()
            if t.state.is_finished() or self._trials.get(t.number) is not t:
                continue               # finished (or run again) by another master meanwhile
            t.params, t.distributions, t.intermediate_values, t.user_attrs = {}, {}, {}, {}
            t.datetime_start = t.datetime_complete = t.error = None
            t._space = dict(self.strategy._space)
            out.append(t)
        while len(out) < k and self._enqueued:
            fixed, attrs = self._enqueued.popleft()
            t = self.strategy._register(self.strategy._next_number, fixed, fallback="random")
            t.system_attrs.update(attrs)
            out.append(t)
        if len(out) < k:
            out.extend(self.strategy.ask(k - len(out)))
        history = self._history() if self.pruner is not None else []
        for t in out:
            self._prepare(t, history)
        return out

    def _ask_fixed(self, fixed: dict, attrs: dict, draw: int | None = None, fallback: str = "random") -> Trial:
        """A trial with given values; a retry passes the failed trial's ``draw`` so that
        lazily sampled values repeat too."""
        t = self.strategy._register(self.strategy._next_number, fixed, fallback=fallback)
        if draw is not None:
            t._draw = draw
        t.system_attrs.update(attrs)
        self._prepare(t, self._history() if self.pruner is not None else [])
        return t

    def _prepare(self, t: Trial, history: list) -> None:
        t._pruner, t._history, t._direction = self.pruner, history, self.direction
        t.state = TrialState.RUNNING
        self._trials[t.number] = t
        self._record_start(t)

    def _tell(self, t: Trial, value: Any) -> None:
        self.strategy.tell(t, value)
        if t.datetime_complete is None:
            t.datetime_complete = time.time()
        t._history = []
        self._record_finish(t)

    def ask(self) -> Trial:
        """A new trial to run by hand; finish it with ``tell``.  With a journal, the study holds the
        journal's lock from here until every asked trial is told (or ``close()``)."""
        self._acquire()
        try:
            trials = self._ask(1)
        except BaseException:
            self._release()
            raise
        if not trials:
            self._release()
            raise RuntimeError(f"Study.ask: the strategy {self.strategy!r} has nothing left to propose")
        trials[0].datetime_start = time.time()
        self._manual.add(trials[0].number)
        return trials[0]

    def tell(self, trial: Trial, value: Any) -> Trial:
        """Finish ``trial`` with a float, ``tune.FAILED`` or ``tune.PRUNED`` (NaN = failed)."""
        if trial.number not in self._trials or self._trials[trial.number].state.is_finished():
            raise ValueError(f"Study.tell: trial {trial.number} was not asked from this study or is "
                             "already finished")
        manual = trial.number in self._manual
        if not manual:
            self._acquire()            # written under the lock, like every record
        try:
            self._tell(trial, value)
        finally:
            self._manual.discard(trial.number)
            self._release()
        return trial

    def enqueue_trial(self, params: dict, user_attrs: dict | None = None) -> None:
        """Run a trial with these values next (manual search; other values are sampled)."""
        try:
            json.dumps(params)
            json.dumps(user_attrs or {})
        except (TypeError, ValueError):
            raise TypeError(f"Study.enqueue_trial: params {params!r} must be JSON scalars "
                            "(None, bool, int, float, str)") from None
        self._enqueued.append((dict(params), {"enqueued": True, **(user_attrs or {})}))

    def stop(self) -> None:
        """Ask ``optimize`` to start no new trial (callable from a callback)."""
        self._stop = True

    # ------------------------------------------------------------ optimize
    def optimize(self, objective: Callable[[Trial], float], n_trials: int | None = None,
                 timeout: float | None = None, executor=None, n_workers: int | None = None,
                 catch: type | Iterable[type] = (Exception,), max_retries: int = 0,
                 batch_mode: bool = False, callbacks: list | None = None,
                 show_progress_bar: bool = False) -> None:
        """Run trials until ``n_trials`` are finished, ``timeout`` seconds passed or the strategy is done.

        * ``executor``: any ``concurrent.futures.Executor`` (only ``submit`` and
          ``as_completed`` are used), e.g. a Dask ``client.get_executor()``.
          ``None`` with ``n_workers`` > 1: a standard-library
          ``ProcessPoolExecutor`` (the objective must then be picklable: a
          module-level function or a callable object of a module-level class).
          ``None`` with one worker: the objective runs in this process.
        * ``n_workers``: trials running at once (default 1 without an executor,
          the executor's ``_max_workers`` or the CPU count with one).
        * ``catch``: exception types recorded as FAILED; any other exception is
          recorded and then re-raised (``SearchSpaceError`` always is).
        * ``max_retries``: a failed trial is tried again with the same values up to
          this many times, as new trials (``system_attrs['retry_of']``) that do
          not count towards ``n_trials``.
        * ``batch_mode``: hand out ``n_workers`` trials, wait for all, tell them in
          number order: the same seed then gives the same trials whatever the timing.
        * ``callbacks``: ``callback(study, trial)`` after every finished trial.
        """
        with self.lock():
            run_optimize(self, objective, n_trials=n_trials, timeout=timeout, executor=executor,
                         n_workers=n_workers, catch=catch, max_retries=max_retries, batch_mode=batch_mode,
                         callbacks=callbacks or [], show_progress_bar=show_progress_bar)

    # ------------------------------------------------------------ results
    @property
    def trials(self) -> list[Trial]:
        """All trials, by number."""
        return [self._trials[n] for n in sorted(self._trials)]

    def get_trials(self, states: Iterable[TrialState] | None = None) -> list[Trial]:
        states = None if states is None else set(states)
        return [t for t in self.trials if states is None or t.state in states]

    @property
    def best_trial(self) -> Trial:
        done = [t for t in self.trials if t.state == TrialState.COMPLETE and t.value is not None
                and not math.isnan(t.value)]
        if not done:
            counts = collections.Counter(t.state.value for t in self.trials)
            raise ValueError(f"Study.best_trial: no completed trial yet (trials by state: {dict(counts)})")
        sign = 1.0 if self.direction == "minimize" else -1.0
        return min(done, key=lambda t: (sign * cast(float, t.value), t.number))

    @property
    def best_value(self) -> float:
        return cast(float, self.best_trial.value)      # a completed trial has a value

    @property
    def best_params(self) -> dict:
        return dict(self.best_trial.params)

    def trials_dataframe(self, format: str = "records"):
        """The trials as a table: ``"records"`` (list of dicts), ``"columns"``
        (dict of lists) or ``"pandas"`` (a DataFrame; needs pandas)."""
        return trials_table(self.trials, format)

    def to_optuna(self, storage: Any, study_name: str | None = None):
        """Copy the finished trials into a new study of an Optuna storage (a URL or an Optuna storage object)."""
        return to_optuna(self, storage, study_name)

    def __repr__(self) -> str:
        return (f"Study(direction={self.direction!r}, strategy={self.strategy!r}, "
                f"n_trials={len(self._trials)})")

