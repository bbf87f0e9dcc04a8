"""The master loop behind ``Study.optimize``: a master that hands trials to workers and collects results.

The master asks the strategy for trials, hands each to an executor with
``submit(run_trial, objective, trial)``, takes results back with
``as_completed`` and tells them to the strategy (which is also the moment the
journal gets the ``finish`` record).  Without ``batch_mode`` a free worker
gets a new trial as soon as one finishes; with it, the master hands out
``n_workers`` trials, waits for all of them and tells them in number order.

A dead worker breaks a ``ProcessPoolExecutor``: every trial in flight then
fails with ``BrokenProcessPool``, not only the one whose worker died.  The
master makes a new pool; if one trial was in flight it is recorded FAILED,
otherwise each of the trials in flight is run again *alone*, so the one that
kills its worker is found and recorded FAILED while the others complete
normally (a worker killed from outside therefore costs no trial at all).
The other way round, the workers of the study's own pool exit when the master
is killed (``parallel.exit_with_master``); a pool passed as ``executor`` gets
that from ``parallel.local_executor``.
"""
from __future__ import annotations

import collections
import os
import pickle
import time
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from ..parallel.executors import local_executor
from ._worker import run_trial
from .distributions import SearchSpaceError
from .trial import TrialState

__all__ = ["run_optimize"]


def _own_pool(n_workers: int) -> Executor:
    """The study's own process pool; its workers exit when the master dies (``parallel.exit_with_master``)."""
    return local_executor(n_workers, threads_per_worker=None)


class _Pool:
    """The executor in use; owns (and renews) the default process pool."""

    def __init__(self, executor: Executor | None, n_workers: int):
        self.inline = executor is None and n_workers == 1
        self.own = executor is None and n_workers > 1
        self.n_workers = n_workers
        self.executor: Executor | None = _own_pool(n_workers) if self.own else executor

    def submit(self, objective, trial):
        return self.executor.submit(run_trial, objective, trial)

    def renew(self) -> None:
        if not isinstance(self.executor, ProcessPoolExecutor):
            raise RuntimeError(f"optimize: the executor {self.executor!r} is broken and is not a "
                               "ProcessPoolExecutor the study can recreate")
        workers = getattr(self.executor, "_max_workers", self.n_workers)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = _own_pool(workers)
        self.own = True

    def close(self) -> None:
        if self.own and self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


class _Master:
    def __init__(self, study, objective, n_trials, timeout, pool, n_workers, catch, max_retries,
                 batch_mode, callbacks, bar):
        self.study, self.objective, self.pool = study, objective, pool
        self.n_trials, self.n_workers, self.catch = n_trials, n_workers, catch
        self.max_retries, self.batch_mode, self.callbacks, self.bar = max_retries, batch_mode, callbacks, bar
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.started = 0
        self.in_flight: dict = {}
        self.suspects: collections.deque = collections.deque()
        self.retries: collections.deque = collections.deque()
        self.fatal: BaseException | None = None

    # ----------------------------------------------------------- handing out
    def budget(self) -> float:
        if self.fatal is not None or self.study._stop:
            return 0
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return 0
        return float("inf") if self.n_trials is None else self.n_trials - self.started

    def next_trials(self, k: int) -> list:
        out: list = []
        while self.retries and len(out) < k and self.fatal is None and not self.study._stop:
            out.append(self.study._ask_fixed(*self.retries.popleft()))
        n_new = int(min(k - len(out), self.budget()))
        if n_new > 0:
            new = self.study._ask(n_new)
            self.started += len(new)
            out.extend(new)
        return out

    def submit(self, trial) -> None:
        try:
            fut = self.pool.submit(self.objective, trial)
        except BrokenProcessPool:
            self.pool.renew()
            fut = self.pool.submit(self.objective, trial)
        self.in_flight[fut] = trial

    # ----------------------------------------------------------- results
    def handle(self, trial, result: dict) -> None:
        exc = result.pop("exception", None)
        trial._merge(result)
        state = trial.state
        self.study._tell(trial, trial.value if state == TrialState.COMPLETE else state)
        if state == TrialState.FAIL:
            self._failed(trial, exc)
        if self.bar is not None:
            self.bar.update(1)
            try:
                self.bar.set_postfix(best=self.study.best_value, refresh=False)
            except ValueError:
                pass
        for cb in self.callbacks:
            cb(self.study, trial)

    def _failed(self, trial, exc: BaseException | None) -> None:
        """A failed trial: an uncaught exception (or a bad search space) stops the study; a caught
        one queues a retry with the same parameters while ``max_retries`` allows."""
        if isinstance(exc, SearchSpaceError) or (exc is not None and not isinstance(exc, self.catch)):
            if self.fatal is None:
                self.fatal = exc
            return
        count = trial.system_attrs.get("retry_count", 0)
        if count < self.max_retries:
            fixed = {**trial._fixed, **trial.params}
            attrs = {"retry_of": trial.system_attrs.get("retry_of", trial.number), "retry_count": count + 1}
            self.retries.append((fixed, attrs, trial._draw, trial._fallback))

    @staticmethod
    def _failure(trial, message: str, exc: BaseException | None) -> dict:
        trial.state, trial.value, trial.error = TrialState.FAIL, None, message
        if trial.datetime_complete is None:
            trial.datetime_complete = time.time()
        out = trial._result()
        out["exception"] = exc
        return out

    def process(self, futures) -> None:
        broken = []
        for fut in sorted(futures, key=lambda f: self.in_flight[f].number):
            trial = self.in_flight.pop(fut)
            try:
                result = fut.result()
            except BrokenProcessPool:
                broken.append(trial)
                continue
            except BaseException as e:   # the executor could not run it (pickling, killed worker, ...)
                result = self._failure(trial, f"trial {trial.number}: the executor failed to run it: "
                                              f"{type(e).__name__}: {e}", e)
            self.handle(trial, result)
        if broken:
            self.pool.renew()
            if len(broken) == 1:
                t = broken[0]
                self.handle(t, self._failure(t, f"trial {t.number}: its worker process died "
                                                "(BrokenProcessPool)", None))
            else:
                self.suspects.extend(broken)

    # ----------------------------------------------------------- loops
    def run_inline(self) -> None:
        while True:
            trials = self.next_trials(1)
            if not trials:
                return
            t = trials[0]
            try:
                result = run_trial(self.objective, t)
            except BaseException as e:    # KeyboardInterrupt, SystemExit: record, then re-raise
                self.handle(t, self._failure(t, f"trial {t.number}: interrupted by {type(e).__name__}", e))
                raise
            self.handle(t, result)

    def run_parallel(self) -> None:
        while True:
            self._hand_out()
            if not self.in_flight:
                return
            if self.batch_mode:
                done = list(as_completed(list(self.in_flight)))
            else:
                first = next(iter(as_completed(list(self.in_flight))))
                done = [first]
                if isinstance(first.exception(), BrokenProcessPool):   # the whole pool is gone
                    done = list(as_completed(list(self.in_flight)))
            self.process(done)

    def _hand_out(self) -> None:
        """Submit what the workers can take: a suspect of a broken pool alone, a whole batch when none
        is in flight (``batch_mode``), else one trial per free worker."""
        if self.suspects:
            if not self.in_flight:
                self.submit(self.suspects.popleft())
            return
        free = (0 if self.in_flight else self.n_workers) if self.batch_mode else self.n_workers - len(self.in_flight)
        if free > 0:
            for t in self.next_trials(free):
                self.submit(t)


