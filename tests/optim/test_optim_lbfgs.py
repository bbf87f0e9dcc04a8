"""LBFGS against torch.optim.LBFGS, its convergence on Rosenbrock, and the stand-alone line searches."""
import numpy as np
import pytest
import torch

import lamina
import lamina.optim as lo


def rosen(x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def rosen_np(x):
    return float(np.sum((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2))


def rosen_grad_np(x):
    g = np.zeros_like(x)
    g[:-1] += -2 * (1 - x[:-1]) - 400 * x[:-1] * (x[1:] - x[:-1] ** 2)
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def trajectory(lib, init, steps, **kw):
    x = (lamina.tensor(init.copy(), requires_grad=True) if lib is lamina
         else torch.tensor(init.copy(), dtype=torch.float64, requires_grad=True))
    opt = (lo.LBFGS if lib is lamina else torch.optim.LBFGS)([x], **kw)

    def closure():
        opt.zero_grad()
        loss = rosen(x)
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        opt.step(closure)
        out.append(np.array(x.detach().numpy() if lib is torch else x.numpy()))
    return np.array(out), opt.state[x]


INIT = np.array([-1.2, 1.0, -0.5, 0.7])


@pytest.mark.parametrize("kw", [
    dict(lr=0.1, max_iter=5, history_size=10),
    dict(lr=1.0, max_iter=5, history_size=10, line_search_fn="strong_wolfe"),
    dict(lr=1.0, max_iter=3, history_size=2, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=4, max_eval=6, line_search_fn="strong_wolfe"),
], ids=["fixed-step", "strong-wolfe", "short-history", "eval-budget"])
def test_iterates_match_torch(kw):
    ours, st = trajectory(lamina, INIT, 6, **kw)
    ref, ref_st = trajectory(torch, INIT, 6, **kw)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    assert st["func_evals"] == ref_st["func_evals"] and st["n_iter"] == ref_st["n_iter"]


@pytest.mark.parametrize("line_search", ["strong_wolfe", "backtracking"])
def test_converges_on_rosenbrock(line_search):
    x = lamina.tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = lo.LBFGS([x], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn=line_search)

    def closure():
        opt.zero_grad()
        loss = rosen(x)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(x.numpy(), [1.0, 1.0], atol=1e-6)


def test_state_dict_round_trip():
    x = lamina.tensor(INIT.copy(), requires_grad=True)
    opt = lo.LBFGS([x], max_iter=3, line_search_fn="strong_wolfe")

    def make_closure(t, o):
        def closure():
            o.zero_grad()
            loss = rosen(t)
            loss.backward()
            return loss
        return closure

    for _ in range(3):
        opt.step(make_closure(x, opt))
    sd = opt.state_dict()
    assert sd["state"][0]["old_dirs"].ndim == 2 and sd["state"][0]["ro"].ndim == 1
    x2 = lamina.tensor(x.numpy().copy(), requires_grad=True)
    opt2 = lo.LBFGS([x2])
    opt2.load_state_dict(sd)
    for _ in range(3):
        opt.step(make_closure(x, opt))
        opt2.step(make_closure(x2, opt2))
    np.testing.assert_array_equal(x.numpy(), x2.numpy())


def test_lbfgs_rejects_groups_and_missing_closure():
    a = lamina.tensor(np.ones(2), requires_grad=True)
    b = lamina.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        lo.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(TypeError, match="closure"):
        lo.LBFGS([a]).step()
    with pytest.raises(ValueError, match="line_search_fn"):
        lo.LBFGS([a], line_search_fn="armijo")


def test_backtracking_armijo():
    x = np.array([-1.2, 1.0])
    g = rosen_grad_np(x)
    res = lo.backtracking(rosen_np, x, -g, rosen_np(x), g)
    assert res.success and res.t < 1
    assert rosen_np(x - res.t * g) <= rosen_np(x) - 1e-4 * res.t * g @ g
    # the first t tried that satisfies Armijo: the previous (2t) did not
    assert rosen_np(x - 2 * res.t * g) > rosen_np(x) - 1e-4 * 2 * res.t * g @ g
    with pytest.raises(ValueError, match="descent direction"):
        lo.backtracking(rosen_np, x, g, rosen_np(x), g)


def test_strong_wolfe_conditions_hold():
    x = np.array([-1.2, 1.0])
    g = rosen_grad_np(x)
    d = -g / np.abs(g).sum()
    res = lo.strong_wolfe(lambda z: (rosen_np(z), rosen_grad_np(z)), x, d, rosen_np(x), g, t=1.0)
    gtd = g @ d
    assert res.success
    assert res.f <= rosen_np(x) + 1e-4 * res.t * gtd
    assert abs(rosen_grad_np(x + res.t * d) @ d) <= 0.9 * abs(gtd)
    np.testing.assert_allclose(res.g, rosen_grad_np(x + res.t * d))


def test_cubic_interpolate_finds_the_minimum_of_a_cubic():
    f = lambda t: (t - 0.3) ** 2 * (t + 2)      # noqa: E731  local min at 0.3
    df = lambda t: 2 * (t - 0.3) * (t + 2) + (t - 0.3) ** 2   # noqa: E731
    t = lo.cubic_interpolate(0.0, f(0.0), df(0.0), 1.0, f(1.0), df(1.0))
    assert t == pytest.approx(0.3, abs=1e-12)
