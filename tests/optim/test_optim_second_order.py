"""Newton, Gauss-Newton and Levenberg-Marquardt."""
import numpy as np
import pytest
from scipy import optimize as scipy_opt
from sklearn import linear_model as sk

import lamina
import lamina.optim as lo
from lamina import nn
from lamina.ops.activations import softplus


def test_newton_solves_a_convex_quadratic_in_one_step():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((5, 5))
    a = a @ a.T + np.eye(5)
    b = rng.standard_normal(5)
    x = lamina.tensor(np.zeros(3), requires_grad=True)
    y = lamina.tensor(np.zeros((2, 1)), requires_grad=True)      # shapes differ: θ is flattened
    at, bt = lamina.tensor(a), lamina.tensor(b)
    opt = lo.Newton([x, y])

    def closure():
        z = lamina.cat([x, y.reshape(-1)])
        return 0.5 * (z @ (at @ z)) - bt @ z

    loss = opt.step(closure)
    assert float(loss.item()) == 0.0
    np.testing.assert_allclose(np.concatenate([x.numpy(), y.numpy().ravel()]), np.linalg.solve(a, b), atol=1e-12)


def _logistic_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    p = 1 / (1 + np.exp(-(x @ np.array([1.5, -2.0, 0.5]) + 0.3)))
    return x, (rng.random(n) < p).astype(np.float64)


def test_newton_fits_logistic_regression_in_under_10_steps():
    xn, yn = _logistic_data()
    x, y = lamina.tensor(xn), lamina.tensor(yn)
    w = lamina.tensor(np.zeros(3), requires_grad=True)
    c = lamina.tensor(np.zeros(()), requires_grad=True)
    opt = lo.Newton([w, c])

    def nll():
        z = x @ w + c
        return (softplus(z) - y * z).mean()

    losses = [float(opt.step(nll).item()) for _ in range(8)]
    g = lamina.func.grad(lambda t: ((softplus(x @ t[:3] + t[3]) - y * (x @ t[:3] + t[3])).mean()))(
        lamina.tensor(np.append(w.numpy(), c.numpy())))
    assert np.abs(g.numpy()).max() < 1e-10            # converged: the gradient vanished
    assert all(b <= a + 1e-15 for a, b in zip(losses, losses[1:]))
    ref = sk.LogisticRegression(C=1e12, tol=1e-12, max_iter=10_000).fit(xn, yn)
    np.testing.assert_allclose(w.numpy(), ref.coef_[0], rtol=1e-5)


def test_newton_damping_keeps_steps_downhill_at_a_saddle():
    x = lamina.tensor(np.array([0.5, 0.1]), requires_grad=True)
    opt = lo.Newton([x])
    f = lambda: x[0] ** 2 - x[1] ** 2 + x[1] ** 4           # noqa: E731  saddle at 0, minima at x1 = ±1/√2
    before = float(f().item())
    for _ in range(20):
        opt.step(f)
    assert float(f().item()) < before
    np.testing.assert_allclose(np.abs(x.numpy()), [0.0, 1 / np.sqrt(2)], atol=1e-8)
    assert opt.state[x]["damping_used"] == 0.0   # near the minimum the plain Newton step is used


def _curve(seed=0):
    rng = np.random.default_rng(seed)
    xs = np.linspace(0, 2, 40)
    return xs, 2.5 * np.exp(-1.3 * xs) + 0.01 * rng.standard_normal(40)


def _reference_fit(xs, ys):
    return scipy_opt.curve_fit(lambda t, a, b: a * np.exp(b * t), xs, ys, p0=[1.0, 0.0])[0]


