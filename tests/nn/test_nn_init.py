"""Initialisers: formulas (statistics of large draws), seeding, in-place under no graph."""
import math

import numpy as np
import pytest
import torch

import lamina as L
import lamina.nn as nn
from lamina.nn import init


def big(*shape):
    return nn.Parameter(L.empty(*shape))


def test_calculate_gain_matches_torch():
    for nl, p in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                  ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)]:
        assert init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swoosh")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(L.empty(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(L.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="at least 2 dims"):
        init._calculate_fan_in_and_fan_out(L.empty(5))


@pytest.mark.parametrize("fn,std", [
    (lambda t: init.normal_(t, 0.5, 0.02), 0.02),
    (lambda t: init.xavier_normal_(t), math.sqrt(2 / (400 + 300))),
    (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(6 / 700) / math.sqrt(3)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(400) / math.sqrt(3)),
    (lambda t: init.lecun_normal_(t), 1 / math.sqrt(400)),
    (lambda t: init.lecun_uniform_(t), 1 / math.sqrt(400)),
    (lambda t: init.uniform_(t, -3, 3), 3 / math.sqrt(3)),
    (lambda t: init.trunc_normal_(t, 0, 1, -2, 2), 0.8796),
])
def test_draw_statistics(fn, std):
    w = big(300, 400)
    fn(w)
    assert w.dtype == np.float32 and w.grad is None and w.requires_grad and w.is_leaf
    assert abs(w.numpy().std() - std) < 0.02 * std
    assert len(np.unique(w.numpy())) > 1000


def test_kaiming_uniform_bound_and_truncation():
    w = big(50, 60)
    init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 60)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.95 * bound
    init.trunc_normal_(w, 0.0, 1.0, -0.5, 0.5)
    assert np.abs(w.numpy()).max() <= 0.5


def test_constants_and_orthogonal():
    b = big(10)
    init.constant_(b, 0.01)  # ReLU biases slightly positive, so the units start active
    assert (b.numpy() == np.float32(0.01)).all()
    init.zeros_(b)
    assert not b.numpy().any()
    init.ones_(b)
    assert (b.numpy() == 1).all()
    e = big(3, 4)
    init.eye_(e)
    np.testing.assert_array_equal(e.numpy(), np.eye(3, 4))
    q = big(6, 4)
    init.orthogonal_(q)
    np.testing.assert_allclose(q.numpy().T @ q.numpy(), np.eye(4), atol=1e-5)


def test_seeded_and_reproducible():
    L.manual_seed(123)
    a = nn.Linear(20, 10).weight.numpy().copy()
    L.manual_seed(123)
    b = nn.Linear(20, 10).weight.numpy().copy()
    np.testing.assert_array_equal(a, b)
    c = nn.Linear(20, 10).weight.numpy()
    assert not np.array_equal(a, c)
    g = L.Generator().manual_seed(5)
    w1 = init.normal_(big(4, 4), generator=g).numpy().copy()
    g.manual_seed(5)
    np.testing.assert_array_equal(init.normal_(big(4, 4), generator=g).numpy(), w1)


def test_init_works_on_parameters_in_grad_mode_and_records_nothing():
    lin = nn.Linear(3, 3)
    init.xavier_uniform_(lin.weight)  # a leaf that requires grad, outside no_grad: allowed, as in torch
    assert lin.weight.grad_fn is None


def test_default_init_is_kaiming_uniform_sqrt5_then_fan_in_uniform_bias():
    g = L.Generator().manual_seed(3)
    w, b = big(6, 4, 3, 3), big(6)
    init.default_(w, b, generator=g)
    bound = 1 / math.sqrt(4 * 3 * 3)
    assert 0.9 * bound < np.abs(w.numpy()).max() <= bound and np.abs(b.numpy()).max() <= bound
    g.manual_seed(3)
    w2 = init.kaiming_uniform_(big(6, 4, 3, 3), a=math.sqrt(5), generator=g)
    b2 = init.uniform_(big(6), -bound, bound, generator=g)
    np.testing.assert_array_equal(w.numpy(), w2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())


@pytest.mark.parametrize("make", [lambda: nn.Linear(5, 3), lambda: nn.Conv2d(4, 6, 3),
                                  lambda: nn.ConvTranspose2d(4, 6, 2, groups=2)])
def test_layers_draw_their_default_init_from_the_global_generator(make):
    L.manual_seed(9)
    layer = make()
    w, b = big(*layer.weight.shape), big(*layer.bias.shape)
    L.manual_seed(9)
    init.default_(w, b)
    np.testing.assert_array_equal(layer.weight.numpy(), w.numpy())
    np.testing.assert_array_equal(layer.bias.numpy(), b.numpy())
    unbiased = nn.Linear(5, 3, bias=False)
    init.default_(unbiased.weight, unbiased.bias)
    assert unbiased.bias is None


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((3, 5, 2, 2), 1), ((8, 2, 3, 3, 3), 4),
                                           ((5, 2, 4), 1)])
def test_dirac_matches_torch(shape, groups):
    w, t = big(*shape), torch.empty(*shape)
    init.dirac_(w, groups)
    torch.nn.init.dirac_(t, groups)
    np.testing.assert_array_equal(w.detach().numpy(), t.numpy())
    assert w.grad_fn is None and w.requires_grad


def test_dirac_refuses_other_ranks_and_uneven_groups():
    with pytest.raises(ValueError, match=r"dirac_: expects a 3-, 4- or 5-D convolution weight, got shape \(3, 3\)"):
        init.dirac_(big(3, 3))
    with pytest.raises(ValueError, match="do not split into 2 groups"):
        init.dirac_(big(3, 3, 3), groups=2)
