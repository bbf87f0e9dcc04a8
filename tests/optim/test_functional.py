"""optim.functional: the SGD and Adam rules on tensors (graph) agree with the in-place rules on arrays and
with the optimizers, the graph carries derivatives with respect to the hyperparameters, and the
L-BFGS two-loop recursion is the BFGS inverse-Hessian product."""
import numpy as np
import pytest

import lamina
import lamina.optim as lo
from lamina.autograd.engine import grad
from lamina.optim import functional as F
from lamina.optim.lbfgs import two_loop

SGD_CASES = [dict(momentum=0.9), dict(momentum=0.9, nesterov=True, weight_decay=0.1),
             dict(momentum=0.5, dampening=0.3, maximize=True), dict(weight_decay=0.2, decoupled_weight_decay=0.05)]
ADAM_CASES = [dict(), dict(weight_decay=0.1), dict(decoupled_weight_decay=0.1, maximize=True)]


def _problem(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 4)), [rng.normal(size=(3, 4)) for _ in range(4)]


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_on_tensors_equals_sgd_in_place(kw):
    theta0, grads = _problem(0)
    arr, bufs = [theta0.copy()], [None]
    ten, tbufs = [lamina.tensor(theta0.copy())], [None]
    for g in grads:
        F.sgd_(arr, [g], bufs, lr=0.1, **kw)
        ten, tbufs = F.sgd(ten, [lamina.tensor(g)], tbufs, lr=0.1, **kw)
    np.testing.assert_allclose(ten[0].numpy(), arr[0], rtol=1e-14, atol=1e-15)
    if kw.get("momentum"):
        np.testing.assert_allclose(tbufs[0].numpy(), bufs[0], rtol=1e-14, atol=1e-15)
    else:
        assert bufs == [None] and tbufs == [None]


@pytest.mark.parametrize("kw", SGD_CASES[:3])
def test_sgd_in_place_is_the_sgd_optimizer(kw):
    theta0, grads = _problem(1)
    arr, bufs = [theta0.copy()], [None]
    p = lamina.tensor(theta0.copy(), requires_grad=True)
    opt = lo.SGD([p], lr=0.05, **kw)
    for g in grads:
        F.sgd_(arr, [g], bufs, lr=0.05, **kw)
        p.grad = lamina.tensor(g)
        opt.step()
    np.testing.assert_array_equal(p.numpy(), arr[0])


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("kw", ADAM_CASES)
def test_adam_on_tensors_equals_adam_in_place_and_the_optimizer(kw, amsgrad):
    theta0, grads = _problem(2)
    betas = dict(beta1=0.8, beta2=0.95, eps=1e-8)
    arr, m, v = [theta0.copy()], [np.zeros_like(theta0)], [np.zeros_like(theta0)]
    vmax = [np.zeros_like(theta0)] if amsgrad else None
    ten, tm, tv, tvmax = [lamina.tensor(theta0.copy())], [None], [None], ([None] if amsgrad else None)
    p = lamina.tensor(theta0.copy(), requires_grad=True)
    decoupled = kw.get("decoupled_weight_decay", 0.0)
    opt = lo.Adam([p], lr=0.01, betas=(0.8, 0.95), eps=1e-8, amsgrad=amsgrad, maximize=kw.get("maximize", False),
                  weight_decay=decoupled or kw.get("weight_decay", 0.0), decoupled_weight_decay=bool(decoupled))
    for t, g in enumerate(grads, start=1):
        F.adam_(arr, [g], m, v, vmax, [t], lr=0.01, **betas, **kw)
        ten, tm, tv, tvmax = F.adam(ten, [lamina.tensor(g)], tm, tv, tvmax, [t], lr=0.01, **betas, **kw)
        p.grad = lamina.tensor(g)
        opt.step()
    np.testing.assert_allclose(ten[0].numpy(), arr[0], rtol=1e-13)
    np.testing.assert_allclose(tv[0].numpy(), v[0], rtol=1e-13)
    np.testing.assert_allclose(p.numpy(), arr[0], rtol=1e-12)   # the optimizer keeps scaled moments
    assert (tvmax is None) == (not amsgrad)


