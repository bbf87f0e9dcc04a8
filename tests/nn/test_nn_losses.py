"""Losses against PyTorch (values, gradients, finite differences, second order, forward mode),
stability at logits of ±1e4, reductions, errors, and the accuracy / zero-one metrics."""
import numpy as np
import pytest
import torch
from opcheck import check_op

import lamina as L
import lamina.nn as nn
import lamina.nn.functional as F

tF = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]



@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction, rn):
    a, b = rn(4, 3), rn(4, 3)
    check_op(lambda x, y: F.mse_loss(x, y, reduction), lambda x, y: tF.mse_loss(x, y, reduction=reduction), a, b)
    check_op(lambda x, y: F.l1_loss(x, y, reduction), lambda x, y: tF.l1_loss(x, y, reduction=reduction), a, b)
    check_op(lambda x, y: F.huber_loss(x, y, reduction, 0.7),
             lambda x, y: tF.huber_loss(x, y, reduction=reduction, delta=0.7), a, b)
    check_op(lambda x, y: F.smooth_l1_loss(x, y, reduction, 0.6),
             lambda x, y: tF.smooth_l1_loss(x, y, reduction=reduction, beta=0.6), a, b)


def test_half_mse_is_half_the_squared_norm_per_sample(rn):
    a, b = rn(5, 3), rn(5, 3)
    # ½‖f_i − y_i‖² per sample, averaged over the batch
    check_op(F.half_mse_loss, lambda x, y: 0.5 * ((x - y) ** 2).sum(1).mean(), a, b)
    check_op(lambda x, y: F.half_mse_loss(x, y, "none"), lambda x, y: 0.5 * ((x - y) ** 2).sum(1), a, b)
    # scalar outputs: J = 1/(2m) Σ (f − y)² = ½ MSE
    f, y = rn(6), rn(6)
    out = nn.HalfMSELoss()(L.tensor(f), L.tensor(y)).item()
    assert out == pytest.approx(0.5 * np.mean((f - y) ** 2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_loss(reduction, rn):
    f = rn(6)
    y = np.array([1.0, -1, 1, -1, 1, -1])
    check_op(lambda a, t: F.hinge_loss(a, t, reduction=reduction),
             lambda a, t: _reduce_t(torch.clamp(1 - t * a, min=0), reduction), f, y, diff=[0])
    with pytest.raises(ValueError, match=r"-1 or \+1.*2 \* y - 1"):
        F.hinge_loss(L.tensor(f), L.tensor((y > 0).astype(np.float64)))


def _reduce_t(x, reduction):
    return x.mean() if reduction == "mean" else x.sum() if reduction == "sum" else x


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction, rng):
    p = rng.uniform(0.1, 0.9, (4, 3))
    y = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, (3,))
    check_op(lambda a, t: F.binary_cross_entropy(a, t, reduction=reduction),
             lambda a, t: tF.binary_cross_entropy(a, t, reduction=reduction), p, y)
    check_op(lambda a, t: F.binary_cross_entropy(a, t, Tensor(w), reduction=reduction),
             lambda a, t: tF.binary_cross_entropy(a, t, torch.tensor(w), reduction=reduction), p, y, diff=[0])


def Tensor(a):
    return L.tensor(a)


def test_bce_clamps_log_at_minus_100_like_torch():
    p = np.array([0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 1.0])
    lp = L.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(lp, L.tensor(y), reduction="none")
    tp = torch.tensor(p, requires_grad=True)
    tl = tF.binary_cross_entropy(tp, torch.tensor(y), reduction="none")
    np.testing.assert_allclose(loss.numpy(), tl.detach().numpy())
    loss.sum().backward()
    tl.sum().backward()
    np.testing.assert_allclose(lp.grad.numpy(), tp.grad.numpy())
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(L.tensor([1.5]), L.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction, rn, rng):
    x, y = rn(4, 3) * 3, rng.uniform(0, 1, (4, 3))
    pw, w = rng.uniform(0.5, 3, (3,)), rng.uniform(0.5, 2, (4, 3))
    check_op(lambda a, t: F.binary_cross_entropy_with_logits(a, t, reduction=reduction),
             lambda a, t: tF.binary_cross_entropy_with_logits(a, t, reduction=reduction), x, y)
    check_op(lambda a, t: F.binary_cross_entropy_with_logits(a, t, L.tensor(w), reduction, L.tensor(pw)),
             lambda a, t: tF.binary_cross_entropy_with_logits(a, t, torch.tensor(w), reduction=reduction,
                                                              pos_weight=torch.tensor(pw)), x, y)


