"""Gaussian-process regression in NumPy: Matérn 5/2 ARD kernel, fitted hyperparameters.

Kernel (inputs in the unit cube, one lengthscale per input dimension)::

    r^2  = sum_d (x_d - x'_d)^2 / l_d^2
    k    = s2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)
    K    = k(X, X) + n2 I

Hyperparameters ``theta = (log l_1..l_D, log s2, log n2)`` maximise the log
marginal likelihood plus weak log-normal priors (MAP; they stop the
lengthscales collapsing on a handful of points)::

    L(theta) = -1/2 y^T K^-1 y - 1/2 log|K| - n/2 log 2 pi + log p(theta)
    dL/dtheta_j = 1/2 tr((a a^T - K^-1) dK/dtheta_j),   a = K^-1 y
    dk/dlog l_d = 5/3 s2 (1 + sqrt5 r) exp(-sqrt5 r) (x_d - x'_d)^2 / l_d^2
    dK/dlog s2 = K - n2 I,   dK/dlog n2 = n2 I

with multi-start box-constrained L-BFGS (``_lbfgs.minimize_lbfgsb``).
Conditioning keeps an inverse factor ``A`` with ``AᵀA = K⁻¹`` (``L⁻¹`` after a factorisation;
``GaussianProcess.updated`` drops and adds points in O(n²) each).  Prediction of the latent function
at ``x``: ``mu = k*^T a``, ``var = s2 - |A k*|^2``, both with gradients in ``x``.
"""
from __future__ import annotations

import math

import numpy as np

from ._lbfgs import minimize_lbfgsb

__all__ = ["GaussianProcess", "matern52", "log_expected_improvement"]

SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)


def matern52(X1: np.ndarray, X2: np.ndarray, lengthscales: np.ndarray, s2: float) -> np.ndarray:
    """Matérn 5/2 ARD kernel matrix ``k(X1, X2)``."""
    D = (X1[:, None, :] - X2[None, :, :]) / lengthscales
    r = np.sqrt(np.sum(D * D, axis=-1))
    return s2 * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * np.exp(-SQRT5 * r)


