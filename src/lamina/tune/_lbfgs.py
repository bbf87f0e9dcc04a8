"""Box-constrained L-BFGS in NumPy (projected quasi-Newton, no SciPy).

Minimises a smooth ``f`` with gradient ``g`` over ``lo <= x <= hi``:

* direction: the two-loop recursion ``d = -H g`` (``optim.lbfgs.two_loop``) with the ``m``
  most recent pairs ``s_k = x_{k+1} - x_k``, ``y_k = g_{k+1} - g_k`` (pairs with
  ``s.y <= eps`` are skipped so ``H`` stays positive definite), initial scaling
  ``H_0 = (s.y / y.y) I``;
* active set: a coordinate sitting on a bound whose gradient pushes outward is
  frozen for the step (``d_i = 0``); if ``d`` is not a descent direction the
  memory is dropped and ``d = -g`` on the free coordinates;
* projected backtracking line search: ``x(t) = clip(x + t d)``, accept the first
  ``t = 1, 1/2, 1/4, ...`` with ``f(x(t)) <= f(x) + c1 g.(x(t) - x)`` (Armijo).

Stops when the projected gradient is below ``gtol`` or the relative decrease of
``f`` is below ``ftol``.  Used for the Gaussian-process hyperparameters and for
refining the expected improvement.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..optim.lbfgs import two_loop

__all__ = ["minimize_lbfgsb"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _projected_gradient(x, g, lo, hi):
    pg = g.copy()
    pg[(x <= lo) & (g > 0)] = 0.0
    pg[(x >= hi) & (g < 0)] = 0.0
    return pg


def _search_direction(g: np.ndarray, free: np.ndarray, S: list, Y: list) -> np.ndarray:
    """d = -H g on the free coordinates (0 elsewhere); steepest descent, with the memory dropped,
    when that is not a descent direction."""
    q = np.where(free, g, 0.0)
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) if S else 1.0 / max(1.0, float(np.linalg.norm(q)))
    d = np.where(free, -two_loop(q, Y, S, [1.0 / (y @ s) for s, y in zip(S, Y)], gamma), 0.0)
    if not (g @ d < 0):
        S.clear()
        Y.clear()
        d = np.where(free, -g, 0.0) / max(1.0, float(np.linalg.norm(g)))
    return d


def _backtrack(fun: Objective, x, f: float, g, d, lo, hi, c1: float):
    """(x(t), f, g) at the first t = 1, 1/2, ... (40 tries) meeting the Armijo condition, or None."""
    t = 1.0
    for _ in range(40):
        x_new = np.clip(x + t * d, lo, hi)
        f_new, g_new = fun(x_new)
        if np.isfinite(f_new) and f_new <= f + c1 * (g @ (x_new - x)):
            return x_new, f_new, g_new
        t *= 0.5
    return None


def _remember(S: list, Y: list, s, y, m: int) -> None:
    """Keep the pair when s.y > 1e-12 max(1, y.y), at most ``m`` pairs."""
    if s @ y > 1e-12 * max(1.0, y @ y):
        S.append(s)
        Y.append(y)
        if len(S) > m:
            S.pop(0)
            Y.pop(0)


def minimize_lbfgsb(fun: Objective, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, m: int = 10,
                    maxiter: int = 200, gtol: float = 1e-6, ftol: float = 1e-10,
                    c1: float = 1e-4) -> tuple[np.ndarray, float, int]:
    """Return ``(x, f(x), n_iterations)``; ``fun(x)`` returns ``(f, grad)``."""
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    x = np.clip(np.asarray(x0, float).copy(), lo, hi)
    f, g = fun(x)
    if not np.isfinite(f):
        return x, float(f), 0
    S: list[np.ndarray] = []
    Y: list[np.ndarray] = []
    it = 0
    while it < maxiter:
        it += 1
        pg = _projected_gradient(x, g, lo, hi)
        if np.max(np.abs(pg)) < gtol:
            break
        found = _backtrack(fun, x, f, g, _search_direction(g, pg != 0.0, S, Y), lo, hi, c1)
        if found is None:
            if S:  # retry once from steepest descent
                S.clear()
                Y.clear()
                continue
            break
        x_new, f_new, g_new = found
        _remember(S, Y, x_new - x, g_new - g, m)
        done = abs(f - f_new) <= ftol * max(1.0, abs(f), abs(f_new))
        x, f, g = x_new, float(f_new), g_new
        if done:
            break
    return x, float(f), it
