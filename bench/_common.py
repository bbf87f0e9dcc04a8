"""Shared bench helpers: interleaved rounds, medians, machine load, BLAS info."""
from __future__ import annotations

import os
import statistics
import time


def machine_info() -> str:
    load = os.getloadavg()
    info = f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores"
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')}, {d.get('num_threads')} threads)"
                for d in threadpool_info() if d.get("user_api") == "blas"]
        info += "; BLAS: " + ", ".join(blas)
    except ImportError:
        pass
    if os.environ.get("OPENBLAS_CORETYPE"):
        info += f"; OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}"
    return info


def timeit(fn, number: int, clock=time.perf_counter) -> float:
    """Seconds per call of fn, over `number` calls (``clock=time.thread_time``: this thread's CPU time, which
    preemption on a loaded machine does not inflate; right for single-threaded work)."""
    t0 = clock()
    for _ in range(number):
        fn()
    return (clock() - t0) / number


def interleaved(cases: dict, rounds: int, number: int, clock=time.perf_counter) -> dict:
    """Time each case once per round, alternating, and return the per-round times per case."""
    times = {k: [] for k in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            times[name].append(timeit(fn, number, clock))
    return times


def median(xs):
    return statistics.median(xs)


def ratio_median(times: dict, a: str, b: str) -> float:
    """Median over rounds of time[a]/time[b]."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))
