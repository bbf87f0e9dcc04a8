"""autograd.Function: mark_non_differentiable and set_materialize_grads behave as in PyTorch, with
forward returning one tensor or several."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as L


def _make(lib, materialize: bool, seen: list):
    """sort with its permutation (non-differentiable) and a second output 2x."""
    class Sort(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = lib.tensor(np.argsort(x.detach().numpy(), kind="stable"))
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            ctx.set_materialize_grads(materialize)
            return x[idx], idx, x * 2

        @staticmethod
        def backward(ctx, gv, gi, g2):
            seen.append(tuple(None if g is None else g.detach().numpy().copy() for g in (gv, gi, g2)))
            (idx,) = ctx.saved_tensors
            out = lib.zeros(idx.shape[0], dtype=lib.float64)
            if gv is not None:
                out[idx.numpy()] = gv
            if g2 is not None:
                out = out + 2 * g2
            return out
    return Sort


def _run(lib, materialize, use_second):
    seen: list = []
    x = lib.tensor([3.0, 1.0, 2.0, 5.0], dtype=lib.float64, requires_grad=True)
    v, i, d = _make(lib, materialize, seen).apply(x)
    loss = (v * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum()
    if use_second:
        loss = loss + (d * d).sum()
    loss.backward()
    return x.grad.numpy(), i.requires_grad, v.requires_grad, seen


@pytest.mark.parametrize("materialize", [True, False])
@pytest.mark.parametrize("use_second", [True, False])
def test_multi_output_grads_match_torch(materialize, use_second):
    gl, il, vl, seen_l = _run(L, materialize, use_second)
    gt, it, vt, seen_t = _run(torch, materialize, use_second)
    np.testing.assert_allclose(gl, gt)
    assert (il, vl) == (it, vt) == (False, True)
    assert len(seen_l) == len(seen_t) == 1
    for a, b in zip(seen_l[0], seen_t[0]):
        assert (a is None) == (b is None)  # None exactly where torch passes None
        if a is not None:
            np.testing.assert_allclose(a, b)


def test_single_output_marked_non_differentiable_does_not_require_grad():
    for lib in (L, torch):
        class Round(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.round()
                ctx.mark_non_differentiable(y)
                return y

            @staticmethod
            def backward(ctx, g):
                return g
        y = Round.apply(lib.tensor([0.4, 1.6], requires_grad=True))
        assert not y.requires_grad and y.grad_fn is None
        with pytest.raises(RuntimeError):
            y.sum().backward()


def test_multi_output_second_order_and_forward_mode():
    class SinCos(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return x.cos() * t, -x.sin() * t

    rng = np.random.default_rng(0)
    xa = rng.standard_normal(4)
    x = L.tensor(xa, requires_grad=True)
    s, c = SinCos.apply(x)
    (g,) = L.autograd.grad((s * c).sum(), x, create_graph=True)  # d/dx sin x cos x = cos 2x
    np.testing.assert_allclose(g.detach().numpy(), np.cos(2 * xa))
    (gg,) = L.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), -2 * np.sin(2 * xa))
    t = rng.standard_normal(4)
    _, jt = L.func.jvp(lambda a: SinCos.apply(a)[1], (L.tensor(xa),), (L.tensor(t),))
    np.testing.assert_allclose(jt.numpy(), -np.sin(xa) * t)


def test_saved_input_changed_in_place_raises_for_a_function():
    class Square(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            return g * w, None

    x = L.ones(3, requires_grad=True)
    w, u = L.full((3,), 2.0), L.full((3,), 2.0)
    y = Square.apply(x, w).sum()
    w.add_(1)
    with pytest.raises(RuntimeError, match="SquareBackward's input 1 of shape"):
        y.backward()
    y = Square.apply(x, u).sum()
    with L.no_grad():
        x.add_(1)  # not saved: no error
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])
