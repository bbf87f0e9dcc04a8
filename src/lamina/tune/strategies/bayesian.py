"""Bayesian optimisation: a probabilistic surrogate updated after each trial.

"Bayesian optimization builds a probabilistic model that maps from the
hyperparameter space to the objective on the validation set, updated after
each new observation."  Here, for every ask:

1. *Startup*: until ``n_startup_trials`` trials have a value, propose random
   trials (see ``Random``).
2. *Inputs*: the parameters present in every observed trial are mapped to the
   unit cube (``Distribution.to_unit``: log parameters in log space, integers
   and steps with half-step padding, categoricals one-hot).  Other
   (conditional) parameters are sampled at random by the trial.
3. *Surrogate*: a Gaussian process (``gp.GaussianProcess``: Matérn 5/2 ARD
   kernel, lengthscales, signal variance and noise fitted by maximising the log
   marginal likelihood with analytic gradients and multi-start L-BFGS) on the
   standardised losses (values negated when maximising; pruned trials count
   with their last reported value, failed ones are left out).
4. *Constant liar*: trials asked but not yet told are added to the data with
   the ``liar`` value (``"worst"`` observed loss by default; ``"best"`` or
   ``"mean"``), keeping the fitted hyperparameters, so n parallel asks differ.
5. *Acquisition*: expected improvement over the best observed loss,
   ``EI(x) = sd * h((best - mu) / sd)`` with ``h(z) = phi(z) + z Phi(z)``,
   maximised in log space over ``n_candidates`` random points (uniform, plus
   Gaussian perturbations of the best observations) whose best ``n_refine``
   are refined by box-constrained L-BFGS on the continuous coordinates, then
   rounded to the parameters' grids (ints, steps, one-hot).

Past ``n_exact`` observations the cost per trial is bounded, whatever the number of trials:

* the GP sees at most ``max_points`` observations: the best half of them by loss and the most
  recent rest (the region being exploited and the latest exploration);
* its hyperparameters are refitted only when the observations have grown by 10 % (or by
  ``max_points / 4``) since the last fit, warm-started from that fit; in between, the previous GP
  is updated with the previous hyperparameters: the points that left the subset dropped and the new
  ones added, O(``max_points``²) each (``GaussianProcess.updated``), instead of a new factorisation;
* the acquisition scores a quarter of the candidates and refines the best one (20 L-BFGS steps at most);
* the observed trials, their losses, their unit-cube encodings and the shared search space are kept
  from one ask to the next (only the trials told since are looked at).

The hyperparameter schedule and the incremental updates depend on the asks made so far, so past
``n_exact`` a study resumed from its journal may propose other (equally good) trials than the
uninterrupted one; up to ``n_exact`` it proposes the same.

Up to ``n_exact`` observations every ask refits from scratch, exactly as described above.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from .._lbfgs import minimize_lbfgsb
from ..distributions import CategoricalDistribution
from ..gp import GaussianProcess, log_expected_improvement
from .base import Strategy

__all__ = ["Bayesian"]


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread():
    """A context with BLAS on one thread: the GP's matrices (at most ``max_points``²) gain nothing from
    more, and on a busy machine a multi-threaded Cholesky of 200² was measured 20× slower than one thread."""
    try:
        return _blas_controller().limit(limits=1, user_api="blas")
    except ImportError:  # threadpoolctl is a dependency; without it BLAS keeps its default
        return contextlib.nullcontext()


class Bayesian(Strategy):
    """``Bayesian(n_startup_trials=8, n_candidates=2000, n_refine=5, liar="worst", seed=None,
    n_exact=64, max_points=128)``."""

    def __init__(self, n_startup_trials: int = 8, n_candidates: int = 2000, n_refine: int = 5,
                 liar: str = "worst", seed: int | None = None, n_exact: int = 64, max_points: int = 128,
                 **gp_options):
        super().__init__(seed)
        if liar not in ("worst", "best", "mean"):
            raise ValueError(f"Bayesian: liar must be 'worst', 'best' or 'mean', got {liar!r}")
        if n_startup_trials < 1:
            raise ValueError(f"Bayesian: n_startup_trials must be >= 1, got {n_startup_trials}")
        if max_points < 8 or n_exact < 1:
            raise ValueError(f"Bayesian: max_points must be >= 8 and n_exact >= 1, got {max_points}, {n_exact}")
        self.n_startup_trials = int(n_startup_trials)
        self.n_candidates = int(n_candidates)
        self.n_refine = int(n_refine)
        self.liar = liar
        self.n_exact = int(n_exact)
        self.max_points = int(max_points)
        self.gp_options = gp_options
        self._cache: tuple | None = None   # ((n told, space names), (gp, X, ys))
        self._obs: tuple = (0, "", [], [])  # (trials scanned, direction, observed trials, their losses)
        self._enc: tuple = ((), np.zeros((0, 0)), 0)  # (space names, encodings of the observations, rows filled)
        self._shared: tuple = (0, None, {})  # (trials checked, first trial, shared space)
        self._last_fit: tuple = (0, None)  # (observations at the last hyperparameter fit, its theta)
        self._base: tuple = ((), None, None)  # (space names, last GP without pending points, observations behind its rows)
        self.gp: GaussianProcess | None = None

    def _observations(self):
        """Told trials with a loss and parameters, and their losses; only the trials told since the last
        call are looked at."""
        scanned, direction, obs, losses = self._obs
        if direction != self.direction or scanned > len(self._told):
            scanned, obs, losses = 0, [], []
            self._enc, self._base = ((), np.zeros((0, 0)), 0), ((), None, None)
        for t in self._told[scanned:]:
            loss = t.loss(self.direction)
            if loss is not None and t.params:
                obs.append(t)
                losses.append(loss)
        self._obs = (len(self._told), self.direction, obs, losses)
        return obs, losses

    def _shared_space(self, obs):
        """``_relative_space(obs)``, updated with the trials added since the last ask only."""
        checked, first, space = self._shared
        if first is not None and checked <= len(obs) and obs[0] is first:
            new = obs[checked:]
            space = {n: d for n, d in space.items() if all(t.distributions.get(n) == d for t in new)}
        else:
            space = self._relative_space(obs)
        self._shared = (len(obs), obs[0] if obs else None, space)
        return space

    def _encoded(self, space, obs) -> np.ndarray:
        """Unit-cube encodings of all observations (rows in observation order), kept from one ask to
        the next while the space stays the same."""
        key, E, filled = self._enc
        if key != tuple(space) or filled > len(obs):
            key, filled = tuple(space), 0
            E = np.zeros((max(16, 2 * len(obs)), len(self._encode(space, obs[0].params))))
        if len(obs) > len(E):
            E = np.vstack([E[:filled], np.zeros((len(obs), E.shape[1]))])
        for i in range(filled, len(obs)):
            E[i] = self._encode(space, obs[i].params)
        self._enc = (key, E, len(obs))
        return E[:len(obs)]

    def _subset(self, y):
        """At most ``max_points`` observations: the best half by loss, then the most recent others."""
        if len(y) <= self.max_points:
            return np.arange(len(y))
        best = np.argsort(y, kind="stable")[: self.max_points // 2]
        rest = np.setdiff1d(np.arange(len(y)), best)[-(self.max_points - len(best)):]
        return np.sort(np.r_[best, rest])

    def _fit(self, obs, losses, space):
        key = (len(self._told), tuple(space))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        y = np.asarray(losses, float)
        idx = self._subset(y)
        E = self._encoded(space, obs)
        mean, sd = float(np.mean(y[idx])), float(np.std(y[idx]))
        sd = sd if sd > 0 else 1.0
        ys = (y - mean) / sd
        n_fit, theta = self._last_fit
        if len(obs) <= self.n_exact or theta is None or len(theta) != E.shape[1] + 2:
            gp, members = self._fitted(E[idx], ys[idx], None), idx
        elif len(obs) >= min(1.1 * n_fit, n_fit + self.max_points / 4):
            gp, members = self._fitted(E[idx], ys[idx], theta), idx
        else:
            gp, members = self._conditioned(tuple(space), idx, E, ys, theta)
        self._base = (tuple(space), gp, members)
        fitted = (gp, gp.X, gp.y)
        self._cache = (key, fitted)
        return fitted

    def _fitted(self, X, ys, theta0):
        """A GP with hyperparameters fitted on ``(X, ys)``: from scratch, or warm-started at ``theta0``."""
        rng = np.random.default_rng([self.seed, len(self._told), 0x6B])
        gp = GaussianProcess(**self.gp_options).fit(X, ys, rng, theta0=theta0)
        self._last_fit = (len(self._obs[2]), gp.theta)
        return gp

    def _conditioned(self, key, idx, E, ys, theta):
        """The GP with the hyperparameters ``theta`` on the observations ``idx``, and the observations
        behind its rows: the previous GP with the points that left the subset dropped and the new ones
        added (``GaussianProcess.updated``), when it has the same space and hyperparameters and at most
        ``max(4, max_points / 8)`` points changed; else conditioned anew."""
        space, prev, members = self._base
        if space == key and prev is not None and prev.theta is theta:
            kept = np.isin(members, idx)
            added = np.setdiff1d(idx, members)
            if np.count_nonzero(~kept) + len(added) <= max(4, self.max_points // 8):
                order = np.r_[members[kept], added]
                return prev.updated(np.flatnonzero(kept), E[added], ys[order]), order
        gp = GaussianProcess(**self.gp_options)
        gp.theta = theta
        return gp.condition(E[idx], ys[idx]), idx

    def _propose(self, number, rng):
        with _one_blas_thread():
            return self._propose_with(rng)

    def _propose_with(self, rng):
        obs, losses = self._observations()
        if len(obs) < self.n_startup_trials:
            return {}
        space = self._shared_space(obs)
        if not space:
            return {}
        fitted, X, ys = self._fit(obs, losses, space)
        gp = fitted
        best = float(ys.min())
        pending = [t for t in self._pending.values() if all(n in t._fixed for n in space)]
        if pending:
            lie = {"worst": ys.max(), "best": ys.min(), "mean": ys.mean()}[self.liar]
            Xp = np.stack([self._encode(space, t._fixed) for t in pending])
            gp = fitted.updated(np.arange(len(X)), Xp, np.r_[ys, np.full(len(Xp), lie)])
        self.gp = gp
        taken = self._encoded(space, obs)
        if pending:
            taken = np.vstack([taken, Xp])
        x = self._maximise_ei(gp, best, space, rng, X, ys, taken, large=len(obs) > self.n_exact)
        if x is None:
            return {}
        return self._decode(space, x)

    # ---------------------------------------------------------------- acquisition
    def _maximise_ei(self, gp, best, space, rng, X, ys, taken, large=False):
        n_candidates = self.n_candidates // 4 if large else self.n_candidates
        n_refine, maxiter = (min(self.n_refine, 1), 20) if large else (self.n_refine, 50)
        cats, cont = _layout(space)
        C = _candidates(rng, X, ys, cats, n_candidates)
        vals = log_expected_improvement(gp, C, best)
        order = np.argsort(-vals)[:n_refine]
        results = []
        for j in order:
            x0 = _refined(gp, best, C[j].copy(), cont, maxiter)
            results.append(self._encode(space, self._decode(space, x0)))   # snap to the grid
        R = np.unique(np.stack(results), axis=0)
        R = np.vstack([R, C[order]]) if len(R) else C[order]
        scores = log_expected_improvement(gp, R, best)
        for j in np.argsort(-scores):
            snapped = self._encode(space, self._decode(space, R[j]))
            if not np.any(np.all(np.abs(taken - snapped) < 1e-9, axis=1)):
                return snapped
        return None


def _layout(space) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Where each parameter sits in an encoded point: (start, width) of each categorical one-hot block,
    and the columns of the continuous parameters."""
    cats, cont, i = [], [], 0
    for d in space.values():
        if isinstance(d, CategoricalDistribution):
            cats.append((i, d.n_dims))
            i += d.n_dims
        else:
            cont.append(i)
            i += 1
    return cats, np.array(cont, int)


