"""Run a lamina optimizer and its torch.optim twin on the same small problem from the same weights, float64
(shared by tests/optim/test_<optimizer>.py)."""
import numpy as np
import torch

import lamina
import lamina.optim as lo


def problem(seed=0):
    """A tanh MLP regression: (x, y, initial weights)."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 3))
    init = [rng.standard_normal((4, 6)) * 0.5, rng.standard_normal(6) * 0.1,
            rng.standard_normal((6, 3)) * 0.5, rng.standard_normal(3) * 0.1]
    return x, y, init


def _loss(lib, ps, x, y):
    w1, b1, w2, b2 = ps
    return ((lib.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()


def run(lib, name, kw, steps=20, seed=0):
    """(final parameters, optimizer) after ``steps`` steps of ``lib``'s optimizer ``name(**kw)``.  Torch runs
    with float64 as its default dtype, so that its scalar state (NAdam's mu_product) is float64 too."""
    x, y, init = problem(seed)
    if lib is lamina:
        ps = [lamina.tensor(a.copy(), requires_grad=True) for a in init]
        x, y, opt = lamina.tensor(x), lamina.tensor(y), getattr(lo, name)(ps, **kw)
    else:
        ps = [torch.tensor(a.copy(), requires_grad=True) for a in init]
        x, y = torch.tensor(x), torch.tensor(y)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        if lib is torch:
            opt = getattr(torch.optim, name)(ps, **kw)
        for _ in range(steps):
            opt.zero_grad()
            _loss(lib, ps, x, y).backward()
            opt.step()
    finally:
        torch.set_default_dtype(previous)
    return [p.detach().numpy().copy() for p in ps], opt


def assert_matches_torch(name, kw, steps=20, tol=1e-12):
    """Parameters and every state buffer equal torch's to ``tol``; the parameters moved."""
    ours, opt = run(lamina, name, kw, steps)
    ref, topt = run(torch, name, kw, steps)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert not np.allclose(ours[0], problem()[2][0], atol=1e-4)
    sd, tsd = opt.state_dict(), topt.state_dict()
    for pid, tstate in tsd["state"].items():
        assert set(sd["state"][pid]) == set(tstate), (set(sd["state"][pid]), set(tstate))
        for key, value in tstate.items():
            np.testing.assert_allclose(np.asarray(sd["state"][pid][key], dtype=np.float64),
                                       value.detach().numpy(), rtol=tol, atol=tol, err_msg=key)
    assert {k for k in tsd["param_groups"][0] if k != "params"} <= set(sd["param_groups"][0])
