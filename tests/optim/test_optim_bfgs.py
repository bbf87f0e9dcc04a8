"""BFGS against scipy.optimize.minimize(method='BFGS').

What is compared, and why it is a real check:
* scipy and lamina use the same start, H0 = I, strong Wolfe with c1 = 1e-4, c2 = 0.9, the same
  objective (scipy's fun/jac call lamina's own loss, so both see the same numbers) and, with
  ``trial_step='quadratic'``, the same first trial step.  scipy's line search is MINPACK's More-Thuente
  (dcsrch), lamina's is the bracketing/zoom search of ``line_search.strong_wolfe``: when both accept the
  first trial step they return the same point, so the iterate sequences are equal (logistic regression:
  every iterate and the iteration count; a quadratic with c2 small, where both searches find the exact
  line minimiser).
* On Rosenbrock the two searches accept different points from iteration 2 on (both satisfy strong
  Wolfe), so there the check is: the first iterates are equal, both reach the minimiser (1, 1) to 1e-8,
  the iteration counts are close, every lamina step satisfies both strong Wolfe conditions, and lamina's
  update, replayed on scipy's own pairs (s, y), gives scipy's hess_inv and scipy's search directions.
"""
import numpy as np
import pytest
from scipy import optimize as scipy_opt

import lamina
import lamina.optim as lo
from lamina import io
from lamina.nn import functional as F
from lamina.optim.bfgs import bfgs_update


def rosen(x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def _logistic_data(seed, n=200, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ w))).astype(np.float64)
    return X, y


def logistic_loss(X, y, params, lam=1e-2):
    """Mean binary cross-entropy of sigmoid(X w + b) plus (λ/2)‖w‖²; params = (w,) or (W, b)."""
    w = params[0].reshape(-1)
    z = lamina.tensor(X[:, : w.shape[0]]) @ w
    if len(params) > 1:
        z = z + params[1].reshape(-1)[0]
    return F.binary_cross_entropy_with_logits(z, lamina.tensor(y)) + 0.5 * lam * (w * w).sum()


def value_and_grad(loss_of, shapes):
    """f(x), ∇f(x) of a lamina loss of tensors of ``shapes`` at the flat float64 vector x (for scipy)."""
    sizes = [int(np.prod(s)) for s in shapes]

    def fg(x):
        parts, a = [], 0
        for s, n in zip(shapes, sizes):
            parts.append(lamina.tensor(x[a:a + n].reshape(s).copy(), requires_grad=True))
            a += n
        loss = loss_of(parts)
        loss.backward()
        return float(loss), np.concatenate([p.grad.numpy().reshape(-1) for p in parts])

    return fg


def scipy_iterates(fg, x0, **options):
    xs = [x0.copy()]
    res = scipy_opt.minimize(lambda x: fg(x)[0], x0, jac=lambda x: fg(x)[1], method="BFGS",
                             callback=lambda xk: xs.append(np.array(xk)), options=options)
    return np.array(xs), res