def _candidates(rng, X, ys, cats, n_candidates: int) -> np.ndarray:
    """Candidate points: three quarters uniform, the rest Gaussian moves around the best observations
    (their categories mostly kept)."""
    dim = X.shape[1]
    n_uniform = n_candidates * 3 // 4
    C = rng.random((n_candidates, dim))
    top = X[np.argsort(ys)[:5]]
    n_local = n_candidates - n_uniform
    base = top[rng.integers(len(top), size=n_local)]
    scale = rng.choice([0.02, 0.1], size=(n_local, 1))
    C[n_uniform:] = np.clip(base + scale * rng.normal(size=(n_local, dim)), 0.0, 1.0)
    for start, k in cats:
        onehot = np.eye(k)[rng.integers(k, size=n_candidates)]
        keep = rng.random(n_local) < 0.7     # local moves mostly keep the category
        local = onehot[n_uniform:]
        local[keep] = base[keep, start:start + k]
        onehot[n_uniform:] = local
        C[:, start:start + k] = onehot
    return C


def _refined(gp, best, x0: np.ndarray, cont: np.ndarray, maxiter: int) -> np.ndarray:
    """``x0`` with its continuous coordinates moved (L-BFGS-B in [0, 1]) to a maximum of log EI."""
    if len(cont):
        def negf(xc, x0=x0):
            x = x0.copy()
            x[cont] = xc
            v, g = log_expected_improvement(gp, x[None], best, return_grad=True)
            return -float(v[0]), -g[0, cont]
        xc, _, _ = minimize_lbfgsb(negf, x0[cont], np.zeros(len(cont)), np.ones(len(cont)),
                                   maxiter=maxiter, gtol=1e-6, ftol=1e-9)
        x0[cont] = xc
    return x0
