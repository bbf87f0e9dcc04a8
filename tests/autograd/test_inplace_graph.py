"""In-place ops inside a recorded graph give PyTorch's gradients (the tensor's history is rebased on the
in-place op), and refuse exactly where PyTorch refuses: a leaf that requires grad, or a value saved for
backward that was changed since."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina

MSG = "modified by an inplace operation"


def _set_column(m, x, w, v):
    out = x * w
    out[:, 0] = v
    return (out * out).sum()


def _mul_add(m, x, w, v):
    y = x * 1
    y.mul_(3)
    y.add_(w)
    return (y * y).sum()


def _augmented(m, x, w, v):
    y = x * 2
    y += w
    y *= w
    y -= 1
    y /= 2
    return (y * x).sum()


def _relu(m, x, w, v):
    y = x * w
    y.relu_()
    return (y * x).sum()


def _clamp(m, x, w, v):
    y = x + w
    y.clamp_(-0.5, 0.5)
    return (y * w).sum()


def _zero(m, x, w, v):
    y = x * w
    z = y.sum()
    y.zero_()
    return (y + x).sum() + z


def _fill(m, x, w, v):
    y = x * w
    y.fill_(v[0])
    return (y * x).sum()


def _mul_by_tensor(m, x, w, v):
    y = x * 1
    y.mul_(w)  # the rule reads y's old values (for w̄): they are kept
    return (y * y).sum()


def _consumer_recorded_before(m, x, w, v):
    y = x * 1
    z = y + w  # Add does not read y: its gradient goes to y's history before the change
    y.mul_(3)
    return (z * z).sum() + (y * y).sum()


def _into_plain_tensor(m, x, w, v):
    z = m.zeros(3, 4, dtype=m.float64)
    z[1] = v[0] * w[1]
    z[:, 2] = v
    return (z * z).sum()


def _chain(m, x, w, v):
    y = x * 1
    y.mul_(2)
    y.mul_(w)
    y.add_(x)
    y[0, 0] = v[1]
    return (y * y).sum()


def _sigmoid_then_read(m, x, w, v):
    y = x * 1
    y.sigmoid_()
    return (y * w).sum()


def _copy(m, x, w, v):
    y = x * 1
    y.copy_(w * v[0])
    return (y * x).sum()


def _mask_then_column(m, x, w, v):
    y = x * w
    y[y > 0] = 0.0
    y[:, 1] = v
    return (y * y).sum()


CASES = [_mask_then_column, _set_column, _mul_add, _augmented, _relu, _clamp, _zero, _fill, _mul_by_tensor,
         _consumer_recorded_before, _into_plain_tensor, _chain, _sigmoid_then_read, _copy]


def _grads(lib, f, seed):
    rng = np.random.default_rng(seed)
    arrays = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    make = lamina.tensor if lib is lamina else torch.tensor
    x, w, v = (make(a, requires_grad=True) for a in arrays)
    out = f(lib, x, w, v)
    out.backward()
    return out.item(), [t.grad.numpy() if t.grad is not None else None for t in (x, w, v)]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_gradients_match_torch(case):
    want_value, want = _grads(torch, case, 0)
    got_value, got = _grads(lamina, case, 0)
    assert got_value == pytest.approx(want_value, rel=1e-10)
    for name, g, e in zip("xwv", got, want):
        if e is None:
            assert g is None, name
        else:
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12, err_msg=name)


def test_inplace_makes_a_graph_node():
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.mul_(3) is y and y.grad_fn is not None and y._version == 1
    z = lamina.zeros(2)
    z[0] = x[1]
    assert z.requires_grad and not z.is_leaf


@pytest.mark.parametrize("change", [lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.zero_(),
                                    lambda t: t.__setitem__(0, 1.0), lambda t: t.relu_()])
def test_leaf_that_requires_grad_is_refused(change):
    x = lamina.tensor([1.0, -2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*in-place"):
        change(x)
    with lamina.no_grad():
        change(x)  # optimizers' way
    assert x.is_leaf and x._version == 1


def test_output_read_by_its_rule_changed_in_place_raises():
    x = lamina.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # exp's rule reads its output
    y.add_(1)
    with pytest.raises(RuntimeError, match=f"{MSG}.*Exp's output"):
        y.sum().backward()
    tx = torch.tensor([0.5, 1.0], requires_grad=True)
    ty = tx.exp()
    ty.add_(1)
    with pytest.raises(RuntimeError, match=MSG):
        ty.sum().backward()


def test_output_not_read_by_its_rule_may_change():
    x = lamina.tensor([0.5, 1.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_saved_input_changed_after_use_raises():
    x = lamina.tensor([0.5, 1.0], requires_grad=True)
    y = x * 1
    z = y * x  # Mul reads y for x̄
    y.add_(1)
    with pytest.raises(RuntimeError, match=f"{MSG}.*Mul's input 0"):
        z.sum().backward()


def test_sigmoid_output_changed_again_raises():
    x = lamina.tensor([0.5, 1.0], requires_grad=True)
    y = x * 1
    y.sigmoid_()
    y.mul_(2)
    with pytest.raises(RuntimeError, match=f"{MSG}.*Sigmoid's output.*version 2; expected version 1"):
        y.sum().backward()


def test_inplace_result_must_fit_destination():
    y = lamina.tensor([1, 2]) * 1
    w = lamina.tensor([0.5, 1.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast to the desired output type int64"):
        y.add_(w)
    x = lamina.tensor([1.0, 2.0], requires_grad=True) * 1
    with pytest.raises(RuntimeError, match=r"mul_: output with shape \(2,\) doesn't match the broadcast shape \(2, 2\)"):
        x.mul_(lamina.ones(2, 2, requires_grad=True))


def test_inplace_under_forward_mode_carries_the_tangent():
    from lamina.autograd import forward_ad
    with forward_ad.dual_level():
        x = forward_ad.make_dual(lamina.tensor([1.0, 2.0]), lamina.tensor([1.0, 0.5]))
        y = x * 1
        y.mul_(3)
        y[0] = x[1] * x[1]
        tangent = forward_ad.unpack_dual(y).tangent
    np.testing.assert_allclose(tangent.numpy(), [2 * 2.0 * 0.5, 1.5])


def test_view_changed_in_place_inside_a_graph_is_refused():
    y = lamina.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True) * 1
    row = y[0]  # shares y's memory
    with pytest.raises(RuntimeError, match="mul_: in-place change of a view.*GetItem"):
        row.mul_(2)
    row.clone().mul_(2)  # a copy is fine