def lamina_iterates(loss_of, inits, dtype=np.float64, max_iter=200, **kw):
    """BFGS one iteration per step(closure) call, so every iterate, direction and step is seen."""
    params = [lamina.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in inits]
    opt = lo.BFGS(params, max_iter=1, max_eval=100, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_of(params)
        loss.backward()
        return loss

    xs = [np.concatenate([p.numpy().reshape(-1) for p in params])]
    steps = []
    for _ in range(max_iter):
        n_before = opt.state[params[0]].get("n_iter", 0)
        opt.step(closure)
        st = opt.state[params[0]]
        if st.get("n_iter", 0) == n_before or "s" not in st:   # converged: no move this call
            break
        xs.append(np.concatenate([p.numpy().reshape(-1) for p in params]))
        steps.append((st["d"].copy(), st["t"]))
    return np.array(xs), steps, opt, params


SCIPY_LIKE = dict(lr=1.0, line_search_fn="strong_wolfe", trial_step="quadratic", tolerance_change=0.0)


def test_logistic_regression_iterates_equal_scipy():
    X, y = _logistic_data(0)
    loss_of = lambda ps: logistic_loss(X, y, ps)  # noqa: E731
    x0 = np.zeros(X.shape[1])
    ref, res = scipy_iterates(value_and_grad(loss_of, [x0.shape]), x0, gtol=1e-8, norm=np.inf)
    ours, _, opt, params = lamina_iterates(loss_of, [x0], tolerance_grad=1e-8, **SCIPY_LIKE)
    assert res.success and res.nit >= 8
    assert ours.shape == ref.shape          # the same number of iterations
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(opt.state[params[0]]["H"], res.hess_inv, rtol=1e-6, atol=1e-9)


def test_several_tensors_are_one_flat_vector():
    """(W of shape (2, 3), b of shape (1,)) give the iterates of scipy on the concatenated 7-vector."""
    X, y = _logistic_data(1, d=6)
    shapes = [(2, 3), (1,)]
    loss_of = lambda ps: logistic_loss(X, y, ps)  # noqa: E731
    x0 = np.zeros(7)
    ref, res = scipy_iterates(value_and_grad(loss_of, shapes), x0, gtol=1e-8, norm=np.inf)
    ours, _, opt, params = lamina_iterates(loss_of, [np.zeros(s) for s in shapes], tolerance_grad=1e-8,
                                           **SCIPY_LIKE)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    assert [p.shape for p in params] == [(2, 3), (1,)]
    assert opt.state[params[0]]["H"].shape == (7, 7) and params[1] not in opt.state


def test_quadratic_exact_line_search_equals_scipy_and_recovers_the_inverse_hessian():
    """On f = ½xᵀAx - bᵀx with c2 small both line searches land on the exact line minimiser (cubic
    interpolation is exact for a quadratic): then BFGS is conjugate gradients, ends in n = 5
    iterations, and H_n = A⁻¹."""
    rng = np.random.default_rng(2)
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    A = Q @ np.diag([1.0, 2.0, 5.0, 10.0, 30.0]) @ Q.T
    b = rng.normal(size=5)
    loss_of = lambda ps: 0.5 * (ps[0] @ (lamina.tensor(A) @ ps[0])) - (lamina.tensor(b) * ps[0]).sum()  # noqa: E731
    x0 = np.zeros(5)
    ref, res = scipy_iterates(value_and_grad(loss_of, [(5,)]), x0, gtol=1e-9, norm=np.inf, c1=1e-8, c2=1e-6)
    ours, _, opt, params = lamina_iterates(loss_of, [x0], tolerance_grad=1e-9, c1=1e-8, c2=1e-6,
                                           **{k: v for k, v in SCIPY_LIKE.items()})
    assert len(ours) - 1 == len(ref) - 1 == 5
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(params[0].numpy(), np.linalg.solve(A, b), atol=1e-10)
    # H after n conjugate steps is A⁻¹ (the update consumed at the next step call)
    H = opt.state[params[0]]["H"].copy()
    st = opt.state[params[0]]
    bfgs_update(H, st["s"], (A @ ours[-1] - b) - st["prev_flat_grad"])
    np.testing.assert_allclose(H, np.linalg.inv(A), rtol=1e-6, atol=1e-8)


def test_rosenbrock_same_minimiser_as_scipy_with_strong_wolfe_steps():
    x0 = np.array([-1.2, 1.0])
    fg = value_and_grad(lambda ps: rosen(ps[0]), [(2,)])
    ref, res = scipy_iterates(fg, x0, gtol=1e-9, norm=np.inf)
    ours, steps, _, _ = lamina_iterates(lambda ps: rosen(ps[0]), [x0], tolerance_grad=1e-9, **SCIPY_LIKE)
    np.testing.assert_allclose(ours[:2], ref[:2], rtol=1e-12)   # same first trial and accepted point
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)
    np.testing.assert_allclose(ours[-1], [1.0, 1.0], atol=1e-8)
    assert abs((len(ours) - 1) - res.nit) <= 6, (len(ours) - 1, res.nit)
    for k, (d, t) in enumerate(steps):
        f0, g0 = fg(ours[k])
        f1, g1 = fg(ours[k + 1])
        np.testing.assert_allclose(ours[k + 1], ours[k] + t * d, rtol=1e-14, atol=1e-15)
        assert f1 <= f0 + 1e-4 * t * (g0 @ d), k                      # sufficient decrease
        assert abs(g1 @ d) <= 0.9 * abs(g0 @ d), k                    # strong curvature condition


def test_update_replayed_on_scipys_pairs_gives_scipys_hess_inv_and_directions():
    """Independent of the line search: feed scipy's own s_k, y_k to ``bfgs_update``; scipy's every step
    must be along our -H_k g_k and its final hess_inv must be our H."""
    x0 = np.array([-1.2, 1.0])
    fg = value_and_grad(lambda ps: rosen(ps[0]), [(2,)])
    ref, res = scipy_iterates(fg, x0, gtol=1e-6, norm=np.inf)
    H = np.eye(2)
    for k in range(len(ref) - 1):
        g = fg(ref[k])[1]
        s = ref[k + 1] - ref[k]
        d = -H @ g
        cos = (s @ d) / (np.linalg.norm(s) * np.linalg.norm(d))
        assert cos > 1 - 1e-10, (k, cos)
        if k < len(ref) - 2:           # scipy stops on the gradient test before its last update
            assert bfgs_update(H, s, fg(ref[k + 1])[1] - g)
    assert len(ref) > 20
    np.testing.assert_allclose(H, res.hess_inv, rtol=1e-7, atol=1e-10)


def test_bfgs_update_formula_secant_and_skip():
    rng = np.random.default_rng(3)
    M = rng.normal(size=(6, 6))
    H = M @ M.T + np.eye(6)
    s, y = rng.normal(size=6), rng.normal(size=6)
    if s @ y < 0:
        y = -y
    rho = 1 / (y @ s)
    eye = np.eye(6)
    expected = (eye - rho * np.outer(s, y)) @ H @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)
    H1 = H.copy()
    assert bfgs_update(H1, s, y)
    np.testing.assert_allclose(H1, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H1 @ y, s, rtol=1e-10)      # the secant equation H₊y = s
    assert np.array_equal(H1, H1.T) and np.linalg.eigvalsh(H1).min() > 0
    H2 = H.copy()
    assert not bfgs_update(H2, s, -y)                      # yᵀs < 0: skipped, H kept
    assert np.array_equal(H2, H)


