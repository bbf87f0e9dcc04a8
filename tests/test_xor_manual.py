"""``lamina xor --manual``: the 2-2-1 sigmoid network's backpropagation written by hand equals autograd's."""
import re

import numpy as np
import pytest
import torch

from lamina import demo
from lamina.cli import main


def _random_params(rng, hidden=2):
    return {"W1": rng.normal(size=(2, hidden)), "b1": rng.normal(size=hidden),
            "W2": rng.normal(size=(hidden, 1)), "b2": rng.normal(size=1)}


@pytest.mark.parametrize("hidden", [2, 5])
def test_manual_gradients_equal_autograd_on_random_weights(hidden):
    rng = np.random.default_rng(7)
    for _ in range(5):
        params = _random_params(rng, hidden)
        X = rng.uniform(-1, 1, size=(9, 2))
        y = (rng.uniform(size=9) > 0.5).astype(float)
        manual = demo.xor_manual_gradients(params, X, y)
        auto = demo.xor_autograd_gradients(params, X, y)
        for k in params:
            assert manual[k].shape == params[k].shape
            np.testing.assert_allclose(manual[k], auto[k], rtol=1e-10, atol=1e-12)


def test_manual_gradients_equal_torch():
    rng = np.random.default_rng(3)
    params = _random_params(rng)
    X, y = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0.0, 1, 1, 0])
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    a2 = torch.sigmoid(torch.sigmoid(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"])
    torch.nn.functional.binary_cross_entropy(a2, torch.tensor(y).reshape(-1, 1)).backward()
    manual = demo.xor_manual_gradients(params, X, y)
    for k in params:
        np.testing.assert_allclose(manual[k], t[k].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_wrong_hand_gradient_is_caught(monkeypatch):
    real = demo.xor_manual_gradients

    def wrong(params, X, y):  # forgets σ'(z1) = a1 (1 − a1) in the hidden layer
        g = real(params, X, y)
        g["b1"] = g["b1"] * 4
        return g

    monkeypatch.setattr(demo, "xor_manual_gradients", wrong)
    with pytest.raises(AssertionError, match="step 0: the hand-written ∂J/∂b1"):
        demo.train_xor_manual(epochs=3, out=lambda m: None)


def test_cli_xor_manual_shows_both_gradients_and_learns(capsys):
    assert main(["xor", "--manual", "--epochs", "800"]) == 0  # default lr 2.0 and seed 2
    out = capsys.readouterr().out
    steps = re.findall(r"^step (\d+): J = ", out, re.M)
    assert steps == ["0", "1", "2", "799"]
    assert "by hand" in out and "autograd" in out
    for line in re.findall(r"^  ∂J/∂\w+ .*$", out, re.M):  # the two columns hold the same numbers
        fields = line.split()[1:-1]
        half = len(fields) // 2
        assert fields[:half] == fields[half:], line
        assert float(line.split()[-1]) <= 1e-12
    assert "equal autograd's at all 800 steps" in out
    assert re.search(r"accuracy 1\.00", out), out


def test_cli_xor_manual_flags(capsys):
    assert main(["xor", "--manual", "--epochs", "4", "--hidden", "3", "--seed", "0", "--lr", "0.5"]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"^step (\d+):", out, re.M) == ["0", "1", "2", "3"]
    assert main(["xor", "--manual", "--lr", "-1"]) == 2
    assert "--lr must be > 0" in capsys.readouterr().err
