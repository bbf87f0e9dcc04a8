"""Forward mode (dual numbers) and the torch.func-style transforms."""
import numpy as np
import pytest
import torch

import lamina as L
from lamina import func
from lamina.autograd import forward_ad as fwAD


def f_vec(x):
    return (x.sin() * x).cumsum(0) + x.exp().sum()


def test_dual_numbers_give_directional_derivative():
    rng = np.random.default_rng(5)
    x0 = L.tensor(rng.standard_normal(4))
    v = L.tensor(rng.standard_normal(4))
    with fwAD.dual_level():
        y = f_vec(fwAD.make_dual(x0, v))
        value, tangent = fwAD.unpack_dual(y)
    J = func.jacrev(f_vec)(x0).numpy()
    np.testing.assert_allclose(tangent.numpy(), J @ v.numpy(), rtol=1e-12)
    np.testing.assert_allclose(value.numpy(), f_vec(x0).numpy())


def test_make_dual_outside_level_is_an_error():
    with pytest.raises(RuntimeError, match="dual_level"):
        fwAD.make_dual(L.ones(2), L.ones(2))


def test_jacobian_forward_equals_reverse():
    rng = np.random.default_rng(4)
    x = L.tensor(rng.standard_normal(5))
    jf = func.jacobian(f_vec, x, mode="forward")
    jr = func.jacobian(f_vec, x, mode="reverse")
    assert jf.shape == (5, 5)
    np.testing.assert_allclose(jf.numpy(), jr.numpy(), rtol=1e-12, atol=1e-12)


def test_transforms_match_torch_func():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(4)
    u = rng.standard_normal(4)

    def g(lib):
        return lambda t: (lib.tanh(t) ** 2).sum() * t[0] + (t * t).sum().sqrt()

    tx = torch.tensor(x)
    np.testing.assert_allclose(func.grad(g(L))(L.tensor(x)).numpy(), torch.func.grad(g(torch))(tx).numpy(), rtol=1e-12)
    np.testing.assert_allclose(func.hessian(g(L))(L.tensor(x)).numpy(), torch.func.hessian(g(torch))(tx).numpy(),
                               rtol=1e-10, atol=1e-12)
    hv = func.hvp(g(L), L.tensor(x), L.tensor(u))
    thv = torch.func.jvp(torch.func.grad(g(torch)), (tx,), (torch.tensor(u),))[1]
    np.testing.assert_allclose(hv.numpy(), thv.numpy(), rtol=1e-10)
    out, jv = func.jvp(f_vec, (L.tensor(x),), (L.tensor(u),))
    tf = lambda t: (t.sin() * t).cumsum(0) + t.exp().sum()  # noqa: E731
    tout, tjv = torch.func.jvp(tf, (tx,), (torch.tensor(u),))
    np.testing.assert_allclose(jv.numpy(), tjv.numpy(), rtol=1e-12)
    o, vjp_fn = func.vjp(f_vec, L.tensor(x))
    to, tvjp = torch.func.vjp(tf, tx)
    np.testing.assert_allclose(vjp_fn(L.tensor(u))[0].numpy(), tvjp(torch.tensor(u))[0].numpy(), rtol=1e-12)


def test_grad_argnums_and_has_aux():
    rng = np.random.default_rng(2)
    def loss(w, b, x):
        return ((x @ w + b) ** 2).mean(), "aux"

    w, b, x = L.tensor(rng.standard_normal(3)), L.tensor(0.5, dtype=L.float64), L.tensor(rng.standard_normal((4, 3)))
    (gw, gb), aux = func.grad(loss, argnums=(0, 1), has_aux=True)(w, b, x)
    assert aux == "aux" and gw.shape == (3,) and gb.shape == ()
    r = x.numpy() @ w.numpy() + 0.5
    np.testing.assert_allclose(gw.numpy(), 2 * x.numpy().T @ r / 4)
    np.testing.assert_allclose(gb.item(), 2 * r.mean())


def test_hessian_of_quadratic_is_exact():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    A = A + A.T
    f = lambda x: 0.5 * (x @ (L.tensor(A) @ x))  # noqa: E731
    H = func.hessian(f)(L.tensor(rng.standard_normal(4)))
    np.testing.assert_allclose(H.numpy(), A, rtol=1e-12, atol=1e-12)


def test_grad_of_grad_nested_transforms():
    f = lambda x: (x ** 4).sum()  # noqa: E731
    d2 = func.grad(lambda x: func.grad(f)(x).sum())(L.tensor([1.0, 2.0], dtype=L.float64))
    np.testing.assert_allclose(d2.numpy(), [12.0, 48.0])


def test_grad_requires_scalar_output():
    with pytest.raises(RuntimeError, match="scalar"):
        func.grad(lambda x: x * 2)(L.ones(3))


def test_reverse_over_forward():
    # d/dx of (J v) is a second derivative computed by reverse mode through forward mode
    x = L.tensor([0.3, -0.2], dtype=L.float64, requires_grad=True)
    v = L.tensor([1.0, 0.0], dtype=L.float64)
    _, jv = func.jvp(lambda t: (t.exp() * t[1]).sum(), (x,), (v,))
    (g,) = L.autograd.grad(jv, x)
    # f = (e^x0 + e^x1) x1 ; Jv = e^x0 x1 ; d/dx = (e^x0 x1, e^x0)
    np.testing.assert_allclose(g.numpy(), [np.exp(0.3) * -0.2, np.exp(0.3)])