def test_multilabel_targets_mark_several_classes(rn):
    # [1, 1]: the image holds both a dog and a cat; [0, 0]: neither
    x = rn(4, 2)
    y = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    check_op(lambda a: F.binary_cross_entropy_with_logits(a, L.tensor(y)),
             lambda a: tF.binary_cross_entropy_with_logits(a, torch.tensor(y)), x)
    check_op(lambda a: F.multilabel_soft_margin_loss(a, L.tensor(y)),
             lambda a: tF.multilabel_soft_margin_loss(a, torch.tensor(y)), x)
    assert F.accuracy(L.tensor(y * 4 - 2), L.tensor(y)).item() == 1.0


CE_CASES = [
    ("plain", {}),
    ("weight", {"weight": [0.3, 1.0, 2.0, 0.7]}),
    ("ignore", {"ignore_index": 2}),
    ("smoothing", {"label_smoothing": 0.2}),
    ("all", {"weight": [0.3, 1.0, 2.0, 0.7], "ignore_index": 1, "label_smoothing": 0.1}),
]


def _kw(kw, lib):
    out = dict(kw)
    if "weight" in out:
        out["weight"] = (L.tensor if lib == "L" else torch.tensor)(np.array(out["weight"]))
    return out


@pytest.mark.parametrize("name,kw", CE_CASES, ids=[c[0] for c in CE_CASES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_indices(name, kw, reduction, rn):
    x = rn(6, 4)
    t = np.array([0, 2, 1, 3, 2, 0])
    check_op(lambda a, y: F.cross_entropy(a, y, reduction=reduction, **_kw(kw, "L")),
             lambda a, y: tF.cross_entropy(a, y, reduction=reduction, **_kw(kw, "T")), x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_unbatched(reduction, rn, rng):
    x = rn(2, 3, 2, 2)
    t = rng.integers(0, 3, (2, 2, 2))
    check_op(lambda a, y: F.cross_entropy(a, y, reduction=reduction, label_smoothing=0.1),
             lambda a, y: tF.cross_entropy(a, y, reduction=reduction, label_smoothing=0.1), x, t)
    check_op(lambda a, y: F.cross_entropy(a, y, reduction=reduction),
             lambda a, y: tF.cross_entropy(a, y, reduction=reduction), rn(5), np.array(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_and_one_hot(reduction, rn, rng):
    x = rn(4, 3)
    p = rng.uniform(0, 1, (4, 3))
    p /= p.sum(1, keepdims=True)
    w = np.array([0.5, 1.0, 2.0])
    check_op(lambda a, q: F.cross_entropy(a, q, weight=L.tensor(w), reduction=reduction, label_smoothing=0.1),
             lambda a, q: tF.cross_entropy(a, q, weight=torch.tensor(w), reduction=reduction, label_smoothing=0.1),
             x, p)
    onehot = np.eye(3)[[0, 2, 1, 1]]
    a = L.tensor(x)
    np.testing.assert_allclose(F.cross_entropy(a, L.tensor(onehot), reduction=reduction).numpy(),
                               F.cross_entropy(a, L.tensor([0, 2, 1, 1]), reduction=reduction).numpy(), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction, rn):
    x = rn(5, 4)
    t = np.array([0, 3, 1, 1, 2])
    w = [0.5, 1.0, 1.5, 2.0]
    check_op(lambda a, y: F.nll_loss(F.log_softmax(a, 1), y, weight=L.tensor(np.array(w)), ignore_index=1,
                                     reduction=reduction),
             lambda a, y: tF.nll_loss(tF.log_softmax(a, 1), y, weight=torch.tensor(w), ignore_index=1,
                                      reduction=reduction), x, t)


def test_cross_entropy_errors():
    x = L.randn(4, 3)
    with pytest.raises(IndexError, match="target value 3 is out of range for 3 classes"):
        F.cross_entropy(x, L.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"target of shape \(4,\)"):
        F.cross_entropy(x, L.tensor([0, 1]))
    with pytest.raises(TypeError, match="long"):
        F.cross_entropy(x, L.tensor([0.0, 1.0, 2.0, 0.0]).reshape(4))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, L.tensor([0, 1, 2, 0]), reduction="avg")


def test_shape_mismatch_names_both_shapes_and_the_fix():
    with pytest.raises(ValueError, match=r"\(8, 1\).*\(8,\).*unsqueeze"):
        F.mse_loss(L.randn(8, 1), L.randn(8))
    with pytest.raises(ValueError, match=r"\(8, 1\).*\(8,\)"):
        nn.BCEWithLogitsLoss()(L.randn(8, 1), L.randn(8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_stable_for_huge_logits(dtype):
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [1e4, 1e4, -1e4]], dtype=dtype)
    idx = np.array([1, 1, 2])
    onehot = np.eye(3, dtype=dtype)[idx]
    losses = [
        lambda x: F.cross_entropy(x, L.tensor(idx)),
        lambda x: F.cross_entropy(x, L.tensor(idx), label_smoothing=0.1, weight=L.tensor(np.ones(3, dtype))),
        lambda x: F.cross_entropy(x, L.tensor(onehot)),
        lambda x: F.nll_loss(F.log_softmax(x, 1), L.tensor(idx)),
        lambda x: F.binary_cross_entropy_with_logits(x, L.tensor(onehot)),
        lambda x: F.binary_cross_entropy_with_logits(x, L.tensor(onehot), pos_weight=L.tensor(np.full(3, 2, dtype))),
        lambda x: F.binary_cross_entropy(F.sigmoid(x), L.tensor(onehot)),
        lambda x: F.hinge_loss(x, L.tensor(onehot * 2 - 1)),
        lambda x: F.multilabel_soft_margin_loss(x, L.tensor(onehot)),
    ]
    for f in losses:
        x = L.tensor(big, requires_grad=True)
        loss = f(x)
        loss.backward()
        assert loss.dtype == dtype
        assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
    # and the values are right: CE of the huge logits
    t = torch.tensor(big.astype(np.float64))
    np.testing.assert_allclose(F.cross_entropy(L.tensor(big.astype(np.float64)), L.tensor(idx)).item(),
                               tF.cross_entropy(t, torch.tensor(idx)).item())


def test_loss_modules_match_functions():
    x, y = L.randn(5, 3), L.tensor([0, 2, 1, 1, 0])
    yf = L.rand(5, 3)
    cases = [
        (nn.CrossEntropyLoss(label_smoothing=0.1), F.cross_entropy(x, y, label_smoothing=0.1), y),
        (nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0]), F.cross_entropy(x, y, weight=L.tensor([1.0, 2.0, 3.0])), y),
        (nn.NLLLoss(reduction="sum"), F.nll_loss(x, y, reduction="sum"), y),
        (nn.MSELoss(), F.mse_loss(x, yf), yf),
        (nn.L1Loss(reduction="none"), F.l1_loss(x, yf, "none"), yf),
        (nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 1.0]),
         F.binary_cross_entropy_with_logits(x, yf, pos_weight=L.tensor([2.0, 1.0, 1.0])), yf),
        (nn.BCELoss(), F.binary_cross_entropy(F.sigmoid(x), yf), yf),
        (nn.HuberLoss(delta=0.5), F.huber_loss(x, yf, delta=0.5), yf),
        (nn.SmoothL1Loss(), F.smooth_l1_loss(x, yf), yf),
        (nn.HingeLoss(), F.hinge_loss(x, yf * 0 + 1), yf * 0 + 1),
    ]
    for mod, expected, target in cases:
        inp = F.sigmoid(x) if isinstance(mod, nn.BCELoss) else x
        np.testing.assert_allclose(mod(inp, target).numpy(), expected.numpy(), rtol=1e-6)
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss(label_smoothing=0.1)"


