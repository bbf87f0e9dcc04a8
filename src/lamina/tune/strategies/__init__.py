"""Search strategies sharing the ``ask(n)`` / ``tell(trial, value)`` protocol (see ``base``)."""
from .base import Strategy
from .bayesian import Bayesian
from .evolutionary import Evolutionary
from .grid import Grid
from .random import Random

__all__ = ["Strategy", "Grid", "Random", "Bayesian", "Evolutionary"]
