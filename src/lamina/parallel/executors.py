"""Executors and the one map-reduce primitive the master needs: split the work into as many chunks
as there are machines or cores, process the chunks in parallel, then add up the results on one
machine (``Σ_k f(chunk_k)``).

Everything runs on a ``concurrent.futures.Executor`` and uses only ``submit`` and
``as_completed``, so the same code runs on

* the standard library's ``ProcessPoolExecutor`` (``local_executor(n)``, the default: no extra
  dependency) or ``ThreadPoolExecutor`` (``local_executor(n, kind="thread")``);
* a Dask cluster: ``distributed.Client(...).get_executor()`` (across machines);
* MPI: ``mpi4py.futures.MPIPoolExecutor()``.

No networking of lamina's own.

A worker of ``local_executor`` exits when its master dies.  A pool worker
otherwise waits on its task pipe forever once the master is SIGKILLed (it and its
siblings hold the pipe's write end too, so the read never hits end-of-file),
keeping its memory (the data it was sent) and the master's descriptors (a
journal's lock) alive.  ``exit_with_master(pid)``, run by every worker at start,
polls every ``interval`` seconds and calls ``os._exit`` as soon as its parent
changes (the master died and the worker was re-parented) or the master's PID
no longer names a live process (pools whose workers are started by a fork
server).  Use it as the initializer of a pool made by hand:
``ProcessPoolExecutor(n, initializer=parallel.exit_with_master, initargs=(os.getpid(),))``.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed

__all__ = ["local_executor", "map_ordered", "check_executor", "limit_blas_threads", "exit_with_master"]

WATCH_INTERVAL = 0.25    # seconds between a worker's looks at its master


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie, dead but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True              # no /proc (not Linux): kill(pid, 0) is all we know
    return stat[stat.rfind(b")") + 2:][:1] not in (b"Z", b"X")


def exit_with_master(master_pid: int, interval: float = WATCH_INTERVAL) -> None:
    """Start a daemon thread in this (worker) process that ends the process, ``os._exit(1)``, once the
    master ``master_pid`` is gone: this process's parent changed, or ``master_pid`` is not alive."""
    parent = os.getppid()
    master_pid = int(master_pid)
    if master_pid == os.getpid():
        return                   # run in the master itself (a pool of threads): nothing to watch

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent or (master_pid != parent and not _alive(master_pid)):
                os._exit(1)

    threading.Thread(target=watch, name="lamina-watch-master", daemon=True).start()


def _init_worker(master_pid: int, threads_per_worker: int | None) -> None:
    """A pool worker's start: die with the master, limit BLAS threads."""
    exit_with_master(master_pid)
    if threads_per_worker is not None:
        limit_blas_threads(threads_per_worker)


def limit_blas_threads(n: int) -> bool:
    """Limit this process's BLAS/OpenMP pools to ``n`` threads (needs ``threadpoolctl``; returns
    whether it could).  A pool worker runs it at start: two workers with two BLAS threads each on
    two cores spend more time fighting over the cores than computing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(int(n))
    return True


def _process_pool(n: int, mp_context: str | None, threads_per_worker: int | str | None) -> ProcessPoolExecutor:
    """``n`` worker processes, each limited to ``threads_per_worker`` BLAS threads ("auto": CPUs // n)."""
    ctx = multiprocessing.get_context(mp_context) if mp_context is not None else None
    if threads_per_worker == "auto":
        threads_per_worker = max(1, (os.cpu_count() or 1) // n)
    if threads_per_worker is not None and (isinstance(threads_per_worker, bool) or
                                           not isinstance(threads_per_worker, int) or threads_per_worker < 1):
        raise ValueError(f"local_executor: threads_per_worker must be an int >= 1, 'auto' or None, "
                         f"got {threads_per_worker!r}")
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                               initargs=(os.getpid(), threads_per_worker))


def local_executor(n_workers: int | None = None, kind: str = "process", mp_context: str | None = None,
                   threads_per_worker: int | str | None = "auto") -> Executor:
    """A pool on this machine: ``kind="process"`` (default; ``mp_context`` 'fork', 'spawn' or
    'forkserver', default the platform's) or ``"thread"``; ``n_workers`` defaults to the CPU count.

    ``threads_per_worker`` (processes only): BLAS threads in each worker, ``"auto"`` = CPUs //
    workers (at least 1), ``None`` leaves BLAS's default; applied with ``threadpoolctl`` when it
    is installed.  The workers exit when this process dies (``exit_with_master``)."""
    n = (os.cpu_count() or 1) if n_workers is None else n_workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"local_executor: n_workers must be an int >= 1, got {n_workers!r}")
    if kind == "process":
        return _process_pool(n, mp_context, threads_per_worker)
    if kind == "thread":
        if mp_context is not None:
            raise ValueError("local_executor: mp_context only applies to kind='process'")
        return ThreadPoolExecutor(max_workers=n, thread_name_prefix="lamina-parallel")
    raise ValueError(f"local_executor: kind must be 'process' or 'thread', got {kind!r}")


def check_executor(executor, where: str) -> None:
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"{where}: executor must be a concurrent.futures.Executor (something with submit()), "
                        f"got {type(executor).__name__}")


def map_ordered(fn: Callable, args: Sequence[tuple], executor=None, where: str = "map_ordered",
                item: str = "task") -> list:
    """``[fn(*a) for a in args]``, computed on ``executor`` (``submit`` + ``as_completed``; ``None``
    runs them here, one after the other).  Results come back in the order of ``args`` whatever
    order the workers finish in, so a reduction over them is deterministic.  A task that raises
    is re-raised as a RuntimeError naming its index."""
    check_executor(executor, where)
    args = list(args)
    if executor is None:
        return [fn(*a) for a in args]
    futures = {executor.submit(fn, *a): i for i, a in enumerate(args)}
    results: list = [None] * len(args)
    try:
        for fut in as_completed(list(futures)):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as e:
                raise RuntimeError(f"{where}: {item} {i} of {len(args)} failed on {type(executor).__name__}: "
                                   f"{type(e).__name__}: {e}") from e
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return results
