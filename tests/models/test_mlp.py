"""lamina.models: MLP and the 2-2-1 XOR network (forward + backward shapes, PyTorch equivalence, training)."""
import numpy as np
import pytest
import torch

import lamina as L
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.models import MLP, XORNet


def test_mlp_structure_forward_backward():
    m = MLP([784, 256, 128, 10])
    assert [type(x).__name__ for x in m] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert m.num_parameters() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    x = L.randn(16, 784)
    out = m(x)
    assert out.shape == (16, 10) and out.dtype == np.float32
    F.cross_entropy(out, L.randint(0, 10, (16,))).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in m.parameters())
    full = MLP([5, 8, 8, 3], activation="tanh", dropout=0.2, batchnorm=True)
    assert [type(x).__name__ for x in full] == ["Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d",
                                                "Tanh", "Dropout", "Linear"]
    assert full(L.randn(4, 5)).shape == (4, 3)
    assert MLP([3, 4, 2], activation=nn.LeakyReLU)[1].negative_slope == 0.01
    selu = MLP([50, 40, 2], activation="selu", dropout=0.1)
    assert isinstance(selu[2], nn.AlphaDropout) and not selu[0].bias.numpy().any()
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([2, 2, 2], activation="swoosh")
    with pytest.raises(ValueError, match="at least an input and an output"):
        MLP([3])


def test_mlp_loads_torch_sequential_and_matches_outputs_and_gradients():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8), torch.nn.ReLU(),
                            torch.nn.Linear(8, 4)).float()
    m = MLP([12, 16, 8, 4])
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 12)).astype(np.float32)
    y = rng.integers(0, 4, 9)
    lo = F.cross_entropy(m(L.tensor(x)), L.tensor(y))
    to = torch.nn.functional.cross_entropy(t(torch.tensor(x)), torch.tensor(y))
    np.testing.assert_allclose(lo.item(), to.item(), rtol=1e-6)
    lo.backward()
    to.backward()
    for (name, p), tp in zip(m.named_parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def _train(m, xb, yb, steps, lr):
    params = list(m.parameters())
    bufs = [np.zeros_like(p.numpy()) for p in params]
    for _ in range(steps):
        m.zero_grad()
        loss = nn.BCEWithLogitsLoss()(m(xb), yb)
        loss.backward()
        with L.no_grad():
            for p, b in zip(params, bufs):
                b *= 0.9
                b += p.grad.numpy()
                w = p.numpy()
                w -= lr * b
    return loss.item()


def test_xor_net_learns_the_xor_table():
    """The four points {0,1}² with label x₁ xor x₂, a 2-2-1 net with sigmoid hidden units, BCE with logits."""
    L.manual_seed(0)
    m = XORNet()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    X = L.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = L.tensor([[0.0], [1.0], [1.0], [0.0]])
    loss = _train(m, X, y, 1500, 0.5)
    assert F.accuracy(m(X), y).item() == 1.0 and loss < 0.05, loss


def test_xor_quadrants_with_a_wider_hidden_layer():
    """Points in [-1, 1]², label sign(x₁) xor sign(x₂). With two sigmoid units training plateaus
    near 87% accuracy (one smooth boundary cannot follow both axes), so this uses 8 hidden units."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (400, 2)).astype(np.float32)
    y = ((X[:, 0] >= 0) ^ (X[:, 1] >= 0)).astype(np.float32)[:, None]
    L.manual_seed(0)
    m = XORNet(hidden_dim=8)
    xb, yb = L.tensor(X * 4), L.tensor(y)
    loss = _train(m, xb, yb, 1500, 0.2)
    assert F.accuracy(m(xb), yb).item() > 0.95, loss


def test_mlp_fuses_linear_relu_but_keeps_hooks_working():
    m = MLP([6, 5, 4, 2])
    x = L.randn(3, 6)
    unfused = m[4](m[3](m[2](m[1](m[0](x)))))
    np.testing.assert_allclose(m(x).numpy(), unfused.numpy(), rtol=1e-6)
    assert type(m(x).grad_fn).__name__ == "Linear" and type(m[1](m[0](x)).grad_fn).__name__ != "LinearReLU"
    seen = []
    h = m[1].register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    np.testing.assert_allclose(m(x).numpy(), unfused.numpy(), rtol=1e-6)
    assert seen == [(3, 5)]
    h.remove()
