"""LinearRegression (closed form, ridge, recursive least squares), LogisticRegression, L1/L2 penalties
and online learning."""
import numpy as np
import pytest
from sklearn import linear_model as sk

import lamina
import lamina.optim as lo
from lamina.models import LinearRegression, LogisticRegression
from lamina.nn.regularization import l1, l2
from lamina.online import OnlineTrainer, stream


def _well_posed(n=50, d=4, k=None, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((d,) if k is None else (d, k))
    return x, x @ w + 0.7 + 0.01 * rng.standard_normal((n,) if k is None else (n, k))


def _rank_deficient(n=30, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 3))
    x = np.column_stack([base, base[:, 0] + base[:, 1], 2 * base[:, 2]])     # rank 3 of 5 columns
    return x, rng.standard_normal(n)


# ---------------------------------------------------------------------------- linear regression
def test_well_posed_equals_lstsq_with_a_column_of_ones():
    x, y = _well_posed()
    m = LinearRegression().fit(x, y)
    ref = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)[0]
    np.testing.assert_allclose(m.coef_, ref[:-1], rtol=1e-10)
    np.testing.assert_allclose(m.intercept_, ref[-1], rtol=1e-10)
    np.testing.assert_allclose(m.predict(x), np.column_stack([x, np.ones(len(x))]) @ ref, rtol=1e-10)
    assert m.score(x, y) > 0.999


def test_rank_deficient_equals_lstsq_minimum_norm():
    x, y = _rank_deficient()
    m = LinearRegression(fit_intercept=False).fit(x, y)
    ref = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(m.coef_, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.coef_, np.linalg.pinv(x) @ y, rtol=1e-8, atol=1e-12)
    # with an intercept: minimum-norm on the centred data (scikit-learn's convention)
    mi = LinearRegression().fit(x, y)
    xc, yc = x - x.mean(0), y - y.mean()
    np.testing.assert_allclose(mi.coef_, np.linalg.lstsq(xc, yc, rcond=None)[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mi.coef_, sk.LinearRegression().fit(x, y).coef_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("solver", ["svd", "cholesky"])
@pytest.mark.parametrize("problem", ["well_posed", "rank_deficient"])
def test_ridge_equals_the_closed_form(solver, problem):
    x, y = _well_posed() if problem == "well_posed" else _rank_deficient()
    alpha = 0.3
    m = LinearRegression(fit_intercept=False, ridge=alpha, solver=solver).fit(x, y)
    ref = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ y)
    np.testing.assert_allclose(m.coef_, ref, rtol=1e-9)
    mi = LinearRegression(ridge=alpha, solver=solver).fit(x, y)     # intercept not penalised
    xc, yc = x - x.mean(0), y - y.mean()
    ref_i = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    np.testing.assert_allclose(mi.coef_, ref_i, rtol=1e-9)
    np.testing.assert_allclose(mi.intercept_, y.mean() - x.mean(0) @ ref_i, rtol=1e-9)


def test_multi_output_and_tensor_inputs():
    x, y = _well_posed(k=2)
    m = LinearRegression().fit(lamina.tensor(x), lamina.tensor(y))
    assert m.coef_.shape == (2, 4) and m.intercept_.shape == (2,)
    ref = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)[0]
    np.testing.assert_allclose(m.coef_, ref[:-1].T, rtol=1e-10)
    assert m.predict(x).shape == (50, 2)


def test_recursive_least_squares_equals_the_batch_ridge_solution():
    x, y = _well_posed(n=80)
    m = LinearRegression(ridge=0.5)
    for xi, yi in stream(x, y):                 # one (x, y) pair at a time
        m.partial_fit(xi, yi)
    a = np.column_stack([x, np.ones(len(x))])
    ref = np.linalg.solve(a.T @ a + 0.5 * np.eye(5), a.T @ y)
    np.testing.assert_allclose(np.append(m.coef_, m.intercept_), ref, rtol=1e-8)
    # batches through Woodbury give the same
    mb = LinearRegression(ridge=0.5)
    for i in range(0, 80, 16):
        mb.partial_fit(x[i:i + 16], y[i:i + 16])
    np.testing.assert_allclose(mb.coef_, m.coef_, rtol=1e-9)


