"""Grid search: exhaustive search through a discretised space.

"Continuous parameters will need to be turned into discrete sets of values":
each parameter gets ``n_points`` values (``Distribution.grid``):

* float: ``n_points`` evenly spaced values from low to high (geometric with
  ``log=True``); with a ``step``, all multiples of the step if there are at
  most ``n_points``, else ``n_points`` of them evenly spread;
* int: all integers (of the step) if at most ``n_points``, else ``n_points``
  evenly spread ones (geometric with ``log=True``);
* categorical: all choices.

The grid is the Cartesian product, enumerated in order (first parameter
slowest).  The space is learnt define-by-run: unless ``search_space`` is
given, the first trial is a *probe* that takes the first grid value of every
parameter it meets; its distributions define the grid.  A parameter met later
(a conditional branch) extends the grid; a combination is skipped when an
earlier trial already used the same values for every parameter it actually
suggested, so a conditional parameter is only enumerated inside its branch.
``ask`` returns nothing once every combination is covered.  With a given
``search_space``, a parameter outside it takes its first grid value.
"""
from __future__ import annotations

import itertools
import math

from ..distributions import Distribution
from ..trial import TrialState
from .base import Strategy

__all__ = ["Grid"]


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_n_points(n_points) -> None:
    """n_points: an int >= 1, or a dict name -> int >= 1 (a clear error for anything else)."""
    items = n_points.items() if isinstance(n_points, dict) else [(None, n_points)]
    for name, n in items:
        where = "n_points" if name is None else f"n_points['{name}']"
        if not _is_count(n):
            hint = (" (to give the values of each parameter, pass Grid(search_space={name: [values]}))"
                    if isinstance(n_points, dict) else "")
            raise TypeError(f"Grid: {where} must be an int number of points per parameter, got "
                            f"{type(n).__name__} ({n!r}){hint}")
        if n < 1:
            raise ValueError(f"Grid: {where} must be >= 1, got {n}")


def _arguments(n_points, search_space) -> tuple:
    """(n_points, search_space) checked; a dict of value lists as first argument is the search space."""
    if isinstance(n_points, dict) and n_points and not any(_is_count(v) for v in n_points.values()):
        if search_space is not None:
            raise TypeError("Grid: got a search space both as the first argument and as search_space=")
        search_space = n_points  # Grid({...}): the dict of values is the search space
        n_points = 5
    _check_n_points(n_points)
    if search_space is not None and not isinstance(search_space, dict):
        raise TypeError(f"Grid: search_space must be a dict name -> list of values or Distribution, "
                        f"got {type(search_space).__name__}")
    return n_points, search_space


class Grid(Strategy):
    """``Grid(n_points=5, search_space=None, seed=None)``.

    ``n_points``: points per continuous/integer parameter (an int, or a dict
    name -> int).  ``search_space``: optional dict name -> list of values or
    ``Distribution``, fixing the grid up front (no probe trial).  A dict of
    value lists given first, ``Grid({"x": [1, 2, 3]})``, is the search space,
    as ``Grid(search_space={"x": [1, 2, 3]})``.
    """

    def __init__(self, n_points: int | dict = 5, search_space: dict | None = None, seed: int | None = None):
        super().__init__(seed)
        n_points, search_space = _arguments(n_points, search_space)
        self.n_points = n_points
        self._user_space = None if search_space is None else self._user_values(search_space)
        self._names: list[str] = []
        self._values: list[list] = []
        self._cursor = 0

    def _user_values(self, search_space: dict) -> dict[str, list]:
        """The values of each parameter of a given search space (a Distribution's grid of n_points)."""
        space = {}
        for name, v in search_space.items():
            if not isinstance(v, (Distribution, list, tuple, range)):
                raise TypeError(f"Grid: search_space['{name}'] must be a list of values or a Distribution, "
                                f"got {type(v).__name__} ({v!r})")
            values = v.grid(self._points(name)) if isinstance(v, Distribution) else list(v)
            if not values:
                raise ValueError(f"Grid: search_space['{name}'] has no values")
            space[name] = values
        return space

    def _points(self, name: str) -> int:
        if isinstance(self.n_points, dict):
            return int(self.n_points.get(name, 5))
        return int(self.n_points)

    def _fallback(self) -> str:
        return "first"

    def _dims(self) -> dict[str, list]:
        if self._user_space is not None:
            return self._user_space
        return {name: d.grid(self._points(name)) for name, d in self._space.items()}

    @property
    def grid_size(self) -> int:
        """Number of combinations of the grid known so far."""
        return math.prod(len(v) for v in self._dims().values()) if self._dims() else 0

    def _covered(self, combo: tuple, exact: set) -> bool:
        if combo in exact:
            return True
        values = dict(zip(self._names, combo))
        if any(self._told_covers(t, combo, values) for t in self._told):
            return True
        return any(self._effective(t) == combo for t in self._pending.values())

    def _told_covers(self, t, combo: tuple, values: dict) -> bool:
        """Whether a finished trial covers ``combo``: one that died before reporting its values covers
        what it was given; one that did not suggest every parameter covers all values of the others."""
        if not t.params:
            return self._effective(t) == combo
        used = [n for n in t.params if n in values]
        return len(used) < len(values) and all(t.params[n] == values[n] for n in used)

    def _effective(self, t) -> tuple:
        """The combination a trial was handed (fixed values, first grid value elsewhere)."""
        return tuple(t._fixed.get(n, vals[0]) for n, vals in zip(self._names, self._values))

    def _propose(self, number, rng):
        dims = self._dims()
        if not dims:
            if any(t.state == TrialState.COMPLETE for t in self._told):
                return None          # the objective suggests nothing: one trial covers it
            return None if self._pending else {}   # the probe (again, if the last one failed early)
        names = list(dims)
        if names != self._names:
            self._names, self._values, self._cursor = names, [dims[n] for n in names], 0
        return self._next_uncovered()

    def _next_uncovered(self):
        """The next combination after the cursor that no trial covers (None when the grid is done)."""
        exact = {tuple(t.params[n] for n in self._names) for t in self._told
                 if all(n in t.params for n in self._names)}
        shapes = [range(len(v)) for v in self._values]
        combos = itertools.islice(itertools.product(*shapes), self._cursor, None)
        for idx in combos:
            self._cursor += 1
            combo = tuple(v[i] for v, i in zip(self._values, idx))
            if not self._covered(combo, exact):
                return dict(zip(self._names, combo))
        self._cursor = math.prod(len(v) for v in self._values)
        return None