def _check_picklable(objective, executor) -> None:
    if executor is None or isinstance(executor, ProcessPoolExecutor):
        try:
            pickle.dumps(objective)
        except Exception as e:
            raise TypeError(
                f"optimize: a process pool needs a picklable objective (a module-level function or an "
                f"instance of a module-level class); {objective!r} is not: {e}") from None


def _is_count(n) -> bool:
    return not isinstance(n, bool) and int(n) == n and n >= 0


def _check_options(objective, n_trials, timeout, max_retries) -> None:
    if not callable(objective):
        raise TypeError(f"optimize: objective must be callable, got {type(objective).__name__}")
    if n_trials is not None and not _is_count(n_trials):
        raise ValueError(f"optimize: n_trials must be an int >= 0 or None, got {n_trials!r}")
    if timeout is not None and timeout <= 0:
        raise ValueError(f"optimize: timeout must be > 0 seconds or None, got {timeout!r}")
    if max_retries < 0:
        raise ValueError(f"optimize: max_retries must be >= 0, got {max_retries}")
    if n_trials is None and timeout is None:
        warnings.warn("optimize: neither n_trials nor timeout given; running until the strategy "
                      "is exhausted or study.stop() is called", stacklevel=4)


def _workers(executor, n_workers) -> int:
    """The number of workers: 1 inline, else the executor's (or the CPUs)."""
    if n_workers is None:
        n_workers = 1 if executor is None else (getattr(executor, "_max_workers", None) or os.cpu_count() or 1)
    if n_workers < 1:
        raise ValueError(f"optimize: n_workers must be >= 1, got {n_workers}")
    if executor is not None and not hasattr(executor, "submit"):
        raise TypeError(f"optimize: executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    return n_workers


def _progress_bar(show: bool, n_trials):
    if not show:
        return None
    try:
        from tqdm.auto import tqdm  # optional dependency
    except ImportError:
        warnings.warn("optimize: show_progress_bar needs tqdm (pip install tqdm)", stacklevel=4)
        return None
    return tqdm(total=n_trials, desc="tune", unit="trial")


def run_optimize(study, objective, *, n_trials, timeout, executor, n_workers, catch, max_retries,
                 batch_mode, callbacks, show_progress_bar) -> None:
    _check_options(objective, n_trials, timeout, max_retries)
    catch = (catch,) if isinstance(catch, type) else tuple(catch)
    n_workers = _workers(executor, n_workers)
    if executor is not None or n_workers > 1:
        _check_picklable(objective, executor)
    bar = _progress_bar(show_progress_bar, n_trials)
    study._stop = False
    pool = _Pool(executor, n_workers)
    master = _Master(study, objective, None if n_trials is None else int(n_trials), timeout, pool,
                     n_workers, catch, max_retries, batch_mode, callbacks, bar)
    try:
        if pool.inline:
            master.run_inline()
        else:
            master.run_parallel()
    finally:
        pool.close()
        if bar is not None:
            bar.close()
    if master.fatal is not None:
        raise master.fatal
