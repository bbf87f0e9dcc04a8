"""Activations through the shared op checker (values and gradients vs PyTorch, finite differences,
second derivatives, forward mode), plus their modules."""
import numpy as np
import pytest
import torch
from opcheck import check_op

import lamina as L
import lamina.nn as nn
import lamina.nn.functional as F

tF = torch.nn.functional


def away_from_kinks(rng, *shape):
    """Normal values kept 0.05 away from 0, where relu-like functions have a kink (finite differences)."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.1 * np.sign(x) + 0.05, x)


ACTIVATIONS = [
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("relu", F.relu, tF.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: tF.leaky_relu(x, 0.2)),
    ("elu", lambda x: F.elu(x, 1.3), lambda x: tF.elu(x, 1.3)),
    ("selu", F.selu, tF.selu),
    ("silu", F.silu, tF.silu),
    ("swish_beta", lambda x: F.swish(x, 1.7), lambda x: x * torch.sigmoid(1.7 * x)),
    ("sine", F.sine, torch.sin),
    ("softplus", F.softplus, tF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 3.0), lambda x: tF.softplus(x, 2.0, 3.0)),
    ("softmax", lambda x: F.softmax(x, -1), lambda x: tF.softmax(x, -1)),
    ("softmax_dim0", lambda x: F.softmax(x, 0), lambda x: tF.softmax(x, 0)),
    ("log_softmax", lambda x: F.log_softmax(x, 1), lambda x: tF.log_softmax(x, 1)),
    ("softmin", lambda x: F.softmin(x, 1), lambda x: tF.softmin(x, 1)),
    ("gelu", F.gelu, tF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda x: tF.gelu(x, approximate="tanh")),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.8), lambda x: tF.hardtanh(x, -0.5, 0.8)),
    ("relu6", lambda x: F.relu6(x * 4), lambda x: tF.relu6(x * 4)),
    ("logsigmoid", F.logsigmoid, tF.logsigmoid),
    ("softsign", F.softsign, tF.softsign),
]


@pytest.mark.parametrize("name,lf,tf", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_against_torch(name, lf, tf, rng):
    check_op(lf, tf, away_from_kinks(rng, 3, 4))


def test_softplus_threshold_branch():
    x = np.array([[-30.0, -2.0, 0.3, 15.0, 25.0]])
    check_op(lambda t: F.softplus(t, 1.5, 10.0), lambda t: tF.softplus(t, 1.5, 10.0), x)


def test_swish_learnable_beta_gets_gradient(rng):
    x = away_from_kinks(rng, 5)
    check_op(lambda t, b: F.swish(t, b), lambda t, b: t * torch.sigmoid(b * t), x, np.array(0.7))
    m = nn.Swish(1.5, trainable=True)
    assert [n for n, _ in m.named_parameters()] == ["beta"]
    m(L.tensor(x.astype(np.float32))).sum().backward()
    assert m.beta.grad is not None and m.beta.grad.shape == ()


def test_step_is_heaviside_without_gradient():
    x = L.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = F.step(x)
    assert y.tolist() == [0.0, 0.0, 1.0] and y.dtype == np.float32 and not y.requires_grad
    assert nn.Step()(x).tolist() == [0.0, 0.0, 1.0]


def test_selu_constants_exact():
    assert F.SELU_ALPHA == 1.6732632423543772848170429916717
    assert F.SELU_SCALE == 1.0507009873554804934193349852946


def test_activations_keep_float32_and_are_stable():
    x = L.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True)
    for f in (F.sigmoid, F.tanh, F.elu, F.selu, F.silu, F.softplus, F.logsigmoid, F.leaky_relu,
              lambda t: F.softmax(t, 0), lambda t: F.log_softmax(t, 0), lambda t: F.gelu(t, "tanh")):
        x.grad = None
        y = f(x)
        assert y.dtype == np.float32
        y.sum().backward()
        assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


MODULES = [
    (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Tanh(), torch.nn.Tanh()), (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)), (nn.ELU(0.5), torch.nn.ELU(0.5)), (nn.SELU(), torch.nn.SELU()),
    (nn.SiLU(), torch.nn.SiLU()), (nn.Softplus(2.0), torch.nn.Softplus(2.0)), (nn.Softmax(1), torch.nn.Softmax(1)),
    (nn.LogSoftmax(1), torch.nn.LogSoftmax(1)), (nn.GELU(), torch.nn.GELU()), (nn.Hardtanh(), torch.nn.Hardtanh()),
    (nn.ReLU6(), torch.nn.ReLU6()), (nn.LogSigmoid(), torch.nn.LogSigmoid()), (nn.Softsign(), torch.nn.Softsign()),
    (nn.Identity(), torch.nn.Identity()),
]


@pytest.mark.parametrize("lm,tm", MODULES, ids=[type(m[0]).__name__ for m in MODULES])
def test_activation_modules_match_torch(lm, tm, rng):
    x = (rng.standard_normal((4, 5)) * 3).astype(np.float32)
    np.testing.assert_allclose(lm(L.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    assert repr(lm).split("(")[0] == repr(tm).split("(")[0]


def test_sine_module_and_prelu(rng):
    x = away_from_kinks(rng, 2, 3)
    np.testing.assert_allclose(nn.Sine()(L.tensor(x)).numpy(), np.sin(x))
    check_op(F.prelu, tF.prelu, x, np.array([0.1, 0.2, 0.3]))
    check_op(F.prelu, tF.prelu, x, np.array([0.25]))
    pl, pt = nn.PReLU(3), torch.nn.PReLU(3).float()
    xf = x.astype(np.float32)
    np.testing.assert_allclose(pl(L.tensor(xf)).numpy(), pt(torch.tensor(xf)).detach().numpy(), rtol=1e-6)


def test_prelu_prints_its_num_parameters_attribute_and_parameter_count():
    """PReLU's num_parameters is an int (PyTorch's attribute); printing it, or a model holding it, still works."""
    assert nn.PReLU(3).num_parameters == 3
    assert repr(nn.PReLU(3)) == "PReLU(num_parameters=3)  # 3 parameters"
    assert "(1): PReLU(num_parameters=1)  # 1 parameter" in repr(nn.Sequential(nn.Linear(2, 3), nn.PReLU()))
