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
"""
from __future__ import annotations

import numpy as np

from .._lbfgs import minimize_lbfgsb
from ..distributions import CategoricalDistribution
from ..gp import GaussianProcess, log_expected_improvement
from .base import Strategy

__all__ = ["Bayesian"]


class Bayesian(Strategy):
    """``Bayesian(n_startup_trials=8, n_candidates=2000, n_refine=5, liar="worst", seed=None)``."""

    def __init__(self, n_startup_trials: int = 8, n_candidates: int = 2000, n_refine: int = 5,
                 liar: str = "worst", seed: int | None = None, **gp_options):
        super().__init__(seed)
        if liar not in ("worst", "best", "mean"):
            raise ValueError(f"Bayesian: liar must be 'worst', 'best' or 'mean', got {liar!r}")
        if n_startup_trials < 1:
            raise ValueError(f"Bayesian: n_startup_trials must be >= 1, got {n_startup_trials}")
        self.n_startup_trials = int(n_startup_trials)
        self.n_candidates = int(n_candidates)
        self.n_refine = int(n_refine)
        self.liar = liar
        self.gp_options = gp_options
        self._cache: tuple | None = None   # (n told, space names, gp, y stats)
        self.gp: GaussianProcess | None = None

    def _observations(self):
        obs = [t for t in self._told if t.loss(self.direction) is not None and t.params]
        return obs

    def _fit(self, obs, space):
        key = (len(self._told), tuple(space))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        X = np.stack([self._encode(space, t.params) for t in obs])
        y = np.array([t.loss(self.direction) for t in obs], float)
        mean, sd = float(np.mean(y)), float(np.std(y))
        sd = sd if sd > 0 else 1.0
        ys = (y - mean) / sd
        rng = np.random.default_rng([self.seed, len(self._told), 0x6B])
        gp = GaussianProcess(**self.gp_options).fit(X, ys, rng)
        fitted = (gp, X, ys)
        self._cache = (key, fitted)
        return fitted

    def _propose(self, number, rng):
        obs = self._observations()
        if len(obs) < self.n_startup_trials:
            return {}
        space = self._relative_space(obs)
        if not space:
            return {}
        fitted, X, ys = self._fit(obs, space)
        gp = fitted
        best = float(ys.min())
        pending = [t for t in self._pending.values() if all(n in t._fixed for n in space)]
        if pending:
            lie = {"worst": ys.max(), "best": ys.min(), "mean": ys.mean()}[self.liar]
            Xp = np.stack([self._encode(space, t._fixed) for t in pending])
            gp = GaussianProcess(**self.gp_options)
            gp.theta = fitted.theta
            gp.condition(np.vstack([X, Xp]), np.r_[ys, np.full(len(Xp), lie)])
        self.gp = gp
        taken = np.vstack([X] + ([Xp] if pending else []))
        x = self._maximise_ei(gp, best, space, rng, X, ys, taken)
        if x is None:
            return {}
        return self._decode(space, x)

    # ---------------------------------------------------------------- acquisition
    def _maximise_ei(self, gp, best, space, rng, X, ys, taken):
        dim = X.shape[1]
        cats, cont, i = [], [], 0
        for d in space.values():
            if isinstance(d, CategoricalDistribution):
                cats.append((i, d.n_dims))
                i += d.n_dims
            else:
                cont.append(i)
                i += 1
        cont = np.array(cont, int)
        n_uniform = self.n_candidates * 3 // 4
        C = rng.random((self.n_candidates, dim))
        # local candidates: Gaussian moves around the best observations
        top = X[np.argsort(ys)[:5]]
        n_local = self.n_candidates - n_uniform
        base = top[rng.integers(len(top), size=n_local)]
        scale = rng.choice([0.02, 0.1], size=(n_local, 1))
        C[n_uniform:] = np.clip(base + scale * rng.normal(size=(n_local, dim)), 0.0, 1.0)
        for start, k in cats:
            onehot = np.eye(k)[rng.integers(k, size=self.n_candidates)]
            keep = rng.random(n_local) < 0.7     # local moves mostly keep the category
            local = onehot[n_uniform:]
            local[keep] = base[keep, start:start + k]
            onehot[n_uniform:] = local
            C[:, start:start + k] = onehot
        vals = log_expected_improvement(gp, C, best)
        order = np.argsort(-vals)[: self.n_refine]
        results = []
        for j in order:
            x0 = C[j].copy()
            if len(cont):
                def negf(xc, x0=x0):
                    x = x0.copy()
                    x[cont] = xc
                    v, g = log_expected_improvement(gp, x[None], best, return_grad=True)
                    return -float(v[0]), -g[0, cont]
                xc, _, _ = minimize_lbfgsb(negf, x0[cont], np.zeros(len(cont)), np.ones(len(cont)),
                                           maxiter=50, gtol=1e-6, ftol=1e-9)
                x0[cont] = xc
            results.append(self._encode(space, self._decode(space, x0)))   # snap to the grid
        R = np.unique(np.stack(results), axis=0)
        R = np.vstack([R, C[order]]) if len(R) else C[order]
        scores = log_expected_improvement(gp, R, best)
        for j in np.argsort(-scores):
            snapped = self._encode(space, self._decode(space, R[j]))
            if not np.any(np.all(np.abs(taken - snapped) < 1e-9, axis=1)):
                return snapped
        return None
