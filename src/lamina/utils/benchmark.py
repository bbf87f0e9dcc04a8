"""``Timer`` and ``Measurement``, as ``torch.utils.benchmark``, over the standard library's ``timeit``.

``Timer(stmt, setup, globals=…).timeit(number)`` runs ``stmt`` ``number`` times after ``setup`` once
and reports the time of one run (total / number). ``blocked_autorange(min_run_time)`` first finds a
block size n (n runs take at least ``min_run_time / 10``, n doubling from 1), then times blocks of n
runs until ``min_run_time`` has passed; each block gives one sample tᵢ = (block time) / n, and the
Measurement summarises the samples: mean, median, interquartile range.
"""
from __future__ import annotations

import statistics
import timeit as _timeit
from typing import Any

__all__ = ["Measurement", "Timer"]


class Measurement:
    """The per-run times of a statement: ``times`` (seconds, one per block), ``mean``, ``median``, ``iqr``."""

    def __init__(self, number_per_run: int, raw_times: list[float], task_spec: dict[str, Any]):
        if not raw_times:
            raise ValueError("Measurement: needs at least one timed block")
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)               # seconds per block of number_per_run runs
        self.times = [t / number_per_run for t in raw_times]
        self.task_spec = task_spec
        self.stmt = task_spec["stmt"]
        self.setup = task_spec["setup"]
        self.label = task_spec["label"]
        self.sub_label = task_spec["sub_label"]
        self.description = task_spec["description"]
        self.num_threads = task_spec["num_threads"]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def iqr(self) -> float:
        """The interquartile range q₃ − q₁ of the samples (0 for fewer than two)."""
        if len(self.times) < 2:
            return 0.0
        q = statistics.quantiles(self.times, n=4, method="inclusive")
        return q[2] - q[0]

    def __len__(self) -> int:
        return len(self.times)

    def __repr__(self) -> str:
        head = " ".join(s for s in (self.label, self.sub_label, self.description) if s)
        unit, scale = _unit(self.median)
        return (f"<lamina.utils.benchmark.Measurement object at {id(self):#x}>\n"
                + (f"{head}\n" if head else "") + f"{self.stmt}\n"
                f"  Median: {self.median * scale:.2f} {unit}\n"
                f"  IQR:    {self.iqr * scale:.2f} {unit} ({len(self.times)} measurements, "
                f"{self.number_per_run} runs per measurement, {self.num_threads} thread"
                f"{'s' if self.num_threads != 1 else ''})")


def _unit(seconds: float) -> tuple[str, float]:
    for unit, scale in (("s", 1.0), ("ms", 1e3), ("us", 1e6)):
        if seconds >= 1.0 / scale:
            return unit, scale
    return "ns", 1e9


class Timer:
    """``Timer(stmt="pass", setup="pass", globals=None, label=None, sub_label=None, description=None,
    num_threads=1)``: times ``stmt`` (a string of code, or a callable) with the standard library's
    ``timeit`` and its default clock (``time.perf_counter``)."""

    def __init__(self, stmt: Any = "pass", setup: Any = "pass", globals: dict | None = None,
                 label: str | None = None, sub_label: str | None = None, description: str | None = None,
                 num_threads: int = 1, timer: Any = None):
        if num_threads < 1:
            raise ValueError(f"Timer: num_threads must be at least 1, got {num_threads}")
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, globals=dict(globals or {}),
                                    **({"timer": timer} if timer is not None else {}))
        self._spec = {"stmt": stmt if isinstance(stmt, str) else getattr(stmt, "__name__", repr(stmt)),
                      "setup": setup if isinstance(setup, str) else repr(setup), "label": label,
                      "sub_label": sub_label, "description": description, "num_threads": num_threads}

    def timeit(self, number: int = 1000000) -> Measurement:
        """One block of ``number`` runs: the Measurement's one sample is its time / number."""
        if number < 1:
            raise ValueError(f"Timer.timeit: number must be at least 1, got {number}")
        self._timer.timeit(number=1)  # warm-up (first-call costs: imports, caches)
        return Measurement(number, [self._timer.timeit(number=number)], self._spec)

    def repeat(self, repeat: int = 5, number: int = 1) -> list[float]:
        """``timeit.Timer.repeat``: the total times of ``repeat`` blocks of ``number`` runs."""
        return self._timer.repeat(repeat=repeat, number=number)

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2) -> Measurement:
        """Blocks of n runs (n: the first power of two whose block takes ≥ min_run_time / 10) until
        ``min_run_time`` seconds have been timed; one sample per block."""
        if min_run_time <= 0:
            raise ValueError(f"Timer.blocked_autorange: min_run_time must be positive, got {min_run_time}")
        n = 1
        while True:
            t = self._timer.timeit(number=n)
            if t >= min_run_time / 10 or n >= 1 << 30:
                break
            n *= 2
        times, total = [t], t
        while total < min_run_time:
            t = self._timer.timeit(number=n)
            if callback is not None:
                callback(n, t)
            times.append(t)
            total += t
        return Measurement(n, times, self._spec)

    def adaptive_autorange(self, threshold: float = 0.1, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback=None) -> Measurement:
        """Blocked timing, continued until the samples' IQR / median ≤ ``threshold`` or ``max_run_time``."""
        m = self.blocked_autorange(callback, min_run_time)
        times, spent = list(m.raw_times), sum(m.raw_times)
        while spent < max_run_time and Measurement(m.number_per_run, times, self._spec).iqr > threshold * \
                Measurement(m.number_per_run, times, self._spec).median:
            t = self._timer.timeit(number=m.number_per_run)
            times.append(t)
            spent += t
        return Measurement(m.number_per_run, times, self._spec)
