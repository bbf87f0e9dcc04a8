"""Random search: every value drawn independently and uniformly.

Floats uniform (log-uniform with ``log=True``), integers uniform over their
steps, categoricals uniform over the choices.  Values are drawn by the trial
itself from a generator seeded by ``(seed, trial number, parameter name)``, so
the same seed gives the same trials in any order, on any worker.  Random
search beats a grid when only a few parameters matter (each trial tries a new
value of every parameter).
"""
from __future__ import annotations

from .base import Strategy

__all__ = ["Random"]


class Random(Strategy):
    """``Random(seed=None)``: independent uniform sampling, reproducible per seed."""

    def _propose(self, number, rng):
        return {}
