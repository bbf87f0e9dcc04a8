"""SGD(line_search='armijo' | 'strong_wolfe'): full-batch gradient descent θ ← θ − α∇L with α from a line search."""
import numpy as np
import pytest

import lamina
import lamina.optim as lo
from lamina import io

C1, C2 = 1e-4, 0.9


def _quadratic(seed, n=8, eigs=(1.0, 10.0)):
    """f = ½xᵀAx − bᵀx with eigenvalues of A spread over ``eigs``; returns A, b, x* = A⁻¹b."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    A = Q @ np.diag(np.linspace(*eigs, n)) @ Q.T
    b = rng.normal(size=n)
    return A, b, np.linalg.solve(A, b)


def _quad_closure(x, opt, A, b):
    At, bt = lamina.tensor(A), lamina.tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (At @ x)) - (bt * x).sum()
        loss.backward()
        return loss
    return closure


def _run(A, b, steps, tol=None, **kw):
    """The iterates of ``steps`` SGD steps on the quadratic (stopping early once ‖x − x*‖ ≤ tol)."""
    x = lamina.tensor(np.zeros(len(b)), requires_grad=True)
    opt = lo.SGD([x], **kw)
    closure = _quad_closure(x, opt, A, b)
    xs = [x.numpy().copy()]
    x_star = np.linalg.solve(A, b)
    for _ in range(steps):
        opt.step(closure)
        xs.append(x.numpy().copy())
        if tol is not None and np.linalg.norm(xs[-1] - x_star) <= tol:
            break
    return np.array(xs)


def _steps_along_minus_gradient(xs, grad):
    """α_k with x_{k+1} = x_k − α_k ∇f(x_k), checked to be a step along −∇f."""
    alphas = []
    for x0, x1 in zip(xs[:-1], xs[1:]):
        g = grad(x0)
        alpha = -((x1 - x0) @ g) / (g @ g)
        np.testing.assert_allclose(x1, x0 - alpha * g, rtol=1e-12, atol=1e-14)
        alphas.append(alpha)
    return np.array(alphas)


def test_armijo_steps_decrease_enough_and_beat_the_best_fixed_lr():
    A, b, x_star = _quadratic(0)
    f = lambda x: 0.5 * x @ A @ x - b @ x   # noqa: E731
    grad = lambda x: A @ x - b              # noqa: E731
    xs = _run(A, b, 300, tol=1e-6, lr=1.0, line_search="armijo")
    alphas = _steps_along_minus_gradient(xs, grad)
    for x0, x1, a in zip(xs[:-1], xs[1:], alphas):
        g = grad(x0)
        assert f(x1) <= f(x0) - C1 * a * (g @ g)                      # sufficient decrease
        k = np.log2(1.0 / a)
        assert abs(k - round(k)) < 1e-9                               # α = lr·2⁻ᵏ: backtracking from lr = 1
        if a < 1.0:                                                   # and the first one accepted: 2α failed
            assert f(x0 - 2 * a * g) > f(x0) - C1 * 2 * a * (g @ g)
    assert np.linalg.norm(xs[-1] - x_star) <= 1e-6
    # fixed steps chosen knowing the Hessian (μ = 1, L = 10) need more: 1/L (135 steps here) and even the
    # best constant step for steepest descent on a quadratic, 2/(L + μ) (71 steps; Armijo takes 54)
    fixed = _run(A, b, 300, tol=1e-6, lr=1.0 / 10.0)
    best_fixed = _run(A, b, 300, tol=1e-6, lr=2.0 / 11.0)
    assert np.linalg.norm(fixed[-1] - x_star) <= 1e-6 and np.linalg.norm(best_fixed[-1] - x_star) <= 1e-6
    assert len(xs) < 0.6 * len(fixed) and len(xs) < len(best_fixed), (len(xs), len(fixed), len(best_fixed))


@pytest.mark.parametrize("lr", [1.0, 1e-3], ids=["overshoot-then-zoom", "short-then-extrapolate"])
def test_strong_wolfe_steps_satisfy_both_conditions(lr):
    A, b, x_star = _quadratic(1)
    f = lambda x: 0.5 * x @ A @ x - b @ x   # noqa: E731
    grad = lambda x: A @ x - b              # noqa: E731
    xs = _run(A, b, 200, tol=1e-6, lr=lr, line_search="strong_wolfe")
    alphas = _steps_along_minus_gradient(xs, grad)
    assert (alphas != lr).any()            # the search did move away from the trial step
    for x0, x1, a in zip(xs[:-1], xs[1:], alphas):
        g0, d = grad(x0), -grad(x0)
        assert f(x1) <= f(x0) + C1 * a * (g0 @ d)
        assert abs(grad(x1) @ d) <= C2 * abs(g0 @ d)
    assert np.linalg.norm(xs[-1] - x_star) <= 1e-6


def _least_squares(seed, n=120, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(1.0, 2.0, d)
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("line_search", ["armijo", "strong_wolfe"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
def test_least_squares_reaches_the_closed_form_solution(line_search, weight_decay):
    """min ‖Xw + c − y‖²/(2n) (+ (wd/2)(‖w‖² + c²)) over a weight and a bias tensor: the normal equations'
    solution."""
    X, y = _least_squares(2)
    n, d = X.shape
    w = lamina.tensor(np.zeros((d, 1)), requires_grad=True)
    c = lamina.tensor(np.zeros(1), requires_grad=True)
    opt = lo.SGD([w, c], lr=1.0, weight_decay=weight_decay, line_search=line_search)
    Xt, yt = lamina.tensor(X), lamina.tensor(y[:, None])

    def closure():
        opt.zero_grad()
        r = Xt @ w + c - yt
        loss = (r * r).sum() / (2 * n)
        loss.backward()
        return loss

    Z = np.hstack([X, np.ones((n, 1))])
    exact = np.linalg.solve(Z.T @ Z / n + weight_decay * np.eye(d + 1), Z.T @ y / n)
    phi = []   # the objective the search descends: L + (wd/2)‖θ‖², never increasing
    for _ in range(200):
        theta = np.concatenate([w.numpy().ravel(), c.numpy()])
        if np.abs(theta - exact).max() <= 1e-8:
            break
        phi.append(float(opt.step(closure)) + 0.5 * weight_decay * theta @ theta)
    np.testing.assert_allclose(np.concatenate([w.numpy().ravel(), c.numpy()]), exact, atol=1e-8)
    assert all(b <= a for a, b in zip(phi, phi[1:]))


def test_maximize_is_descent_on_the_negated_loss():
    A, b, _ = _quadratic(3)
    down = _run(A, b, 15, lr=1.0, line_search="armijo")
    x = lamina.tensor(np.zeros(len(b)), requires_grad=True)
    opt = lo.SGD([x], lr=1.0, line_search="armijo", maximize=True)
    At, bt = lamina.tensor(A), lamina.tensor(b)

    def closure():
        opt.zero_grad()
        loss = (bt * x).sum() - 0.5 * (x @ (At @ x))
        loss.backward()
        return loss

    for k in range(15):
        opt.step(closure)
        np.testing.assert_allclose(x.numpy(), down[k + 1], rtol=1e-12, atol=1e-14)


def test_float32_parameters_stay_float32():
    A, b, x_star = _quadratic(4, eigs=(1.0, 4.0))
    x_star = np.linalg.solve(A.astype(np.float32).astype(np.float64), b.astype(np.float32))
    x = lamina.tensor(np.zeros(len(b), dtype=np.float32), requires_grad=True)
    opt = lo.SGD([x], lr=1.0, line_search="strong_wolfe")
    closure = _quad_closure(x, opt, A.astype(np.float32), b.astype(np.float32))
    for _ in range(40):
        opt.step(closure)
    assert x.dtype == np.float32
    # float32 f resolves ½λ|Δx|² only down to ~eps·|f|: |Δx| ≈ (2·6e-8·|f|/λ)^½ ≈ 3e-4
    np.testing.assert_allclose(x.numpy(), x_star, atol=1e-3)


def test_step_returns_the_loss_at_the_start_and_stops_at_a_stationary_point():
    A, b, x_star = _quadratic(5)
    x = lamina.tensor(x_star.copy(), requires_grad=True)
    opt = lo.SGD([x], lr=1.0, line_search="armijo")
    loss = opt.step(_quad_closure(x, opt, A, b))
    assert float(loss) == pytest.approx(-0.5 * b @ x_star, rel=1e-12)
    np.testing.assert_allclose(x.numpy(), x_star, atol=1e-12)


def test_the_option_is_stored_and_round_trips_through_state_dict(tmp_path):
    A, b, _ = _quadratic(6)
    ref = _run(A, b, 6, lr=0.5, line_search="strong_wolfe")
    x = lamina.tensor(np.zeros(len(b)), requires_grad=True)
    opt = lo.SGD([x], lr=0.5, line_search="strong_wolfe")
    for _ in range(3):
        opt.step(_quad_closure(x, opt, A, b))
    sd = opt.state_dict()
    assert sd["param_groups"][0]["line_search"] == "strong_wolfe" and sd["state"] == {}
    assert lo.SGD([x], lr=0.1).state_dict()["param_groups"][0]["line_search"] is None
    io.save({"opt": sd}, str(tmp_path / "sgd.safetensors"))
    x2 = lamina.tensor(x.numpy().copy(), requires_grad=True)
    opt2 = lo.SGD([x2], lr=0.1)                       # plain SGD until the state dict switches the search on
    opt2.load_state_dict(io.load(str(tmp_path / "sgd.safetensors"))["opt"])
    for k in range(3, 6):
        opt2.step(_quad_closure(x2, opt2, A, b))
        np.testing.assert_array_equal(x2.numpy(), ref[k + 1])


def test_errors():
    a = lamina.tensor(np.ones(2), requires_grad=True)
    b = lamina.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match=r"line_search='armijo'\).step\(closure\).*closure is required"):
        lo.SGD([a], lr=1.0, line_search="armijo").step()
    with pytest.raises(ValueError, match="momentum=0.9 is not supported"):
        lo.SGD([a], lr=1.0, momentum=0.9, line_search="strong_wolfe")
    with pytest.raises(ValueError, match="line_search must be None, 'armijo' or 'strong_wolfe', got 'wolfe'"):
        lo.SGD([a], lr=1.0, line_search="wolfe")
    with pytest.raises(ValueError, match="single parameter group, got 2"):
        lo.SGD([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0, line_search="armijo")
    with pytest.raises(ValueError, match="must be > 0"):
        lo.SGD([a], lr=0.0, line_search="armijo")
    opt = lo.SGD([a], lr=1.0, line_search="armijo")
    opt.param_groups[0]["momentum"] = 0.5            # changed after construction: caught at the step
    with pytest.raises(ValueError, match="momentum=0.5 is not supported"):
        opt.step(lambda: (a * a).sum())
