"""Online hypergradient descent (Baydin et al. 2018): SGDHD and AdamHD."""
import numpy as np
import pytest

import lamina
from lamina import optim, tune


def quadratic_steps(opt_cls, theta0, n, curvature=1.0, **kw):
    """Minimise f(θ) = curvature/2 ‖θ‖²; returns (learning rates before each step, optimizer, θ)."""
    theta0 = theta0 if isinstance(theta0, np.ndarray) else np.array(theta0, dtype=np.float64)
    theta = lamina.tensor(theta0.copy(), requires_grad=True)
    opt = opt_cls([theta], **kw)
    lrs = []
    for _ in range(n):
        opt.zero_grad()
        (0.5 * curvature * (theta * theta).sum()).backward()
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs, opt, theta


def test_exported_from_optim_and_tune():
    assert optim.SGDHD is tune.SGDHD and optim.AdamHD is tune.AdamHD
    assert issubclass(optim.SGDHD, optim.Optimizer) and issubclass(optim.AdamHD, optim.Optimizer)


@pytest.mark.parametrize("cls,kw", [(optim.SGDHD, dict(lr=0.1, hypergrad_lr=0.01)),
                                    (optim.AdamHD, dict(lr=0.01, hypergrad_lr=1e-3))])
def test_lr_grows_when_consecutive_gradients_align(cls, kw):
    lrs, _, _ = quadratic_steps(cls, [3.0, -2.0], 6, **kw)
    assert lrs[0] == kw["lr"]                      # no previous direction at the first step
    assert all(b > a for a, b in zip(lrs[:-1], lrs[1:]))


@pytest.mark.parametrize("cls,kw", [(optim.SGDHD, dict(lr=2.5, hypergrad_lr=0.01)),
                                    (optim.AdamHD, dict(lr=4.0, hypergrad_lr=1e-2))])
def test_lr_shrinks_when_gradients_oscillate(cls, kw):
    # SGD with lr > 2/curvature overshoots: g_t = (1 - lr) g_{t-1} flips sign every step
    # (Adam's momentum smooths the flips, so only its first move and the trend are checked)
    lrs, _, _ = quadratic_steps(cls, [3.0, -2.0], 6, **kw)
    assert lrs[1] < lrs[0] == kw["lr"] and lrs[-1] < kw["lr"]
    if cls is optim.SGDHD:
        assert all(b < a for a, b in zip(lrs[1:-1], lrs[2:]))


def test_sgdhd_three_steps_by_hand():
    A = np.array([[2.0, 0.3], [0.3, 1.0]])
    b = np.array([1.0, -1.0])
    theta0 = np.array([0.5, 2.0])
    lr, beta, mom, wd = 0.1, 0.05, 0.5, 0.01
    # hand computation: d = Aθ - b + wd θ; α += β⟨d, u_prev⟩; buf = mom·buf + d; θ -= α·buf
    th, alpha, buf, u_prev, expected = theta0.copy(), lr, None, None, []
    for _ in range(3):
        d = A @ th - b + wd * th
        if u_prev is not None:
            alpha = alpha + beta * float(d @ u_prev)
        buf = d.copy() if buf is None else mom * buf + d
        th = th - alpha * buf
        u_prev = buf.copy()
        expected.append((th.copy(), alpha))
    theta = lamina.tensor(theta0.copy(), requires_grad=True)
    opt = optim.SGDHD([theta], lr=lr, momentum=mom, weight_decay=wd, hypergrad_lr=beta)
    At, bt = lamina.tensor(A), lamina.tensor(b)
    for th_exp, a_exp in expected:
        opt.zero_grad()
        (0.5 * (theta * (At @ theta)).sum() - (bt * theta).sum()).backward()
        opt.step()
        np.testing.assert_allclose(theta.numpy(), th_exp, rtol=1e-14)
        assert opt.param_groups[0]["lr"] == pytest.approx(a_exp, rel=1e-14)


def test_adamhd_three_steps_by_hand():
    theta0 = np.array([1.0, -0.5, 2.0])
    target = np.array([0.2, 0.1, -0.3])
    lr, beta, (b1, b2), eps = 0.05, 0.02, (0.9, 0.999), 1e-8
    th, alpha, m, v, u_prev, expected = theta0.copy(), lr, np.zeros(3), np.zeros(3), None, []
    for t in range(1, 4):
        g = 2 * (th - target)
        if u_prev is not None:
            alpha = alpha + beta * float(g @ u_prev)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        u = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        th = th - alpha * u
        u_prev = u
        expected.append((th.copy(), alpha))
    theta = lamina.tensor(theta0.copy(), requires_grad=True)
    opt = optim.AdamHD([theta], lr=lr, betas=(b1, b2), eps=eps, hypergrad_lr=beta)
    tgt = lamina.tensor(target)
    for th_exp, a_exp in expected:
        opt.zero_grad()
        ((theta - tgt) ** 2).sum().backward()
        opt.step()
        np.testing.assert_allclose(theta.numpy(), th_exp, rtol=1e-13)
        assert opt.param_groups[0]["lr"] == pytest.approx(a_exp, rel=1e-13)


@pytest.mark.parametrize("hd_cls,ref_cls,kw", [
    (optim.SGDHD, optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.AdamHD, optim.Adam, dict(lr=0.05, weight_decay=0.01)),
])
def test_zero_hypergrad_lr_is_the_plain_optimizer(hd_cls, ref_cls, kw):
    _, _, a = quadratic_steps(hd_cls, [1.0, -2.0, 0.5], 5, curvature=3.0, hypergrad_lr=0.0, **kw)
    _, _, b = quadratic_steps(ref_cls, [1.0, -2.0, 0.5], 5, curvature=3.0, **kw)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls,kw", [(optim.SGDHD, dict(lr=0.1, momentum=0.9, hypergrad_lr=0.01)),
                                    (optim.AdamHD, dict(lr=0.05, hypergrad_lr=1e-3))])
def test_state_dict_round_trip(cls, kw):
    _, opt, theta = quadratic_steps(cls, [3.0, -2.0], 3, **kw)
    sd = opt.state_dict()
    twin = lamina.tensor(theta.numpy().copy(), requires_grad=True)
    opt2 = cls([twin], lr=123.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert opt2.param_groups[0]["hypergrad_lr"] == kw["hypergrad_lr"]
    for p, o in ((theta, opt), (twin, opt2)):
        for _ in range(2):
            o.zero_grad()
            (0.5 * (p * p).sum()).backward()
            o.step()
    np.testing.assert_array_equal(theta.numpy(), twin.numpy())
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


def test_float32_stays_float32_and_bad_arguments():
    _, _, theta = quadratic_steps(optim.SGDHD, np.array([1.0, 2.0], dtype=np.float32), 2, lr=0.1)
    assert theta.dtype == np.float32
    x = lamina.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="invalid hypergrad_lr -1"):
        optim.SGDHD([x], hypergrad_lr=-1)
    with pytest.raises(ValueError, match="invalid betas"):
        optim.AdamHD([x], betas=(1.0, 0.9))