def test_directions_are_the_steps_taken():
    theta0, grads = _problem(3)
    for rule in ("sgd", "adam"):
        arr, u = [theta0.copy()], [np.empty_like(theta0)]
        before = arr[0].copy()
        if rule == "sgd":
            F.sgd_(arr, [grads[0]], [None], lr=0.3, momentum=0.9, directions=u)
        else:
            F.adam_(arr, [grads[0]], [np.zeros_like(theta0)], [np.zeros_like(theta0)], None, [1], lr=0.3,
                    beta1=0.9, beta2=0.999, eps=1e-8, directions=u)
        np.testing.assert_allclose(before - 0.3 * u[0], arr[0], rtol=1e-14, atol=1e-15)


def test_sgd_graph_gives_the_derivative_with_respect_to_lr_and_momentum():
    theta0, grads = _problem(4)

    def final(lr, momentum):
        theta, bufs = [lamina.tensor(theta0.copy())], [None]
        for g in grads:
            theta, bufs = F.sgd(theta, [lamina.tensor(g)], bufs, lr=lr, momentum=momentum)
        return (theta[0] * theta[0]).sum()

    with lamina.enable_grad():
        lr = lamina.tensor(0.1, dtype=lamina.float64, requires_grad=True)
        mom = lamina.tensor(0.5, dtype=lamina.float64, requires_grad=True)
        d_lr, d_mom = grad(final(lr, mom), [lr, mom])
    eps = 1e-6
    fd_lr = (float(final(0.1 + eps, 0.5)) - float(final(0.1 - eps, 0.5))) / (2 * eps)
    fd_mom = (float(final(0.1, 0.5 + eps)) - float(final(0.1, 0.5 - eps))) / (2 * eps)
    assert float(d_lr) == pytest.approx(fd_lr, rel=1e-6)
    assert float(d_mom) == pytest.approx(fd_mom, rel=1e-6)


def test_a_tensor_coefficient_at_zero_is_applied():
    theta0, grads = _problem(5)
    with lamina.enable_grad():
        wd = lamina.tensor(0.0, dtype=lamina.float64, requires_grad=True)
        theta, _ = F.sgd([lamina.tensor(theta0.copy())], [lamina.tensor(grads[0])], [None], lr=0.1, weight_decay=wd)
        (d_wd,) = grad(theta[0].sum(), [wd])
    # θ1 = θ0 - lr (g + λ θ0): ∂Σθ1/∂λ = -lr Σθ0, although λ = 0
    assert float(d_wd) == pytest.approx(-0.1 * theta0.sum(), rel=1e-12)


def test_adam_first_step_derivative_with_respect_to_lr():
    theta0, grads = _problem(6)
    g = grads[0]
    with lamina.enable_grad():
        lr = lamina.tensor(0.01, dtype=lamina.float64, requires_grad=True)
        theta, *_ = F.adam([lamina.tensor(theta0.copy())], [lamina.tensor(g)], [None], [None], None, [1], lr=lr,
                           beta1=0.9, beta2=0.999, eps=1e-8)
        (d_lr,) = grad(theta[0].sum(), [lr])
    # first step: m̂ = g, v̂ = g², so θ1 = θ0 - lr g / (|g| + ε)
    assert float(d_lr) == pytest.approx(float(-(g / (np.abs(g) + 1e-8)).sum()), rel=1e-12)


def test_two_loop_is_the_bfgs_inverse_hessian_product():
    rng = np.random.default_rng(7)
    n = 5
    a = rng.normal(size=(n, n))
    hess = a @ a.T + n * np.eye(n)                  # a convex quadratic: y = H s
    ss = [rng.normal(size=n) for _ in range(3)]
    ys = [hess @ s for s in ss]
    h_diag = float(ss[-1] @ ys[-1] / (ys[-1] @ ys[-1]))
    inv = h_diag * np.eye(n)
    for s, y in zip(ss, ys):                         # BFGS: H⁺ = (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ
        rho = 1.0 / (y @ s)
        left = np.eye(n) - rho * np.outer(s, y)
        inv = left @ inv @ left.T + rho * np.outer(s, s)
    q = rng.normal(size=n)
    got = two_loop(q.copy(), ys, ss, [1.0 / (y @ s) for s, y in zip(ss, ys)], h_diag)
    np.testing.assert_allclose(got, inv @ q, rtol=1e-12)
