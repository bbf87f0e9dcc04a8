"""Line searches: how far to go along a descent direction d from x (ideally α = argmin_α L(θ + α d)).

Both work on flat backend arrays (NumPy) and can be used on their own::

    res = backtracking(f, x, d, f0=f(x), g0=grad(x))          # Armijo
    res = strong_wolfe(fg, x, d, f0=..., g0=...)              # fg(x) -> (f, grad)
    x_new = x + res.t * d

``backtracking(f, x, d, f0, g0, t=1.0, rho=0.5, c1=1e-4, max_iter=50)``
    Shrinks t ← ρt until the Armijo (sufficient decrease) condition
    f(x + t d) ≤ f0 + c1 t ⟨g0, d⟩ holds.  ``f(x) -> float``.  Returns
    ``LineSearchResult(t, f, g=None, evals, success)``.

``strong_wolfe(fg, x, d, f0, g0, t=1.0, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25)``
    Finds t satisfying the strong Wolfe conditions
    f(x + t d) ≤ f0 + c1 t ⟨g0, d⟩  and  |⟨∇f(x + t d), d⟩| ≤ c2 |⟨g0, d⟩|
    by bracketing then zooming with safeguarded cubic interpolation (Nocedal &
    Wright, algorithms 3.5/3.6; the variant of minFunc that ``torch.optim.LBFGS``
    uses, so LBFGS iterates match PyTorch's).  ``fg(x) -> (float, grad array)``.
    Returns ``LineSearchResult(t, f, g, evals, success)`` with f, g at the chosen point.

Used on the flattened parameters by ``LBFGS``, ``BFGS`` (``line_search_fn=``) and by full-batch
gradient descent ``SGD(line_search='armijo' | 'strong_wolfe')`` (d = -∇L, trial step lr).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from ..backend import xp


class LineSearchResult(NamedTuple):
    t: float              # the step length chosen
    f: float              # objective at x + t d
    g: xp.ndarray | None  # gradient at x + t d (strong_wolfe) or None (backtracking)
    evals: int            # function evaluations used
    success: bool         # whether the conditions were met within the budget


def _directional(d, g0, f0, where):
    d = xp.asarray(d)
    gtd = float(xp.dot(xp.ravel(g0), xp.ravel(d)))
    if not math.isfinite(f0):
        raise ValueError(f"{where}: the objective at x is {f0}; a line search needs a finite starting value")
    return gtd


def backtracking(f: Callable, x, d, f0: float, g0, t: float = 1.0, rho: float = 0.5, c1: float = 1e-4,
                 max_iter: int = 50) -> LineSearchResult:
    """Armijo backtracking: the first t in t0, ρt0, ρ²t0, ... with f(x+td) ≤ f0 + c1·t·⟨g0, d⟩."""
    if not 0.0 < rho < 1.0:
        raise ValueError(f"backtracking: rho must be in (0, 1), got {rho}")
    if not 0.0 < c1 < 1.0:
        raise ValueError(f"backtracking: c1 must be in (0, 1), got {c1}")
    x = xp.asarray(x)
    gtd = _directional(d, g0, float(f0), "backtracking")
    if gtd >= 0:
        raise ValueError(f"backtracking: d is not a descent direction (⟨g, d⟩ = {gtd:.3g} >= 0)")
    f_new = float("inf")
    for i in range(1, max_iter + 1):
        f_new = float(f(x + t * d))
        if f_new <= f0 + c1 * t * gtd:
            return LineSearchResult(t, f_new, None, i, True)
        t *= rho
    return LineSearchResult(t / rho, f_new, None, max_iter, False)


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """Minimiser of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to ``bounds``
    (default: the interval between x1 and x2); the interval's midpoint if the cubic has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


