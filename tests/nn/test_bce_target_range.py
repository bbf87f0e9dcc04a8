"""BCE refuses targets outside [0, 1] as PyTorch does; BCE-with-logits accepts any target, as PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lamina
import lamina.nn.functional as F
from lamina import nn


@pytest.mark.parametrize("bad", [2.0, -0.5])
def test_bce_rejects_targets_outside_unit_interval(bad):
    p = np.array([0.3, 0.6, 0.9])
    y = np.array([0.0, 1.0, bad])
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y))
    lo, hi = min(0.0, bad), max(1.0, bad)
    with pytest.raises(ValueError, match=rf"binary_cross_entropy: target .*\[{lo:g}, {hi:g}\]"):
        F.binary_cross_entropy(lamina.tensor(p), lamina.tensor(y))
    with pytest.raises(ValueError, match="binary_cross_entropy: target"):
        nn.BCELoss()(lamina.tensor(p), lamina.tensor(y))


def test_bce_accepts_soft_targets_in_the_interval():
    rng = np.random.default_rng(0)
    p, y = rng.uniform(0.05, 0.95, 6), rng.uniform(0.0, 1.0, 6)
    y[0], y[1] = 0.0, 1.0
    ours = F.binary_cross_entropy(lamina.tensor(p), lamina.tensor(y)).item()
    assert ours == pytest.approx(TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item(), rel=1e-12)


def test_bce_with_logits_takes_any_target_as_torch():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(5), np.array([2.0, -1.0, 0.5, 3.0, 0.0])
    xl = lamina.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ours = F.binary_cross_entropy_with_logits(xl, lamina.tensor(y))
    ref = TF.binary_cross_entropy_with_logits(xt, torch.tensor(y))
    assert ours.item() == pytest.approx(ref.item(), rel=1e-12)
    ours.backward()
    ref.backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
