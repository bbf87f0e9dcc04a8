"""The strategy protocol shared by grid, random, Bayesian and evolutionary search.

A strategy proposes trials and learns from their results::

    trials = strategy.ask(n)          # up to n new Trial objects (numbers 0, 1, 2, ...)
    ...run objective(trial) for each, anywhere...
    strategy.tell(trial, value)       # value: a float, tune.FAILED or tune.PRUNED

``ask(n)`` returns at most ``n`` trials.  Fewer (possibly none) means the
strategy cannot propose more until outstanding trials are told (the grid's
probe); an empty list while no trial is outstanding means the search is
exhausted.  Trials asked but not yet told are *pending*; a strategy may use
them (the Bayesian constant liar) so that ``n`` parallel asks differ.

Distributions are learnt lazily from the told trials (``trial.distributions``);
a strategy fixes values only for parameters it already knows (``trial._fixed``),
all others are sampled by the trial itself (see ``trial.py``).  Every random
choice made for trial ``k`` uses a generator seeded by ``(seed, k)``, so the
same seed and the same sequence of tells give the same trials, also after a
study is resumed from its journal.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..distributions import CategoricalDistribution, Distribution
from ..trial import Trial, TrialState

__all__ = ["Strategy"]


def _parse_value(trial: Trial, value: Any) -> tuple[TrialState, float | None]:
    if isinstance(value, TrialState):
        if value not in (TrialState.FAIL, TrialState.PRUNED, TrialState.COMPLETE):
            raise ValueError(f"tell(trial {trial.number}): state must be FAILED or PRUNED, got {value}")
        if value == TrialState.COMPLETE:
            if trial.value is None:
                raise ValueError(f"tell(trial {trial.number}): COMPLETE needs a value")
            return value, trial.value
        return value, None
    if isinstance(value, str) and value.lower() in ("failed", "fail", "pruned"):
        return (TrialState.PRUNED if value.lower() == "pruned" else TrialState.FAIL), None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"tell(trial {trial.number}): value must be a float, tune.FAILED or "
                        f"tune.PRUNED, got {value!r}") from None
    if math.isnan(v):
        return TrialState.FAIL, None
    return TrialState.COMPLETE, v


class Strategy:
    """Base class: numbering, pending trials, lazily learnt search space."""

    def __init__(self, seed: int | None = None, direction: str = "minimize"):
        self._seed_given = seed is not None
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])   # fresh OS entropy, 32 bits
        self.seed = int(seed)
        self.direction = direction
        self._next_number = 0
        self._pending: dict[int, Trial] = {}
        self._told: list[Trial] = []
        self._space: dict[str, Distribution] = {}

    # ---------------------------------------------------------------- protocol
    def ask(self, n: int = 1) -> list[Trial]:
        """Up to ``n`` new trials (see the module docstring)."""
        if n < 0:
            raise ValueError(f"ask(n): n must be >= 0, got {n}")
        out = []
        for _ in range(n):
            number = self._next_number
            fixed = self._propose(number, self._rng(number))
            if fixed is None:
                break
            out.append(self._register(number, fixed))
        return out

    def tell(self, trial: Trial, value: Any) -> None:
        """Report the outcome of ``trial``: a float, ``tune.FAILED`` or ``tune.PRUNED``.

        NaN counts as failed.  Telling a trial this strategy did not ask (a
        resumed or enqueued trial) is allowed.
        """
        state, v = _parse_value(trial, value)
        trial.state, trial.value = state, v
        self._pending.pop(trial.number, None)
        self._next_number = max(self._next_number, trial.number + 1)
        for name, dist in trial.distributions.items():
            self._space.setdefault(name, dist)
        self._told.append(trial)
        self._after_tell(trial)

    # ---------------------------------------------------------------- helpers
    @property
    def sign(self) -> float:
        return 1.0 if self.direction == "minimize" else -1.0

    @property
    def trials(self) -> list[Trial]:
        """Told trials in the order they were told."""
        return list(self._told)

    def _rng(self, number: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(number), 0x5EED])

    def _register(self, number: int, fixed: dict, fallback: str | None = None) -> Trial:
        t = Trial(number, fixed=fixed, space=self._space, seed=self.seed,
                  fallback=fallback or self._fallback())
        t._direction = self.direction
        self._pending[number] = t
        self._next_number = max(self._next_number, number + 1)
        return t

    def _adopt(self, trial: Trial) -> None:
        """Take over a trial asked elsewhere (resumed RUNNING trial) as pending."""
        self._pending[trial.number] = trial
        self._next_number = max(self._next_number, trial.number + 1)

    def _fallback(self) -> str:
        return "random"

    def _propose(self, number: int, rng: np.random.Generator) -> dict | None:
        """Fixed parameter values of trial ``number``; ``None`` = nothing to propose now."""
        return {}

    def _after_tell(self, trial: Trial) -> None:
        pass

    def _relative_space(self, trials: list[Trial]) -> dict[str, Distribution]:
        """Parameters present, with one distribution, in every given trial (first-seen order)."""
        if not trials:
            return {}
        names = [n for n in trials[0].distributions]
        out = {}
        for name in names:
            d = trials[0].distributions[name]
            if all(t.distributions.get(name) == d for t in trials):
                out[name] = d
        return out

    @staticmethod
    def _encode(space: dict[str, Distribution], params: dict) -> np.ndarray:
        """Unit-cube encoding; categoricals one-hot (used by the GP and the evolution)."""
        parts = []
        for name, d in space.items():
            if isinstance(d, CategoricalDistribution):
                v = np.zeros(d.n_dims)
                v[d.index(params[name])] = 1.0
                parts.append(v)
            else:
                parts.append(np.array([d.to_unit(params[name])]))
        return np.concatenate(parts) if parts else np.zeros(0)

    @staticmethod
    def _decode(space: dict[str, Distribution], x: np.ndarray) -> dict:
        out, i = {}, 0
        for name, d in space.items():
            if isinstance(d, CategoricalDistribution):
                out[name] = d.choices[int(np.argmax(x[i:i + d.n_dims]))]
                i += d.n_dims
            else:
                out[name] = d.from_unit(float(x[i]))
                i += 1
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