def test_rls_with_forgetting_tracks_a_drifting_relation():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 2))
    w_old, w_new = np.array([1.0, -1.0]), np.array([-2.0, 0.5])
    y = np.where(np.arange(400)[:, None] < 200, x @ w_old[:, None], x @ w_new[:, None])[:, 0]
    forget, keep = LinearRegression(forgetting=0.95), LinearRegression()
    for xi, yi in stream(x, y):
        forget.partial_fit(xi, yi)
        keep.partial_fit(xi, yi)
    np.testing.assert_allclose(forget.coef_, w_new, atol=1e-3)     # old rows weigh 0.95^200 ≈ 4e-5
    assert np.abs(keep.coef_ - w_new).max() > 0.5           # without forgetting it averages both regimes


def test_partial_fit_after_fit_keeps_learning():
    x, y = _well_posed(n=60)
    m = LinearRegression().fit(x[:40], y[:40])
    m.partial_fit(x[40:], y[40:])
    full = LinearRegression().fit(x, y)
    np.testing.assert_allclose(m.coef_, full.coef_, rtol=1e-5)


def test_linear_regression_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        LinearRegression().predict(np.ones((2, 2)))
    with pytest.raises(ValueError, match="rows but y has"):
        LinearRegression().fit(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="ridge"):
        LinearRegression(ridge=-1)
    m = LinearRegression().fit(*_well_posed())
    with pytest.raises(ValueError, match="features"):
        m.predict(np.ones((2, 3)))


# ---------------------------------------------------------------------------- logistic regression
def _blobs(n=400, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 2)) + np.where(y[:, None] == 1, 1.2, -1.2)
    return x, np.where(y == 1, "spam", "ham")


def test_logistic_regression_reaches_sklearn_accuracy():
    x, y = _blobs()
    xt, yt = _blobs(seed=2)
    m = LogisticRegression(lr=0.5, epochs=200).fit(x, y)
    ref = sk.LogisticRegression().fit(x, y)
    assert m.score(xt, yt) >= ref.score(xt, yt) - 0.01
    assert m.score(xt, yt) > 0.9
    assert list(m.classes_) == ["ham", "spam"]
    p = m.predict_proba(xt)
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert np.all(m.predict(xt) == np.where(p[:, 1] > 0.5, "spam", "ham"))
    assert m.loss_curve_[-1] < m.loss_curve_[0]


def test_logistic_regression_gradient_descent_reaches_the_optimum():
    """Full-batch GD on the convex BCE converges to the maximum-likelihood fit (with l2: λ/2·Σw²)."""
    x, y = _blobs(n=200)
    m = LogisticRegression(lr=1.0, epochs=3000, l2=0.01, tol=1e-14).fit(x, y)
    # sklearn minimises ½‖w‖² + C·Σ loss_i; ours mean(loss) + λ/2·‖w‖²: C = 1/(λn)
    ref = sk.LogisticRegression(C=1 / (0.01 * len(y)), tol=1e-12, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-4)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-3, atol=1e-4)


def test_multinomial_and_minibatch():
    rng = np.random.default_rng(3)
    centers = np.array([[0, 3], [3, -2], [-3, -2]])
    y = rng.integers(0, 3, 600)
    x = centers[y] + rng.standard_normal((600, 2))
    m = LogisticRegression(lr=0.1, epochs=20, batch_size=32, random_state=0).fit(x, y)
    assert m.coef_.shape == (3, 2) and m.predict_proba(x).shape == (600, 3)
    assert m.score(x, y) > 0.95
    again = LogisticRegression(lr=0.1, epochs=20, batch_size=32, random_state=0).fit(x, y)
    np.testing.assert_array_equal(again.coef_, m.coef_)          # seeded shuffling


def test_logistic_partial_fit_online():
    x, y = _blobs(n=1000)
    m = LogisticRegression(lr=0.1)
    for xi, yi in stream(x, y):
        m.partial_fit(xi, [yi], classes=["ham", "spam"])
    xt, yt = _blobs(seed=5)
    assert m.score(xt, yt) > 0.9
    with pytest.raises(ValueError, match="not among the classes"):
        m.partial_fit(x[:1], ["eggs"])


