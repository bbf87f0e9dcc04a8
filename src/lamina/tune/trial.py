"""The trial: one evaluation of the objective, define-by-run (Optuna style).

The objective receives a ``Trial`` and asks it for values::

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        if trial.suggest_categorical("opt", ["sgd", "adam"]) == "sgd":
            momentum = trial.suggest_float("momentum", 0.0, 0.99)   # conditional
        ...
        return validation_loss

How a value is chosen (master and workers): when the master *asks* the
strategy for a trial, the strategy fixes values for the parameters it already
knows (``trial._fixed``).  Any other parameter (the very first trial, or a
branch never seen before) is drawn inside the worker from a generator seeded
by ``(seed, trial number, parameter name)``, so a trial's values never depend
on which worker ran it and no worker ever talks back to the master.  The
parameters and their distributions travel back with the result, which is how
the strategy learns the search space lazily.

The same class is the record of a finished trial (``state``, ``value``,
``params``, ``intermediate_values``, ``user_attrs``, times).
"""
from __future__ import annotations

import enum
import json
import math
import warnings
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    SearchSpaceError,
    describe,
)

__all__ = ["Trial", "TrialState", "TrialPruned", "FAILED", "PRUNED"]


class TrialState(str, enum.Enum):
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


FAILED = TrialState.FAIL
PRUNED = TrialState.PRUNED


class TrialPruned(Exception):
    """Raise from the objective when ``trial.should_prune()`` is true."""


def param_rng(seed: int, number: int, name: str) -> np.random.Generator:
    """Generator of the lazily sampled value of ``name`` in trial ``number``."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(number), zlib.crc32(name.encode())])


class Trial:
    """A trial, live inside the objective and, once finished, its record."""

    def __init__(self, number: int, *, fixed: dict | None = None, space: dict | None = None,
                 seed: int = 0, fallback: str = "random", draw: int | None = None):
        self.number = int(number)
        self.state = TrialState.WAITING
        self.value: float | None = None
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, Distribution] = {}
        self.intermediate_values: dict[int, float] = {}
        self.user_attrs: dict[str, Any] = {}
        self.system_attrs: dict[str, Any] = {}
        self.datetime_start: float | None = None
        self.datetime_complete: float | None = None
        self.error: str | None = None
        self._fixed = dict(fixed or {})       # name -> value chosen by the strategy / enqueued
        self._space = dict(space or {})       # name -> distribution known to the study
        self._seed = int(seed)
        self._draw = self.number if draw is None else int(draw)   # seeds lazily sampled values
        self._fallback = fallback             # "random" or "first" (grid probe)
        self._pruner: Any = None              # a BasePruner, set by the study when it has one
        self._history: list = []              # finished trials' (state, intermediate) for pruning
        self._direction = "minimize"

    # ----------------------------------------------------------------- suggest
    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False,
                      step: float | None = None) -> float:
        """A float in ``[low, high]`` (log-uniform with ``log=True``; multiples of ``step``)."""
        return self._suggest(name, FloatDistribution.checked(name, low, high, log, step))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        """An integer in ``[low, high]`` (``low + k * step``; log-uniform with ``log=True``)."""
        return self._suggest(name, IntDistribution.checked(name, low, high, step, log))

    def suggest_categorical(self, name: str, choices: Sequence) -> Any:
        """One of ``choices`` (JSON scalars: None, bool, int, float, str)."""
        return self._suggest(name, CategoricalDistribution.checked(name, choices))

    def _suggest(self, name: str, dist: Distribution) -> Any:
        if not isinstance(name, str) or not name:
            raise SearchSpaceError(f"suggest: parameter name must be a non-empty str, got {name!r}")
        if name in self.distributions:
            if self.distributions[name] != dist:
                raise SearchSpaceError(
                    f"parameter '{name}' suggested twice in trial {self.number} with different ranges: "
                    f"first {describe(self.distributions[name])}, now {describe(dist)}")
            return self.params[name]
        self._check_space(name, dist)
        if name in self._fixed:
            value = self._fixed_value(name, dist)
        elif self._fallback == "first":
            value = dist.first()
        else:
            value = dist.sample(param_rng(self._seed, self._draw, name))
        self.params[name] = value
        self.distributions[name] = dist
        return value

    def _check_space(self, name: str, dist: Distribution) -> None:
        """One name keeps one range across the trials of a study."""
        known = self._space.get(name)
        if known is not None and known != dist:
            raise SearchSpaceError(
                f"parameter '{name}' was defined as {describe(known)} in an earlier trial and is now "
                f"suggested as {describe(dist)}; one name must keep one range (use another name "
                "for a conditional range)")

    def _fixed_value(self, name: str, dist: Distribution) -> Any:
        """The value fixed for ``name`` (enqueued, grid point, retry), checked and of the distribution's type."""
        value = self._fixed[name]
        if not dist.contains(value):
            raise SearchSpaceError(
                f"parameter '{name}': fixed value {value!r} of trial {self.number} is outside {describe(dist)}")
        if isinstance(dist, FloatDistribution):
            return float(value)
        if isinstance(dist, IntDistribution):
            return int(value)
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[dist.index(value)]
        return value

    # ----------------------------------------------------------------- pruning
    def report(self, value: float, step: int) -> None:
        """Record an intermediate ``value`` (e.g. validation loss after epoch ``step``)."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"trial.report: step must be an int >= 0, got {step!r}")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"trial.report: value must be a float, got {value!r}") from None
        if int(step) in self.intermediate_values:
            warnings.warn(f"trial.report: step {step} of trial {self.number} already reported; "
                          "the new value is ignored", stacklevel=2)
            return
        self.intermediate_values[int(step)] = value

    def should_prune(self) -> bool:
        """Ask the study's pruner whether to stop this trial now.

        The pruner compares this trial against the trials that had finished when
        it was handed out (the worker does not talk to the master while running).
        """
        if self._pruner is None or not self.intermediate_values:
            return False
        return bool(self._pruner.prune(self, self._history, self._direction))

    # ----------------------------------------------------------------- attrs
    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serialisable value to the trial (saved in the journal)."""
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise TypeError(f"trial.set_user_attr('{key}'): value {value!r} is not JSON-serialisable") from None
        self.user_attrs[key] = value

    # ----------------------------------------------------------------- record
    @property
    def duration(self) -> float | None:
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    @property
    def last_step(self) -> int | None:
        return max(self.intermediate_values) if self.intermediate_values else None

    def loss(self, direction: str) -> float | None:
        """Value turned into a quantity to minimise; pruned trials use their last report."""
        sign = 1.0 if direction == "minimize" else -1.0
        if self.state == TrialState.COMPLETE and self.value is not None and math.isfinite(self.value):
            return sign * self.value
        if self.state == TrialState.PRUNED and self.intermediate_values:
            v = self.intermediate_values[max(self.intermediate_values)]
            return sign * v if math.isfinite(v) else None
        return None

    def _result(self) -> dict:
        """What a worker sends back to the master."""
        return {"number": self.number, "state": self.state, "value": self.value,
                "params": self.params, "distributions": self.distributions,
                "intermediate_values": self.intermediate_values, "user_attrs": self.user_attrs,
                "datetime_start": self.datetime_start, "datetime_complete": self.datetime_complete,
                "error": self.error}

    def _merge(self, result: dict) -> None:
        for k, v in result.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        return (f"Trial(number={self.number}, state={self.state.value}, value={self.value}, "
                f"params={self.params})")