@pytest.mark.parametrize("scaling", ["marquardt", "levenberg"])
def test_levenberg_marquardt_fits_an_exponential(scaling):
    xs, ys = _curve()
    a = lamina.tensor(np.array(1.0), requires_grad=True)
    b = lamina.tensor(np.array(0.0), requires_grad=True)
    xt, yt = lamina.tensor(xs), lamina.tensor(ys)
    opt = lo.LevenbergMarquardt([a, b], scaling=scaling)
    costs = [float(opt.step(lambda: a * lamina.exp(b * xt) - yt).item()) for _ in range(30)]
    assert all(c2 <= c1 for c1, c2 in zip(costs, costs[1:]))
    np.testing.assert_allclose([a.item(), b.item()], _reference_fit(xs, ys), rtol=1e-7)
    sd = opt.state_dict()
    assert sd["state"][0]["lambda"] > 0 and np.isfinite(sd["state"][0]["lambda"])


def test_levenberg_marquardt_from_far_away_where_gauss_newton_alone_struggles():
    xs, ys = _curve()
    a = lamina.tensor(np.array(10.0), requires_grad=True)
    b = lamina.tensor(np.array(2.0), requires_grad=True)
    xt, yt = lamina.tensor(xs), lamina.tensor(ys)
    opt = lo.LevenbergMarquardt([a, b])
    for _ in range(100):
        opt.step(lambda: a * lamina.exp(b * xt) - yt)
    np.testing.assert_allclose([a.item(), b.item()], _reference_fit(xs, ys), rtol=1e-6)


@pytest.mark.parametrize("jacobian", ["forward", "reverse"])
def test_gauss_newton_fits_an_exponential(jacobian):
    xs, ys = _curve()
    p = lamina.tensor(np.array([1.0, 0.0]), requires_grad=True)
    xt, yt = lamina.tensor(xs), lamina.tensor(ys)
    opt = lo.GaussNewton([p], jacobian=jacobian, damping=1e-9)
    for _ in range(15):
        opt.step(lambda: p[0] * lamina.exp(p[1] * xt) - yt)
    np.testing.assert_allclose(p.numpy(), _reference_fit(xs, ys), rtol=1e-7)


def test_gauss_newton_on_a_linear_residual_is_least_squares_in_one_step():
    rng = np.random.default_rng(2)
    a, y = rng.standard_normal((20, 4)), rng.standard_normal(20)
    w = lamina.tensor(np.zeros(4), requires_grad=True)
    at, yt = lamina.tensor(a), lamina.tensor(y)
    lo.GaussNewton([w]).step(lambda: at @ w - yt)
    np.testing.assert_allclose(w.numpy(), np.linalg.lstsq(a, y, rcond=None)[0], atol=1e-12)


def test_second_order_closures_must_not_call_backward():
    w = lamina.tensor(np.ones(2), requires_grad=True)

    def closure():
        loss = (w * w).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="without calling backward"):
        lo.Newton([w]).step(closure)
    with pytest.raises(TypeError, match="closure"):
        lo.GaussNewton([w]).step()
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0])   # parameters given back untouched
    assert w.is_leaf and w.requires_grad


def test_second_order_on_a_float32_module():
    rng = np.random.default_rng(1)
    x = lamina.tensor(rng.standard_normal((50, 3)).astype(np.float32))
    y = x @ lamina.tensor(np.array([[1.0], [2.0], [3.0]], dtype=np.float32)) + 0.5
    for make in (lambda m: lo.Newton(m.parameters()), lambda m: lo.LevenbergMarquardt(m.parameters()),
                 lambda m: lo.GaussNewton(m.parameters())):
        model = nn.Linear(3, 1)
        opt = make(model)
        residual = isinstance(opt, (lo.GaussNewton, lo.LevenbergMarquardt))
        closure = (lambda m=model: m(x) - y) if residual else (lambda m=model: ((m(x) - y) ** 2).mean())
        for _ in range(3):
            opt.step(closure)
        assert model.weight.dtype == np.float32 and model.weight.is_leaf and model.weight.requires_grad
        np.testing.assert_allclose(model.weight.numpy(), [[1.0, 2.0, 3.0]], atol=1e-4)
        np.testing.assert_allclose(model.bias.numpy(), [0.5], atol=1e-4)
