"""The Gaussian process and its NumPy optimiser: analytic gradients, L-BFGS, log EI."""
import math

import mpmath
import numpy as np
import pytest
from scipy import optimize as scipy_optimize

from lamina.tune._lbfgs import minimize_lbfgsb
from lamina.tune.gp import GaussianProcess, _log_h, log_expected_improvement, matern52


def data(n=14, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2
    return X, (y - y.mean()) / y.std(), rng


def test_matern52_values():
    X = np.array([[0.0, 0.0], [0.3, 0.4]])
    K = matern52(X, X, np.array([1.0, 1.0]), 2.0)
    r = 0.5
    assert K[0, 0] == pytest.approx(2.0)
    assert K[0, 1] == pytest.approx(2.0 * (1 + math.sqrt(5) * r + 5 / 3 * r * r) * math.exp(-math.sqrt(5) * r))


def test_log_marginal_likelihood_gradient_matches_finite_differences():
    X, y, _ = data()
    gp = GaussianProcess()
    theta = np.r_[np.log([0.3, 0.5, 0.8]), 0.2, math.log(1e-3)]
    f, g = gp.neg_log_posterior(theta, X, y)
    eps = 1e-6
    num = [(gp.neg_log_posterior(theta + e, X, y)[0] - gp.neg_log_posterior(theta - e, X, y)[0]) / (2 * eps)
           for e in np.eye(len(theta)) * eps]
    assert np.allclose(g, num, rtol=1e-5, atol=1e-6)


def test_log_marginal_likelihood_matches_direct_formula():
    X, y, _ = data()
    gp = GaussianProcess(prior_sd=1e12)   # priors switched off (flat)
    theta = np.r_[np.log([0.3, 0.5, 0.8]), 0.2, math.log(1e-2)]
    K = matern52(X, X, np.exp(theta[:3]), math.exp(theta[3])) + (1e-2 + 1e-9) * np.eye(len(X))
    _, logdet = np.linalg.slogdet(K)
    direct = -0.5 * y @ np.linalg.solve(K, y) - 0.5 * logdet - 0.5 * len(X) * math.log(2 * math.pi)
    f, _ = gp.neg_log_posterior(theta, X, y)
    prior = -0.5 * ((theta[-1] - math.log(gp.noise_prior)) / 2.0) ** 2
    assert -f == pytest.approx(direct + prior, rel=1e-9)


def test_fit_interpolates_and_predicts_uncertainty():
    X, y, rng = data(n=25, d=2)
    gp = GaussianProcess().fit(X, y, rng)
    mu, sd = gp.predict(X)
    assert np.max(np.abs(mu - y)) < 0.05
    far = gp.predict(np.array([[5.0, 5.0]]))[1]
    assert far[0] > 10 * sd.max()


def test_predict_and_log_ei_gradients():
    X, y, rng = data()
    gp = GaussianProcess().fit(X, y, rng)
    Xs = rng.random((5, 3))
    for best in (y.min(), y.min() - 1.0):
        v, g = log_expected_improvement(gp, Xs, best, return_grad=True)
        eps = 1e-6
        num = np.stack([(log_expected_improvement(gp, Xs + e, best) - log_expected_improvement(gp, Xs - e, best))
                        / (2 * eps) for e in np.eye(3) * eps], axis=1)
        assert np.allclose(g, num, rtol=1e-4, atol=1e-6)


def test_log_h_accurate_in_the_tail():
    z = np.array([-60.0, -30.0, -25.5, -24.5, -8.0, -1.0, 0.0, 2.5])
    val, d = _log_h(z)
    ref = [float(mpmath.log(mpmath.npdf(x) + x * mpmath.ncdf(x))) for x in z]
    dref = [float(mpmath.ncdf(x) / (mpmath.npdf(x) + x * mpmath.ncdf(x))) for x in z]
    assert np.allclose(val, ref, rtol=1e-8)
    assert np.allclose(d, dref, rtol=1e-6)


def test_lbfgsb_matches_scipy_on_bounded_rosenbrock():

    def rosen(x):
        f = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        g = np.zeros_like(x)
        g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
        g[1:] += 200 * (x[1:] - x[:-1] ** 2)
        return f, g

    x0 = np.full(5, -1.2)
    for lo, hi in [(-2.0, 2.0), (-2.0, 0.7)]:
        x, f, _ = minimize_lbfgsb(rosen, x0, np.full(5, lo), np.full(5, hi), maxiter=2000, gtol=1e-9, ftol=0)
        ref = scipy_optimize.minimize(rosen, x0, jac=True, method="L-BFGS-B", bounds=[(lo, hi)] * 5,
                                      options={"maxiter": 2000, "gtol": 1e-10, "ftol": 1e-15})
        assert f == pytest.approx(ref.fun, abs=1e-7)
        assert np.allclose(x, ref.x, atol=1e-4)


def test_gp_fit_reaches_scipy_optimum():
    X, y, rng = data(n=30, d=2, seed=4)
    gp = GaussianProcess(n_restarts=3).fit(X, y, rng)
    ours = gp.neg_log_posterior(gp.theta, X, y)[0]
    lo, hi = gp._bounds(2)
    best = min(scipy_optimize.minimize(lambda t: gp.neg_log_posterior(t, X, y), t0, jac=True, method="L-BFGS-B",
                                       bounds=list(zip(lo, hi))).fun
               for t0 in [gp._prior_centre(2)] + [gp._prior_centre(2) + rng.normal(size=4) for _ in range(5)])
    assert ours <= best + 1e-3


def _conditioned(theta, X, y):
    gp = GaussianProcess()
    gp.theta = theta
    return gp.condition(X, y)


def test_updated_gp_equals_a_fresh_conditioning_on_the_same_points():
    rng = np.random.default_rng(7)
    theta = np.r_[np.log([0.3, 0.5, 0.4]), 0.1, math.log(1e-4)]
    X = rng.random((30, 3))
    gp = _conditioned(theta, X, np.sin(4 * X[:, 0]) + X[:, 1])
    n = 30
    for step in range(40):                      # drop 0-2 points anywhere, add 0-2 new ones
        keep = np.sort(rng.choice(len(gp.X), len(gp.X) - step % 3, replace=False))
        Xn = rng.random((step % 2 + (step % 5 == 0), 3))
        y = np.r_[gp.y[keep], np.sin(4 * Xn[:, 0]) + Xn[:, 1]]
        gp = gp.updated(keep, Xn, y)
        n += len(Xn) - step % 3
    assert len(gp.X) == n == len(gp.y) and gp.A.shape == (n, n)
    fresh = _conditioned(theta, gp.X, gp.y)
    assert np.allclose(gp.A.T @ gp.A, fresh.A.T @ fresh.A, rtol=0, atol=1e-8 * np.abs(fresh.A.T @ fresh.A).max())
    assert np.allclose(gp.alpha, fresh.alpha, rtol=0, atol=1e-8 * np.abs(fresh.alpha).max())
    Xs = np.vstack([rng.random((20, 3)), gp.X[:5] + 1e-3])
    for a, b in zip(gp.predict(Xs, return_grad=True), fresh.predict(Xs, return_grad=True)):
        assert np.allclose(a, b, rtol=1e-8, atol=1e-8)


def test_updated_gp_keeps_the_original_and_matches_the_points_kept_and_added():
    rng = np.random.default_rng(8)
    theta = np.r_[np.log([0.3, 0.5]), 0.0, math.log(1e-4)]
    X = rng.random((12, 2))
    gp = _conditioned(theta, X, X[:, 0])
    Xn = rng.random((3, 2))
    keep = np.array([0, 2, 3, 7, 11])
    new = gp.updated(keep, Xn, np.r_[X[keep, 0], Xn[:, 0]])
    assert np.array_equal(new.X, np.vstack([X[keep], Xn]))
    assert np.array_equal(gp.X, X) and gp.A.shape == (12, 12)     # the original GP is left as it was
    mu, _ = new.predict(new.X)
    assert np.allclose(mu, new.y, atol=1e-3)
