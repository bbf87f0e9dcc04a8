"""Version counters: a tensor saved for backward and then changed in place makes backward refuse,
as in PyTorch, instead of returning a wrong gradient."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as L

MSG = "modified by an inplace operation"


def test_every_in_place_op_bumps_the_version():
    t = L.zeros(3)
    steps = [lambda: t.add_(1), lambda: t.sub_(1), lambda: t.mul_(2), lambda: t.div_(2),
             lambda: t.zero_(), lambda: t.fill_(1.0), lambda: t.copy_(L.ones(3)), lambda: t.clamp_(0, 1),
             lambda: t.__setitem__(0, 5.0), lambda: t.__iadd__(1.0), lambda: setattr(t, "data", L.ones(3))]
    for k, step in enumerate(steps, start=1):
        step()
        assert t._version == k
    assert (t * 2)._version == 0  # a new tensor starts at 0


def test_saved_input_changed_in_place_raises_naming_op_and_shape():
    x = L.ones(3, requires_grad=True)
    w = L.full((3,), 2.0)
    y = (x * w).sum()
    w.add_(10)  # without the check backward would give 12 instead of 2
    with pytest.raises(RuntimeError, match=r"Mul's input 1 of shape \(3,\) is at version 1; expected version 0"):
        y.backward()
    # torch raises there too
    xt = torch.ones(3, requires_grad=True)
    wt = torch.full((3,), 2.0)
    yt = (xt * wt).sum()
    wt.add_(10)
    with pytest.raises(RuntimeError, match=MSG):
        yt.backward()


def test_unchanged_graph_gives_the_right_gradient():
    x = L.ones(3, requires_grad=True)
    w = L.full((3,), 2.0)
    (x * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("build,dx", [
    (lambda x, w: (x + w).sum(), 1.0), (lambda x, w: (x - w).sum(), 1.0), (lambda x, w: (-x + w).sum(), -1.0),
    (lambda x, w: (x + w.reshape(3).sum()).sum(), 1.0), (lambda x, w: (x * 3.0 + w[0]).sum(), 3.0),
    (lambda x, w: (x.reshape(3, 1) / 2.0 + w).sum(), 1.5),
])
def test_ops_whose_backward_does_not_read_the_input_do_not_raise(build, dx):
    x = L.ones(3, requires_grad=True)
    w = L.full((3,), 2.0)
    y = build(x, w)
    w.mul_(5)
    with L.no_grad():
        x.add_(1)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, dx))


def test_mul_reads_only_the_other_input():
    x = L.ones(3, requires_grad=True)
    w = L.full((3,), 2.0)
    y = (x * w).sum()
    with L.no_grad():
        x.mul_(4)  # x's own value is not needed for x̄ = w ∘ ȳ (torch does not raise either)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_output_read_by_its_rule_changed_in_place_raises():
    x = L.ones(3, requires_grad=True)
    y = x.exp()
    with L.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"Exp's output of shape \(3,\) is at version 1"):
        y.sum().backward()
    x2 = L.ones(3, requires_grad=True)
    z = x2.exp()
    with L.no_grad():
        z.mul_(2)
    with pytest.raises(RuntimeError, match="Exp's output"):
        (z * 3.0).sum().backward()  # the change seen through a consumer, not at the root


def test_matmul_weight_changed_under_no_grad_raises():
    rng = np.random.default_rng(0)
    x = L.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = L.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = (x @ w).sum()
    with L.no_grad():
        w.sub_(0.1)
    with pytest.raises(RuntimeError, match=MSG):
        y.backward()


@pytest.mark.parametrize("opt", [lambda ps: L.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: L.optim.Adam(ps, lr=0.1),
                                 lambda ps: L.optim.LBFGS(ps, lr=0.5)])
def test_optimizers_bump_the_version_and_keep_training(opt):
    rng = np.random.default_rng(1)
    model = L.nn.Linear(3, 1)
    x, t = L.tensor(rng.standard_normal((8, 3)).astype(np.float32)), L.tensor(rng.standard_normal((8, 1)).astype(np.float32))
    o = opt(list(model.parameters()))
    losses = []

    def closure():
        o.zero_grad()
        loss = ((model(x) - t) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(5):
        losses.append(float(o.step(closure)))
    assert model.weight._version >= 5
    assert losses[-1] < losses[0]


def test_a_graph_kept_across_an_optimizer_step_is_refused():
    rng = np.random.default_rng(2)
    model = L.nn.Linear(3, 1)
    x = L.tensor(rng.standard_normal((8, 3)).astype(np.float32), requires_grad=True)
    o = L.optim.SGD(model.parameters(), lr=0.1)
    loss = (model(x) ** 2).mean()
    loss.backward(retain_graph=True)
    o.step()  # changes the weight that x̄ = ȳ W needs, as torch refuses too
    with pytest.raises(RuntimeError, match=MSG):
        loss.backward()


def test_torch_parameter_version_after_step_matches():
    p = torch.nn.Parameter(torch.ones(3))
    q = L.nn.Parameter(L.ones(3))
    for lib, par in ((torch, p), (L, q)):
        (par * par).sum().backward()
        lib.optim.SGD([par], lr=0.1).step()
    assert p._version == q._version == 1
