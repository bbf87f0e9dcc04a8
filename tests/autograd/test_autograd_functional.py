"""``lamina.autograd.functional`` against ``torch.autograd.functional`` (float64, 1e-10): jacobian, hessian,
vjp, jvp, hvp, vhp for single and tuple inputs/outputs, their options, and strict mode."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import lamina
import lamina.autograd.functional as LF


def _same(a, b):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
        return
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-10)


RNG = np.random.default_rng(0)
X, Y, V = RNG.standard_normal(4), RNG.standard_normal(3), RNG.standard_normal(4)


def _pair(f_of_lib, *arrays):
    return (f_of_lib(lamina), tuple(lamina.tensor(a) for a in arrays)), (f_of_lib(torch),
                                                                        tuple(torch.tensor(a) for a in arrays))


def _two_out(lib):
    return lambda a, b: ((a[:3] * b).exp().sum() * a.cos(), (a[:3] * b).tanh())


def _scalar(lib):
    return lambda a, b: (a.sin()[:3] * b).exp().sum() + (a ** 3).sum()


@pytest.mark.parametrize("kw", [{}, {"vectorize": True}, {"vectorize": True, "strategy": "forward-mode"}])
def test_jacobian_tuple_inputs_and_outputs(kw):
    (lf, la), (tf, ta) = _pair(_two_out, X, Y)
    _same(LF.jacobian(lf, la, **kw), TF.jacobian(tf, ta, **kw))
    _same(LF.jacobian(lambda a: a.exp() * a.sum(), la[0], **kw), TF.jacobian(lambda a: a.exp() * a.sum(), ta[0], **kw))


def test_hessian_single_and_tuple_inputs():
    (lf, la), (tf, ta) = _pair(_scalar, X, Y)
    _same(LF.hessian(lf, la), TF.hessian(tf, ta))
    _same(LF.hessian(lambda a: lf(a, la[1]), la[0]), TF.hessian(lambda a: tf(a, ta[1]), ta[0]))


def test_vjp_jvp_hvp_vhp():
    (lf, la), (tf, ta) = _pair(_scalar, X, Y)
    lv, tv = (lamina.tensor(V), lamina.tensor(Y)), (torch.tensor(V), torch.tensor(Y))
    for name in ("hvp", "vhp"):
        _same(getattr(LF, name)(lf, la, lv), getattr(TF, name)(tf, ta, tv))
    _same(LF.vjp(lf, la), TF.vjp(tf, ta))  # v may be None for a scalar output
    (lg, la2), (tg, ta2) = _pair(_two_out, X, Y)
    _same(LF.jvp(lg, la2, lv), TF.jvp(tg, ta2, tv))
    _same(LF.vjp(lambda a: a.sin() * 2, la[0], lamina.tensor(V)), TF.vjp(lambda a: a.sin() * 2, ta[0], torch.tensor(V)))


def test_create_graph_keeps_results_differentiable():
    x = lamina.tensor(X, requires_grad=True)
    _, g = LF.vjp(lambda a: (a ** 3).sum(), x, create_graph=True)
    (gg,) = lamina.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), 6 * X, rtol=1e-12)
    _, g2 = LF.vjp(lambda a: (a ** 3).sum(), x)
    assert not g2.requires_grad


def test_strict_refuses_an_independent_input_and_bad_v():
    la = (lamina.tensor(X), lamina.tensor(Y))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        LF.vjp(lambda a, b: a.sum(), la, strict=True)
    np.testing.assert_array_equal(LF.vjp(lambda a, b: a.sum(), la)[1][1].numpy(), np.zeros(3))
    with pytest.raises(RuntimeError, match="v can be None only"):
        LF.vjp(lambda a, b: a * 2, la)
    with pytest.raises(NotImplementedError, match="vectorize=True"):
        LF.jacobian(lambda a: a, la[0], strategy="forward-mode")
