"""Search-space distributions: float, int and categorical parameters.

Every distribution maps its values to and from the unit interval, which is the
common coordinate system of all strategies (the grid turns continuous parameters
into discrete sets of values in it):

* float   ``u = (x - lo) / (hi - lo)``, or ``(log x - log lo) / (log hi - log lo)``
  with ``log=True``; with a ``step`` the interval is padded by half a step on
  each side so that every grid value owns an equal share of ``[0, 1]``.
* int     like a stepped float (step 1 by default), padded by half a step.
* categorical  the index ``i`` of a choice owns ``[i/k, (i+1)/k)``; the
  Gaussian-process strategy encodes it one-hot instead (see ``n_dims``).

Sampling ``u ~ U(0, 1)`` and decoding therefore gives uniform (log-uniform)
floats, uniform integers and uniform choices.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Distribution", "FloatDistribution", "IntDistribution", "CategoricalDistribution",
    "SearchSpaceError", "distribution_from_dict",
]

_SCALARS = (type(None), bool, int, float, str)


class SearchSpaceError(ValueError):
    """A search space is invalid (bad range, empty choices, conflicting definitions).

    The study re-raises it whatever ``catch`` says: it is a bug in the
    objective, not a failed trial.
    """


class Distribution:
    """Base class. Subclasses are frozen dataclasses (hashable, comparable)."""

    n_dims = 1  # width of the encoding used by the Gaussian process

    def to_unit(self, value: Any) -> float:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} does not implement to_unit")

    def from_unit(self, u: float) -> Any:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} does not implement from_unit")

    def contains(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} does not implement contains")

    def grid(self, n_points: int) -> list:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} does not implement grid")

    def first(self) -> Any:
        """The first grid point (used by the grid strategy's probe trial)."""
        return self.grid(1)[0]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.from_unit(float(rng.random()))

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"type": type(self).__name__}
        d.update(self.__dict__)
        if "choices" in d:
            d["choices"] = list(d["choices"])
        return d