def test_accuracy_and_zero_one_loss():
    logits = L.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 0.0, 0.0]])
    y = L.tensor([0, 1, 1, 0])
    assert F.accuracy(logits, y).item() == 0.75
    assert F.zero_one_loss(logits, y).item() == 0.25
    assert F.zero_one_loss(logits, y, reduction="sum").item() == 1
    assert F.accuracy(logits, y, reduction="none").tolist() == [1, 1, 0, 1]
    # binary margins with ±1 labels (the hinge setting) and 0/1 labels, (N, 1) scores
    f = L.tensor([[0.3], [-2.0], [1.5], [-0.1]])
    assert F.accuracy(f, L.tensor([1.0, -1.0, -1.0, -1.0])).item() == 0.75
    assert F.zero_one_loss(f, L.tensor([[1], [0], [0], [0]])).item() == 0.25
    # probabilities with threshold 0.5
    assert F.accuracy(L.tensor([0.9, 0.2, 0.6]), L.tensor([1, 0, 0]), threshold=0.5).item() == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="do not match"):
        F.accuracy(L.randn(4, 3), L.randn(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_default_ignore_index_in_targets(reduction, rn):
    x = rn(5, 3)
    t = np.array([0, -100, 2, -100, 1])
    check_op(lambda a, y: F.cross_entropy(a, y, reduction=reduction),
             lambda a, y: tF.cross_entropy(a, y, reduction=reduction), x, t)
