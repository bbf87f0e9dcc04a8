"""Pruners: stop unpromising trials early from their intermediate reports.

A pruner answers ``prune(trial, history, direction) -> bool`` where ``trial``
has ``intermediate_values`` ({step: value}) and ``history`` lists the
trials that had finished when the trial was handed out, as
``(state, intermediate_values)`` pairs (workers never talk to the master
while they run, so this snapshot is all a remote trial can see).

* ``MedianPruner``: prune when the trial's best value so far is worse than
  the median of the completed trials' values at the same step.
* ``SuccessiveHalvingPruner`` (asynchronous successive halving, ASHA): rungs
  at resources ``r_k = min_resource * reduction_factor ** (min_early_stopping_rate + k)``
  (a step is a unit of resource, e.g. an epoch).  When a trial reaches rung
  ``k`` it continues only if its value is among the best
  ``max(1, n // reduction_factor)`` of the ``n`` trials (itself included)
  that reached that rung; otherwise it is pruned.
"""
from __future__ import annotations

import math

import numpy as np

from .trial import TrialState

__all__ = ["BasePruner", "NopPruner", "MedianPruner", "SuccessiveHalvingPruner"]


def _value_at_or_after(intermediate: dict, step: int):
    steps = [s for s in intermediate if s >= step]
    return intermediate[min(steps)] if steps else None


class BasePruner:
    def prune(self, trial, history, direction: str) -> bool:  # pragma: no cover - interface
        return False


class NopPruner(BasePruner):
    """Never prunes."""


class MedianPruner(BasePruner):
    """``MedianPruner(n_startup_trials=5, n_warmup_steps=0, interval_steps=1, n_min_trials=1)``.

    No pruning until ``n_startup_trials`` trials completed, before step
    ``n_warmup_steps``, off the ``interval_steps`` grid, or when fewer than
    ``n_min_trials`` completed trials reported the current step.
    """

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1,
                 n_min_trials: int = 1):
        if n_startup_trials < 0 or n_warmup_steps < 0 or interval_steps < 1 or n_min_trials < 1:
            raise ValueError(
                f"MedianPruner: expected n_startup_trials >= 0, n_warmup_steps >= 0, interval_steps >= 1, "
                f"n_min_trials >= 1; got {n_startup_trials}, {n_warmup_steps}, {interval_steps}, {n_min_trials}")
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.interval_steps = interval_steps
        self.n_min_trials = n_min_trials

    def _checks(self, step: int, n_completed: int) -> bool:
        """Whether step ``step`` is one at which trials are compared."""
        if n_completed < self.n_startup_trials or step < self.n_warmup_steps:
            return False
        return (step - self.n_warmup_steps) % self.interval_steps == 0

    def prune(self, trial, history, direction: str) -> bool:
        if not trial.intermediate_values:
            return False
        step = max(trial.intermediate_values)
        completed = [iv for state, iv in history if state == TrialState.COMPLETE]
        if not self._checks(step, len(completed)):
            return False
        others = _finite_at(completed, step)
        if len(others) < max(1, self.n_min_trials):
            return False
        sign = 1.0 if direction == "minimize" else -1.0
        mine = _signed_until(trial.intermediate_values, step, sign)
        if any(math.isnan(v) for v in mine):
            return True
        return min(mine) > float(np.median(sign * np.asarray(others)))


def _signed_until(values: dict, step: int, sign: float) -> list[float]:
    """sign·value of every report up to ``step``."""
    return [sign * v for s, v in values.items() if s <= step]


def _finite_at(values: list[dict], step: int) -> list[float]:
    """The finite values reported at ``step``."""
    return [iv[step] for iv in values if step in iv and math.isfinite(iv[step])]


class SuccessiveHalvingPruner(BasePruner):
    """``SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0)``."""

    def __init__(self, min_resource: int = 1, reduction_factor: int = 3, min_early_stopping_rate: int = 0):
        if min_resource < 1 or reduction_factor < 2 or min_early_stopping_rate < 0:
            raise ValueError(
                f"SuccessiveHalvingPruner: expected min_resource >= 1, reduction_factor >= 2, "
                f"min_early_stopping_rate >= 0; got {min_resource}, {reduction_factor}, {min_early_stopping_rate}")
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_early_stopping_rate = min_early_stopping_rate

    def rung_resource(self, k: int) -> int:
        return self.min_resource * self.reduction_factor ** (self.min_early_stopping_rate + k)

    def _rung_crossed(self, steps: list[int]) -> int | None:
        """Rung index first reached by the last report, else None."""
        last = steps[-1]
        prev = steps[-2] if len(steps) > 1 else -1
        k, crossed = 0, None
        while self.rung_resource(k) <= last:
            if self.rung_resource(k) > prev:
                crossed = k
            k += 1
        return crossed

    def prune(self, trial, history, direction: str) -> bool:
        steps = sorted(trial.intermediate_values)
        if not steps:
            return False
        k = self._rung_crossed(steps)
        if k is None:
            return False
        sign = 1.0 if direction == "minimize" else -1.0
        mine = sign * trial.intermediate_values[steps[-1]]
        if math.isnan(mine):
            return True
        r = self.rung_resource(k)
        rung = [mine]
        for _, iv in history:
            v = _value_at_or_after(iv, r)
            if v is not None and math.isfinite(v):
                rung.append(sign * v)
        n_top = max(1, len(rung) // self.reduction_factor)
        threshold = sorted(rung)[n_top - 1]
        return mine > threshold