class GaussianProcess:
    """Zero-mean GP on standardised targets with Matérn 5/2 ARD kernel.

    ``prior_lengthscale``: median of the log-normal lengthscale prior (unit-cube
    inputs); ``bounds`` are boxes on ``log l``, ``log s2``, ``log n2``.
    """

    def __init__(self, *, prior_lengthscale: float | None = None, prior_sd: float = 1.5,
                 lengthscale_bounds=(1e-2, 1e2), signal_bounds=(5e-2, 2e1),
                 noise_bounds=(1e-6, 1e-1), noise_prior: float = 1e-4, n_restarts: int = 3):
        self.prior_lengthscale = prior_lengthscale
        self.prior_sd = prior_sd
        self.lengthscale_bounds = lengthscale_bounds
        self.signal_bounds = signal_bounds
        self.noise_bounds = noise_bounds
        self.noise_prior = noise_prior
        self.n_restarts = n_restarts
        self.theta: np.ndarray | None = None
        self._prior_cache: tuple | None = None

    # ---------------------------------------------------------------- fitting
    def _bounds(self, dim: int):
        lo = np.r_[np.full(dim, math.log(self.lengthscale_bounds[0])), math.log(self.signal_bounds[0]),
                   math.log(self.noise_bounds[0])]
        hi = np.r_[np.full(dim, math.log(self.lengthscale_bounds[1])), math.log(self.signal_bounds[1]),
                   math.log(self.noise_bounds[1])]
        return lo, hi

    def _prior_centre(self, dim: int) -> np.ndarray:
        ls = self.prior_lengthscale if self.prior_lengthscale is not None else 0.25 * math.sqrt(dim) + 0.25
        return np.r_[np.full(dim, math.log(ls)), 0.0, math.log(self.noise_prior)]

    def _prior(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Centre and standard deviations of the Gaussian prior on ``theta`` (computed once per ``dim``)."""
        key = (dim, self.prior_lengthscale, self.prior_sd, self.noise_prior)
        if self._prior_cache is None or self._prior_cache[0] != key:
            self._prior_cache = (key, self._prior_centre(dim), np.r_[np.full(dim, self.prior_sd), math.inf, 2.0])
        return self._prior_cache[1], self._prior_cache[2]

    def neg_log_posterior(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray,
                          sq: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``-(log marginal likelihood + log prior)`` and its gradient in ``theta``."""
        n, dim = X.shape
        if sq is None:
            sq = (X[:, None, :] - X[None, :, :]) ** 2
        ls2 = np.exp(2.0 * theta[:dim])
        s2, n2 = math.exp(theta[dim]), math.exp(theta[dim + 1])
        S = sq / ls2                      # (n, n, D): (x_d - x'_d)^2 / l_d^2
        r = np.sqrt(np.sum(S, axis=-1))
        e = np.exp(-SQRT5 * r)
        Kf = s2 * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * e
        eye = np.eye(n)
        K = Kf + (n2 + 1e-9) * eye
        try:
            L = np.linalg.cholesky(K)
        except np.linalg.LinAlgError:
            return math.inf, np.zeros_like(theta)
        Linv = np.linalg.solve(L, eye)                  # triangular; n is small
        Kinv = Linv.T @ Linv
        a = Kinv @ y
        lml = -0.5 * y @ a - np.sum(np.log(np.diag(L))) - 0.5 * n * _LOG_2PI
        W = np.outer(a, a) - Kinv
        G = (5.0 / 3.0) * s2 * (1.0 + SQRT5 * r) * e   # dk/dlog l_d = G * S_d
        grad = np.empty_like(theta)
        grad[:dim] = 0.5 * np.einsum("ij,ijd->d", W * G, S)
        grad[dim] = 0.5 * np.sum(W * Kf)
        grad[dim + 1] = 0.5 * n2 * np.trace(W)
        # log-normal priors (Gaussian on the log parameters); the signal variance is flat
        c, sd = self._prior(dim)
        z = (theta - c) / sd
        lp = -0.5 * np.sum(z * z)
        glp = -z / sd
        return float(-(lml + lp)), -(grad + glp)

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator,
            theta0: np.ndarray | None = None) -> GaussianProcess:
        """Fit hyperparameters (multi-start L-BFGS) and condition on ``(X, y)``.

        ``theta0`` (a previous fit's ``theta``) warm-starts the search: it is the
        only start then (at most 30 iterations), instead of the prior centre and ``n_restarts`` random ones."""
        X = np.asarray(X, float)
        y = np.asarray(y, float)
        n, dim = X.shape
        lo, hi = self._bounds(dim)
        sq = (X[:, None, :] - X[None, :, :]) ** 2
        starts = [self._prior_centre(dim)] if theta0 is None else [np.clip(theta0, lo, hi)]
        for _ in range(self.n_restarts if theta0 is None else 0):
            t = self._prior_centre(dim) + np.r_[rng.normal(0, 1.0, dim), rng.normal(0, 0.5), rng.normal(0, 1.0)]
            starts.append(t)
        best, best_f = None, math.inf
        for t0 in starts:
            theta, f, _ = minimize_lbfgsb(lambda t: self.neg_log_posterior(t, X, y, sq), t0, lo, hi,
                                          maxiter=100 if theta0 is None else 30, gtol=1e-5, ftol=1e-9)
            if f < best_f:
                best, best_f = theta, f
        if best is None:
            best = np.clip(self._prior_centre(dim), lo, hi)
        self.theta = best
        self.condition(X, y)
        return self

    def condition(self, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Condition on data with the current hyperparameters (no refit): ``K = L Lᵀ`` and the
        inverse factor ``A = L⁻¹`` (``AᵀA = K⁻¹``), ``a = Aᵀ A y``."""
        if self.theta is None:
            raise RuntimeError("GaussianProcess.condition: fit() the hyperparameters first")
        dim = X.shape[1]
        self.X = np.asarray(X, float)
        self.ls = np.exp(self.theta[:dim])
        self.s2 = math.exp(self.theta[dim])
        self.n2 = math.exp(self.theta[dim + 1])
        self.K = matern52(self.X, self.X, self.ls, self.s2) + (self.n2 + 1e-9) * np.eye(len(self.X))
        L = np.linalg.cholesky(self.K)
        self.A = np.linalg.solve(L, np.eye(len(self.X)))   # L⁻¹ once: predictions are then products
        self.y = np.asarray(y, float)
        self.alpha = self.A.T @ (self.A @ self.y)              # a = K⁻¹ y = Aᵀ A y
        return self

    def _solve(self, b: np.ndarray) -> np.ndarray:
        """``K⁻¹ b`` as ``Aᵀ A b`` plus one step of iterative refinement, ``x += Aᵀ A (b - K x)``."""
        x = self.A.T @ (self.A @ b)
        return x + self.A.T @ (self.A @ (b - self.K @ x))

    def updated(self, keep: np.ndarray, Xn: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """The GP on ``X[keep]`` followed by ``Xn``, with targets ``y`` and the same hyperparameters:
        ``K`` and its inverse factor ``A`` updated in O(n²) per dropped or added point (no new
        factorisation).  ``keep`` is increasing.

        Dropping point i: with ``u = A[:, i] / |A[:, i]|``, the smaller ``K'⁻¹ = A₋ᵢᵀ (I - u uᵀ) A₋ᵢ``;
        the Householder reflection ``H = I - 2 v vᵀ / vᵀv``, ``v = u + sign(u₁) e₁``, sends u to ``∓e₁``,
        so ``A' = H A₋ᵢ`` without its first row.  Adding x with ``k = k(X, x)``: ``p = K⁻¹ k``,
        ``s = k(x, x) + n2 - kᵀ p`` (``>= n2`` in exact arithmetic, else the update falls back to
        ``condition``), ``A' = [[A, 0], [-pᵀ/√s, 1/√s]]``.  Then ``a = K'⁻¹ y`` (both solves refined once).
        """
        keep = np.asarray(keep, int)
        gp = GaussianProcess.__new__(GaussianProcess)
        gp.__dict__.update(self.__dict__)
        A = self.A
        for i in np.setdiff1d(np.arange(len(self.X)), keep)[::-1]:
            A = _drop_column(A, int(i))
        gp.X, gp.A, gp.K = self.X[keep], A, self.K[np.ix_(keep, keep)]
        for x in np.asarray(Xn, float).reshape(-1, self.X.shape[1]):
            if not gp._add_point(x):
                return gp.condition(np.vstack([self.X[keep], Xn]), y)
        gp.y = np.asarray(y, float)
        gp.alpha = gp._solve(gp.y)
        return gp

    def _add_point(self, x: np.ndarray) -> bool:
        """Grow ``X``, ``K`` and ``A`` by the point ``x`` (see ``updated``); False if ``s`` came out below ``n2/2``."""
        noise = self.n2 + 1e-9
        k = matern52(self.X, x[None], self.ls, self.s2)[:, 0]
        p = self._solve(k)
        s = self.s2 + noise - k @ p
        if not s > 0.5 * noise:
            return False
        n, d = len(self.X), math.sqrt(s)
        A, K = np.zeros((n + 1, n + 1)), np.empty((n + 1, n + 1))
        A[:n, :n], A[n, :n], A[n, n] = self.A, -p / d, 1.0 / d
        K[:n, :n], K[n, :n], K[:n, n], K[n, n] = self.K, k, k, self.s2 + noise
        self.X, self.A, self.K = np.vstack([self.X, x]), A, K
        return True

    # ------------------------------------------------------------- prediction
    def predict(self, Xs: np.ndarray, return_grad: bool = False):
        """Posterior mean and standard deviation of the latent function at ``Xs`` (m, D).

        With ``return_grad`` also ``dmu/dx`` and ``dsd/dx`` of shape (m, D).
        """
        Xs = np.atleast_2d(np.asarray(Xs, float))
        Dif = (Xs[:, None, :] - self.X[None, :, :]) / self.ls     # (m, n, D)
        r = np.sqrt(np.sum(Dif * Dif, axis=-1))
        e = np.exp(-SQRT5 * r)
        ks = self.s2 * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * e   # (m, n)
        mu = ks @ self.alpha
        V = self.A @ ks.T                                            # A k*, (n, m)
        var = np.maximum(self.s2 - np.sum(V * V, axis=0), 1e-12)
        sd = np.sqrt(var)
        if not return_grad:
            return mu, sd
        # dk*/dx_d = -5/3 s2 (1 + sqrt5 r) e (x_d - X_d) / l_d^2
        H = -(5.0 / 3.0) * self.s2 * (1.0 + SQRT5 * r) * e            # (m, n)
        dks = H[:, :, None] * Dif / self.ls                           # (m, n, D)
        dmu = np.einsum("mnd,n->md", dks, self.alpha)
        B = (self.A.T @ V).T                                          # K^-1 k*, (m, n)
        dvar = -2.0 * np.einsum("mnd,mn->md", dks, B)
        dsd = dvar / (2.0 * sd[:, None])
        return mu, sd, dmu, dsd


def _drop_column(A: np.ndarray, i: int) -> np.ndarray:
    """Inverse factor without point i (see ``GaussianProcess.updated``)."""
    Ai = np.delete(A, i, axis=1)
    v = A[:, i] / np.linalg.norm(A[:, i])
    v[0] += 1.0 if v[0] >= 0 else -1.0
    w = v @ Ai
    return Ai[1:] - (2.0 / (v @ v)) * np.outer(v[1:], w)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * np.asarray(_erfc(-np.asarray(z, float) / math.sqrt(2.0)), dtype=float)


def _log_h(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log h(z)`` and ``d log h / dz`` with ``h(z) = phi(z) + z Phi(z)``.

    Direct formula for ``z > -25``; below, the asymptotic series
    ``h(z) ~ phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - 105/z^6)`` (no cancellation).
    """
    z = np.asarray(z, float)
    out = np.empty_like(z)
    dout = np.empty_like(z)
    ok = z > -25.0
    zo = z[ok]
    phi = np.exp(-0.5 * zo * zo) / math.sqrt(2.0 * math.pi)
    Phi = _norm_cdf(zo)
    h = np.maximum(phi + zo * Phi, 1e-300)
    out[ok] = np.log(h)
    dout[ok] = Phi / h
    zt = z[~ok]
    if zt.size:
        z2 = zt * zt
        series = 1.0 - 3.0 / z2 + 15.0 / z2 ** 2 - 105.0 / z2 ** 3
        dseries = 6.0 / zt ** 3 - 60.0 / zt ** 5 + 630.0 / zt ** 7
        out[~ok] = -0.5 * z2 - 0.5 * math.log(2.0 * math.pi) - 2.0 * np.log(-zt) + np.log(series)
        dout[~ok] = -zt - 2.0 / zt + dseries / series
    return out, dout


def log_expected_improvement(gp: GaussianProcess, Xs: np.ndarray, best: float, return_grad: bool = False):
    """``log EI(x)`` for minimisation: ``EI = sd * h((best - mu) / sd)``.

    Working in log space keeps the acquisition informative far from the
    incumbent, where EI itself underflows to zero.
    """
    if not return_grad:
        mu, sd = gp.predict(Xs)
        lh, _ = _log_h((best - mu) / sd)
        return np.log(sd) + lh
    mu, sd, dmu, dsd = gp.predict(Xs, return_grad=True)
    z = (best - mu) / sd
    lh, dlh = _log_h(z)
    val = np.log(sd) + lh
    dz = -(dmu + z[:, None] * dsd) / sd[:, None]
    grad = dsd / sd[:, None] + dlh[:, None] * dz
    return val, grad