@pytest.mark.parametrize("line_search_fn", [None, "backtracking", "strong_wolfe"])
def test_float32_stays_float32_and_reaches_the_float64_minimiser(line_search_fn):
    X, y = _logistic_data(4)
    x0 = np.zeros(X.shape[1])
    ref, _ = scipy_iterates(value_and_grad(lambda ps: logistic_loss(X, y, ps), [x0.shape]), x0, gtol=1e-10)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    w = lamina.tensor(np.zeros(X.shape[1], dtype=np.float32), requires_grad=True)
    opt = lo.BFGS([w], max_iter=100, tolerance_grad=1e-5, line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = logistic_loss(X32, y32, [w])
        loss.backward()
        return loss

    opt.step(closure)
    assert w.dtype == np.float32 and opt.state[w]["H"].dtype == np.float32
    np.testing.assert_allclose(w.numpy(), ref[-1], atol=1e-3)   # float32 gradients: |Δw| ≈ 1e-5 / λ_min(∇²f)


def test_fixed_step_converges_on_a_quadratic():
    """Without a line search t = lr (the first step min(1, 1/‖g‖₁)·lr): on a well-scaled quadratic the
    quasi-Newton steps still converge, faster than gradient descent would at the same lr."""
    rng = np.random.default_rng(5)
    A = np.diag([0.5, 1.0, 1.5])
    b = rng.normal(size=3)
    x = lamina.tensor(np.zeros(3), requires_grad=True)
    opt = lo.BFGS([x], lr=1.0, max_iter=30, tolerance_grad=1e-10, tolerance_change=0.0)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (lamina.tensor(A) @ x)) - (lamina.tensor(b) * x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(A, b), atol=1e-8)
    assert opt.state[x]["n_iter"] < 30


def _rosen_closure(x, opt):
    def closure():
        opt.zero_grad()
        loss = rosen(x)
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("trial_step", ["lr", "quadratic"])
def test_state_dict_round_trips_exactly_through_a_file(tmp_path, trial_step):
    init = np.array([-1.2, 1.0, -0.5, 0.7])
    x = lamina.tensor(init.copy(), requires_grad=True)
    opt = lo.BFGS([x], max_iter=3, line_search_fn="strong_wolfe", trial_step=trial_step)
    for _ in range(2):
        opt.step(_rosen_closure(x, opt))
    sd = opt.state_dict()
    assert sd["state"][0]["H"].shape == (4, 4) and sd["param_groups"][0]["trial_step"] == trial_step
    io.save({"opt": sd, "x": x.detach()}, str(tmp_path / "bfgs.safetensors"))
    back = io.load(str(tmp_path / "bfgs.safetensors"))
    x2 = lamina.tensor(np.array(back["x"].numpy()), requires_grad=True)
    opt2 = lo.BFGS([x2])
    opt2.load_state_dict(back["opt"])
    sd2 = opt2.state_dict()
    assert sd2["param_groups"] == sd["param_groups"]
    assert sd2["state"][0].keys() == sd["state"][0].keys()
    for k, v in sd["state"][0].items():
        if isinstance(v, np.ndarray):
            assert sd2["state"][0][k].dtype == v.dtype and np.array_equal(sd2["state"][0][k], v), k
        else:
            assert type(sd2["state"][0][k]) is type(v) and sd2["state"][0][k] == v, k
    for _ in range(3):
        opt.step(_rosen_closure(x, opt))
        opt2.step(_rosen_closure(x2, opt2))
        np.testing.assert_array_equal(x.numpy(), x2.numpy())
    assert opt.state[x]["n_iter"] == opt2.state[x2]["n_iter"]


def test_errors():
    a = lamina.tensor(np.ones(2), requires_grad=True)
    b = lamina.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        lo.BFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(TypeError, match="closure"):
        lo.BFGS([a]).step()
    with pytest.raises(ValueError, match="line_search_fn"):
        lo.BFGS([a], line_search_fn="armijo")
    with pytest.raises(ValueError, match="trial_step"):
        lo.BFGS([a], trial_step="newton")
    with pytest.raises(ValueError, match="c1=0.9, c2=0.1"):
        lo.BFGS([a], c1=0.9, c2=0.1)
    a.data = lamina.tensor(np.array([-1.2, 1.0]))
    opt = lo.BFGS([a, b], line_search_fn="strong_wolfe")
    opt.step(_rosen_closure_pair(a, b, opt))
    sd = opt.state_dict()
    c = lamina.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="state 'H' has shape"):
        lo.BFGS([c, lamina.tensor(np.ones(3), requires_grad=True)]).load_state_dict(sd)


def _rosen_closure_pair(a, b, opt):
    def closure():
        opt.zero_grad()
        loss = rosen(a) + rosen(b)
        loss.backward()
        return loss
    return closure
