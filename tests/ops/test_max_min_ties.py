"""max(dim)/min(dim) send the whole gradient to the returned index (ties included), as PyTorch does;
amax/amin and the full reductions max()/min() share it among the tied entries."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as L
from lamina import func


def _tied(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(4, 5)).astype(np.float64)  # few distinct values: many ties
    x[0] = 2.0  # a whole row tied
    return x, rng.standard_normal((4, 5))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, False), (-1, True), (0, True)])
def test_max_min_dim_gradient_goes_to_the_index(name, dim, keepdim):
    x, w = _tied(0)
    xl = L.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    vl, il = getattr(xl, name)(dim, keepdim)
    vt, it = getattr(xt, name)(dim, keepdim)
    np.testing.assert_array_equal(il.numpy(), it.numpy())
    np.testing.assert_allclose(vl.numpy(), vt.detach().numpy())
    gw = np.random.default_rng(1).standard_normal(vt.shape)
    (vl * L.tensor(gw)).sum().backward()
    (vt * torch.tensor(gw)).sum().backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy())
    assert (xl.grad.numpy() != 0).sum() == vt.numel()  # one entry per value, never split


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_forward_mode_matches_torch(name):
    x, t = _tied(2)
    _, jl = func.jvp(lambda a: getattr(a, name)(1).values, (L.tensor(x),), (L.tensor(t),))
    _, jt = torch.func.jvp(lambda a: getattr(a, name)(1).values, (torch.tensor(x),), (torch.tensor(t),))
    np.testing.assert_allclose(jl.numpy(), jt.numpy())


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_second_order_matches_torch(name):
    x, w = _tied(3)

    def grad_of_grad(lib, xa, wa):
        xx = lib.tensor(xa, requires_grad=True)
        ww = lib.tensor(wa)
        v = getattr(xx * xx, name)(0).values  # d/dx of sum v² through the selected entries
        (g,) = lib.autograd.grad((v * v).sum(), xx, create_graph=True)
        (gg,) = lib.autograd.grad((g * ww).sum(), xx)
        return g.detach().numpy(), gg.numpy()

    for a, b in zip(grad_of_grad(L, x, w), grad_of_grad(torch, x, w)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("call", [lambda m: m.amax(1), lambda m: m.amin(0), lambda m: m.max(), lambda m: m.min()])
def test_amax_amin_and_full_max_share_ties_as_torch(call):
    x, _ = _tied(4)
    xl = L.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    call(xl).sum().backward()
    call(xt).sum().backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy())


def test_max_dim_rejects_a_tuple_and_handles_0d():
    x = L.tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match="max: dim must be an int"):
        x.max((0, 1))
    v, i = L.tensor(3.0).max(0)
    assert v.item() == 3.0 and i.item() == 0
