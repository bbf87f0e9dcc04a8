"""``randint``'s overloads and the lifetime of forward-mode tangents, against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.autograd import forward_ad


@pytest.mark.parametrize("call", [
    lambda m: m.randint(10, (3,)),
    lambda m: m.randint(2, 10, (3, 2)),
    lambda m: m.randint(10, size=(4,)),
    lambda m: m.randint(high=10, size=(4,)),
    lambda m: m.randint(low=2, high=10, size=(2, 2)),
    lambda m: m.randint(-3, 0, [5]),
    lambda m: m.randint(7, (2,), dtype=m.float32),
])
def test_randint_overloads_give_the_shape_dtype_and_range_of_torch(call):
    lam, ref = call(lamina), call(torch)
    assert tuple(lam.shape) == tuple(ref.shape)
    assert str(lam.dtype) == str(ref.dtype).replace("torch.", "")


def test_randint_draws_cover_exactly_low_to_high_minus_one():
    lamina.manual_seed(0)
    v = lamina.randint(3, 7, (4000,)).numpy()
    assert set(np.unique(v).tolist()) == {3, 4, 5, 6}
    v = lamina.randint(4, (4000,)).numpy()  # the two-argument form: high=4, size=(4000,)
    assert set(np.unique(v).tolist()) == {0, 1, 2, 3}


def test_randint_generator_reproduces_and_requires_grad_needs_a_float_dtype():
    g1, g2 = lamina.Generator().manual_seed(5), lamina.Generator().manual_seed(5)
    assert lamina.randint(100, (8,), generator=g1).tolist() == lamina.randint(100, (8,), generator=g2).tolist()
    t = lamina.randint(10, (2,), dtype=lamina.float32, requires_grad=True)
    assert t.requires_grad and torch.randint(10, (2,), dtype=torch.float32, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError):
        lamina.randint(10, (2,), requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.randint(10, (2,), requires_grad=True)


@pytest.mark.parametrize("bad", [lambda m: m.randint(10), lambda m: m.randint(10, 3), lambda m: m.randint(2.5, (2,))])
def test_randint_refuses_what_torch_refuses(bad):
    with pytest.raises(TypeError):
        bad(torch)
    with pytest.raises(TypeError, match="randint"):
        bad(lamina)


def test_randint_empty_range_is_an_error():
    with pytest.raises(RuntimeError, match="low < high"):
        lamina.randint(5, 5, (2,))


def _tangent_after_level(m, fa):
    x0 = m.tensor([1.0, 2.0], dtype=m.float64)
    with fa.dual_level():
        x = fa.make_dual(x0, m.ones_like(x0))
        y = (x * x).sin()
        inside = fa.unpack_dual(y).tangent
    return x, y, inside, fa.unpack_dual(y).tangent, fa.unpack_dual(x).tangent


def test_tangents_do_not_outlive_their_dual_level():
    import torch.autograd.forward_ad as tfa
    lx, ly, lin, lout, lxout = _tangent_after_level(lamina, forward_ad)
    tx, ty, tin, tout, txout = _tangent_after_level(torch, tfa)
    np.testing.assert_allclose(lin.numpy(), tin.numpy())
    assert tout is None and txout is None
    assert lout is None and lxout is None
    # a later level does not see the old dual's tangent: x is a plain tensor there
    with forward_ad.dual_level():
        z = lx * 2.0
        assert forward_ad.unpack_dual(z).tangent is None


def test_nested_levels_keep_tangents_until_the_outermost_exits():
    with forward_ad.dual_level():
        x = forward_ad.make_dual(lamina.tensor([1.0]), lamina.tensor([3.0]))
        with forward_ad.dual_level():
            pass
        assert forward_ad.unpack_dual(x * 2.0).tangent.tolist() == [6.0]
    assert forward_ad.unpack_dual(x).tangent is None