# ---------------------------------------------------------------------------- penalties
def test_l1_l2_values_and_gradients():
    a = lamina.tensor(np.array([1.0, -2.0]), requires_grad=True)
    b = lamina.tensor(np.array([[0.5, 0.0], [-1.5, 3.0]]), requires_grad=True)
    pen = l1([a, b], 0.1) + l2([a, b], 0.01)
    assert pen.item() == pytest.approx(0.1 * 8.0 + 0.01 / 2 * (5.0 + 11.5))
    pen.backward()
    np.testing.assert_allclose(a.grad.numpy(), 0.1 * np.sign(a.numpy()) + 0.01 * a.numpy())
    np.testing.assert_allclose(b.grad.numpy(), 0.1 * np.sign(b.numpy()) + 0.01 * b.numpy())


def test_l2_penalty_equals_sgd_weight_decay_of_lambda():
    rng = np.random.default_rng(2)
    init = rng.standard_normal(5)
    target = lamina.tensor(rng.standard_normal(5))
    w1 = lamina.tensor(init.copy(), requires_grad=True)
    w2 = lamina.tensor(init.copy(), requires_grad=True)
    o1, o2 = lo.SGD([w1], lr=0.1), lo.SGD([w2], lr=0.1, weight_decay=0.05)
    for _ in range(10):
        for w, o, pen in ((w1, o1, True), (w2, o2, False)):
            o.zero_grad()
            loss = ((w - target) ** 2).sum()
            (loss + l2([w], 0.05) if pen else loss).backward()
            o.step()
    np.testing.assert_allclose(w1.numpy(), w2.numpy(), rtol=1e-12)


def test_penalties_accept_modules_and_check_inputs():
    class Model:
        def __init__(self):
            self.w = lamina.tensor(np.array([3.0]), requires_grad=True)

        def parameters(self):
            return iter([self.w])

    assert l2(Model(), 2.0).item() == 9.0  # λ/2·θ² = 2/2·3²
    with pytest.raises(ValueError, match="λ"):
        l1([lamina.tensor(np.ones(1))], -1.0)
    with pytest.raises(TypeError, match="expected a Tensor"):
        l2([np.ones(2)])


# ---------------------------------------------------------------------------- online trainer
def test_online_trainer_learns_from_a_stream_of_pairs():
    rng = np.random.default_rng(1)
    w_true = np.array([[2.0], [-1.0], [0.5]])
    x = rng.standard_normal((3000, 3))
    y = x @ w_true + 0.3
    w = lamina.tensor(np.zeros((3, 1)), requires_grad=True)
    b = lamina.tensor(np.zeros(1), requires_grad=True)
    model = lambda t: t @ w + b                                    # noqa: E731  any callable works
    mse = lambda out, target: ((out - target) ** 2).mean()         # noqa: E731
    trainer = OnlineTrainer(model, mse, lo.SGD([w, b], lr=0.05), window=50)
    first = None

    def watch(t):
        nonlocal first
        if t.steps == 50:
            first = t.running_loss

    trainer.fit_stream(stream(x, y), callback=watch)
    assert trainer.steps == 3000
    np.testing.assert_allclose(w.numpy(), w_true, atol=1e-3)
    assert trainer.running_loss < 1e-6 < first
    # mini-batches of 10 pairs, stopping early
    trainer2 = OnlineTrainer(model, mse, lo.SGD([w, b], lr=0.05))
    trainer2.fit_stream(stream(x, y), batch_size=10, max_steps=7)
    assert trainer2.steps == 7


def test_online_trainer_errors():
    w = lamina.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(TypeError, match="callable"):
        OnlineTrainer(3, None, lo.SGD([w]))
    trainer = OnlineTrainer(lambda t: t * w, lambda o, t: o - t, lo.SGD([w]))
    with pytest.raises(RuntimeError, match="scalar"):
        trainer.partial_fit(np.ones(2), np.ones(2))
