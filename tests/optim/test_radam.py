"""RAdam against torch.optim.RAdam: 20 steps (through the un-rectified first steps into the rectified ones)
from the same weights give the same parameters and state (1e-12, float64)."""
import pytest
from optim_vs_torch import assert_matches_torch

import lamina
import lamina.optim as lo

CONFIGS = [
    dict(),
    dict(lr=1e-2, betas=(0.8, 0.9), eps=1e-6),
    dict(lr=1e-2, betas=(0.9, 0.9), weight_decay=0.1),
    dict(lr=1e-2, betas=(0.9, 0.9), weight_decay=0.1, decoupled_weight_decay=True),
    dict(lr=1e-2, betas=(0.9, 0.95), maximize=True),
    dict(lr=1e-2, weight_decay=0.05, decoupled_weight_decay=True, maximize=True),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=str)
def test_matches_torch(kw):
    assert_matches_torch("RAdam", kw)


def test_both_branches_are_taken():
    """β2 = 0.9: ρ_t ≤ 5 for the first 5 steps (momentum only), rectified afterwards."""
    flags = [lo.functional.radam_coefficients(0.9, 0.9, t)[0] for t in range(1, 21)]
    assert flags[:5] == [False] * 5 and all(flags[5:])


def test_defaults_and_errors():
    p = lamina.zeros(3, requires_grad=True)
    g = lo.RAdam([p]).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["weight_decay"], g["decoupled_weight_decay"], g["maximize"]) == \
        (1e-3, (0.9, 0.999), 1e-8, 0.0, False, False)
    with pytest.raises(ValueError, match="RAdam: invalid learning rate -1"):
        lo.RAdam([p], lr=-1)