def _check_number(op: str, name: str, what: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise SearchSpaceError(f"{op}('{name}'): {what} must be a number, got {v!r}")
    if not math.isfinite(float(v)):
        raise SearchSpaceError(f"{op}('{name}'): {what} must be finite, got {v!r}")


def _padded(lo: float, hi: float, step: float | None, log: bool) -> tuple[float, float]:
    """Interval in (log-)space that [0, 1] maps onto, padded by half a step."""
    if log:
        a, b = lo, hi
        if step is not None:
            a, b = lo - 0.5 * step, hi + 0.5 * step
        return math.log(a), math.log(b)
    if step is not None:
        return lo - 0.5 * step, hi + 0.5 * step
    return lo, hi


@dataclass(frozen=True)
class FloatDistribution(Distribution):
    """``suggest_float(name, low, high, log=False, step=None)``."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    @classmethod
    def checked(cls, name: str, low, high, log=False, step=None) -> FloatDistribution:
        op = "suggest_float"
        _check_number(op, name, "low", low)
        _check_number(op, name, "high", high)
        low, high = float(low), float(high)
        if low > high:
            raise SearchSpaceError(f"{op}('{name}'): low={low} > high={high}; expected low <= high")
        if log and low <= 0:
            raise SearchSpaceError(f"{op}('{name}'): log=True needs low > 0, got low={low}")
        if step is not None:
            _check_number(op, name, "step", step)
            step = float(step)
            if log:
                raise SearchSpaceError(f"{op}('{name}'): step={step} and log=True cannot be combined")
            if step <= 0:
                raise SearchSpaceError(f"{op}('{name}'): step must be > 0, got {step}")
            n = math.floor((high - low) / step + 1e-9)
            high = low + n * step  # the last value reachable from low in steps
        return cls(low, high, bool(log), step)

    def _n_steps(self) -> int:
        return int(round((self.high - self.low) / self.step)) if self.step else 0

    def to_unit(self, value) -> float:
        a, b = _padded(self.low, self.high, self.step, self.log)
        if b == a:
            return 0.5
        x = math.log(value) if self.log else float(value)
        return min(1.0, max(0.0, (x - a) / (b - a)))

    def from_unit(self, u: float) -> float:
        a, b = _padded(self.low, self.high, self.step, self.log)
        x = a + min(1.0, max(0.0, float(u))) * (b - a)
        if self.log:
            x = math.exp(x)
        if self.step:
            k = min(max(round((x - self.low) / self.step), 0), self._n_steps())
            x = self.low + k * self.step
        return float(min(max(x, self.low), self.high))

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        v = float(value)
        if not (self.low <= v <= self.high):
            return False
        if self.step:
            k = (v - self.low) / self.step
            return abs(k - round(k)) < 1e-8
        return True

    def grid(self, n_points: int) -> list:
        if self.low == self.high:
            return [self.low]
        if self.step:
            values = [self.low + k * self.step for k in range(self._n_steps() + 1)]
            if len(values) <= n_points:
                return values
            idx = np.unique(np.round(np.linspace(0, len(values) - 1, n_points)).astype(int))
            return [values[i] for i in idx]
        if n_points == 1:
            return [self.low]
        pts = np.geomspace(self.low, self.high, n_points) if self.log else np.linspace(self.low, self.high, n_points)
        return [float(p) for p in pts]


@dataclass(frozen=True)
class IntDistribution(Distribution):
    """``suggest_int(name, low, high, step=1, log=False)``."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    @classmethod
    def checked(cls, name: str, low, high, step=1, log=False) -> IntDistribution:
        op = "suggest_int"
        for what, v in (("low", low), ("high", high), ("step", step)):
            _check_number(op, name, what, v)
            if float(v) != int(v):
                raise SearchSpaceError(f"{op}('{name}'): {what} must be an integer, got {v!r}")
        low, high, step = int(low), int(high), int(step)
        if low > high:
            raise SearchSpaceError(f"{op}('{name}'): low={low} > high={high}; expected low <= high")
        if step < 1:
            raise SearchSpaceError(f"{op}('{name}'): step must be >= 1, got {step}")
        if log and low <= 0:
            raise SearchSpaceError(f"{op}('{name}'): log=True needs low >= 1, got low={low}")
        if log and step != 1:
            raise SearchSpaceError(f"{op}('{name}'): log=True needs step=1, got step={step}")
        high = low + ((high - low) // step) * step
        return cls(low, high, bool(log), step)

    def to_unit(self, value) -> float:
        a, b = _padded(self.low, self.high, self.step, self.log)
        x = math.log(value) if self.log else float(value)
        return min(1.0, max(0.0, (x - a) / (b - a)))

    def from_unit(self, u: float) -> int:
        a, b = _padded(self.low, self.high, self.step, self.log)
        x = a + min(1.0, max(0.0, float(u))) * (b - a)
        if self.log:
            x = math.exp(x)
        k = round((x - self.low) / self.step)
        k = min(max(k, 0), (self.high - self.low) // self.step)
        return int(self.low + k * self.step)

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        if float(value) != int(value):
            return False
        v = int(value)
        return self.low <= v <= self.high and (v - self.low) % self.step == 0

    def grid(self, n_points: int) -> list:
        values = np.arange(self.low, self.high + 1, self.step)
        if len(values) <= n_points:
            return [int(v) for v in values]
        if self.log:
            pts = np.geomspace(self.low, self.high, n_points)
            snapped = {self.from_unit(self.to_unit(float(p))) for p in pts}
            return sorted(snapped)
        idx = np.unique(np.round(np.linspace(0, len(values) - 1, n_points)).astype(int))
        return [int(values[i]) for i in idx]


@dataclass(frozen=True)
class CategoricalDistribution(Distribution):
    """``suggest_categorical(name, choices)``; choices are JSON scalars."""

    choices: tuple

    @classmethod
    def checked(cls, name: str, choices: Sequence) -> CategoricalDistribution:
        op = "suggest_categorical"
        if isinstance(choices, (str, bytes)) or not hasattr(choices, "__len__"):
            raise SearchSpaceError(f"{op}('{name}'): choices must be a list or tuple, got {choices!r}")
        choices = tuple(choices)
        if len(choices) == 0:
            raise SearchSpaceError(f"{op}('{name}'): choices is empty; expected at least one choice")
        for c in choices:
            if not isinstance(c, _SCALARS):
                raise SearchSpaceError(
                    f"{op}('{name}'): choice {c!r} of type {type(c).__name__} is not one of "
                    "None, bool, int, float, str (choices are stored in a JSON journal)")
        return cls(choices)

    @property
    def n_dims(self) -> int:  # type: ignore[override]
        return len(self.choices)

    def index(self, value) -> int:
        for i, c in enumerate(self.choices):
            if c == value and type(c) is type(value):
                return i
        for i, c in enumerate(self.choices):
            if c == value:
                return i
        raise ValueError(f"{value!r} is not one of the choices {list(self.choices)}")

    def to_unit(self, value) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float):
        k = len(self.choices)
        return self.choices[min(int(float(u) * k), k - 1)]

    def contains(self, value) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def grid(self, n_points: int) -> list:
        return list(self.choices)


def distribution_from_dict(d: dict) -> Distribution:
    """Inverse of ``Distribution.to_dict`` (used by the journal)."""
    d = dict(d)
    kind = d.pop("type")
    if kind == "FloatDistribution":
        return FloatDistribution(float(d["low"]), float(d["high"]), bool(d["log"]),
                                 None if d["step"] is None else float(d["step"]))
    if kind == "IntDistribution":
        return IntDistribution(int(d["low"]), int(d["high"]), bool(d["log"]), int(d["step"]))
    if kind == "CategoricalDistribution":
        return CategoricalDistribution(tuple(d["choices"]))
    raise ValueError(f"distribution_from_dict: unknown distribution type {kind!r}")


def describe(dist: Distribution) -> str:
    """Short human-readable form used in error messages."""
    if isinstance(dist, CategoricalDistribution):
        return f"categorical{list(dist.choices)}"
    if not isinstance(dist, (FloatDistribution, IntDistribution)):
        return repr(dist)
    kind = "float" if isinstance(dist, FloatDistribution) else "int"
    extra = ", log=True" if dist.log else ""
    if dist.step not in (None, 1) or (kind == "float" and dist.step):
        extra += f", step={dist.step}"
    return f"{kind}[{dist.low}, {dist.high}{extra}]"