class _Point:
    """One evaluated step length: t, f, gradient and directional derivative ⟨g, d⟩."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


class _WolfeSearch:
    """The objective along x + t·d, the strong Wolfe tests and the counters of one search."""

    def __init__(self, fg: Callable, x, d, f0: float, gtd0: float, c1: float, c2: float, max_ls: int):
        self.fg, self.x, self.d = fg, x, d
        self.f0, self.gtd0, self.c1, self.c2, self.max_ls = f0, gtd0, c1, c2, max_ls
        self.evals = 0   # function evaluations
        self.it = 0      # iterations (the budget max_ls counts these)

    def evaluate(self, step: float) -> _Point:
        f, g = self.fg(self.x + step * self.d)
        g = xp.array(g, dtype=self.x.dtype, copy=True).reshape(self.x.shape)
        self.evals += 1
        return _Point(step, float(f), g, float(xp.dot(g.ravel(), self.d.ravel())))

    def insufficient_decrease(self, p: _Point) -> bool:
        """Armijo fails: f(x + t d) > f0 + c1 t ⟨g0, d⟩."""
        return p.f > self.f0 + self.c1 * p.t * self.gtd0

    def curvature_holds(self, p: _Point) -> bool:
        """|⟨∇f(x + t d), d⟩| ≤ c2 |⟨g0, d⟩|."""
        return abs(p.gtd) <= -self.c2 * self.gtd0


def _ordered(bracket) -> tuple[int, int]:
    """(index of the lower f, index of the other end)."""
    return (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)


def _bracket(search: _WolfeSearch, start: _Point, t: float):
    """Grow t until [prev, new] holds an acceptable point, or new is one: (bracket, done)."""
    prev, new = start, search.evaluate(t)
    while search.it < search.max_ls:
        if search.insufficient_decrease(new) or (search.it > 1 and new.f >= prev.f):
            return [prev, new], False
        if search.curvature_holds(new):
            return [new], True
        if new.gtd >= 0:
            return [prev, new], False
        bounds = (new.t + 0.01 * (new.t - prev.t), new.t * 10)
        step = cubic_interpolate(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd, bounds=bounds)
        prev, new = new, search.evaluate(step)
        search.it += 1
    return [start, new], False


def _zoom_step(a: _Point, b: _Point, insufficient: bool) -> tuple[float, bool]:
    """The cubic minimiser in the bracket, moved 10% inside when it comes too close to an end a second
    time in a row (or lies at an end); returns (step, whether it was too close this time)."""
    step = cubic_interpolate(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
    top, bot = max(a.t, b.t), min(a.t, b.t)
    margin = 0.1 * (top - bot)
    if min(top - step, step - bot) >= margin:
        return step, False
    if insufficient or step >= top or step <= bot:
        return (top - margin if abs(step - top) < abs(step - bot) else bot + margin), False
    return step, True


def _zoom(search: _WolfeSearch, bracket: list, d_norm: float, tolerance_change: float) -> tuple[_Point, bool]:
    """Shrink the bracket until the strong Wolfe conditions hold: (best point, done)."""
    insufficient = False
    low, high = _ordered(bracket)
    while search.it < search.max_ls and abs(bracket[1].t - bracket[0].t) * d_norm >= tolerance_change:
        step, insufficient = _zoom_step(bracket[0], bracket[1], insufficient)
        new = search.evaluate(step)
        search.it += 1
        if search.insufficient_decrease(new) or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = _ordered(bracket)
            continue
        done = search.curvature_holds(new)
        if not done and new.gtd * (bracket[high].t - bracket[low].t) >= 0:
            bracket[high] = bracket[low]
        bracket[low] = new
        if done:
            return new, True
    return bracket[low], False


def strong_wolfe(fg: Callable, x, d, f0: float, g0, t: float = 1.0, c1: float = 1e-4, c2: float = 0.9,
                 tolerance_change: float = 1e-9, max_ls: int = 25) -> LineSearchResult:
    """Strong-Wolfe line search (bracketing + zoom with cubic interpolation)."""
    if not 0.0 < c1 < c2 < 1.0:
        raise ValueError(f"strong_wolfe: need 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
    x = xp.asarray(x)
    d = xp.asarray(d)
    f0 = float(f0)
    gtd0 = _directional(d, g0, f0, "strong_wolfe")
    d_norm = float(xp.abs(d).max()) if d.size else 0.0
    search = _WolfeSearch(fg, x, d, f0, gtd0, c1, c2, max_ls)
    start = _Point(0.0, f0, xp.array(g0, copy=True).reshape(x.shape), gtd0)
    bracket, done = _bracket(search, start, t)
    if done:
        best = bracket[0]
    else:
        best, done = _zoom(search, bracket, d_norm, tolerance_change)
    return LineSearchResult(best.t, best.f, best.g, search.evals, done)
