"""Adamax against torch.optim.Adamax: 20 steps from the same weights give the same parameters and state (1e-12,
float64), with weight decay and maximize."""
import pytest
from optim_vs_torch import assert_matches_torch

import lamina
import lamina.optim as lo

CONFIGS = [
    dict(),
    dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=1e-2, weight_decay=0.1),
    dict(lr=1e-2, maximize=True),
    dict(lr=1e-2, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=str)
def test_matches_torch(kw):
    assert_matches_torch("Adamax", kw)


def test_defaults_and_errors():
    p = lamina.zeros(3, requires_grad=True)
    g = lo.Adamax([p]).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["weight_decay"], g["maximize"]) == (2e-3, (0.9, 0.999), 1e-8, 0.0,
                                                                                 False)
    with pytest.raises(ValueError, match="Adamax: invalid eps -1"):
        lo.Adamax([p], eps=-1)
