"""NAdam against torch.optim.NAdam: 20 steps from the same weights give the same parameters and state (1e-12,
float64), for coupled and decoupled weight decay, maximize and a fast momentum schedule."""
import numpy as np
import pytest
from optim_vs_torch import assert_matches_torch

import lamina
import lamina.optim as lo

CONFIGS = [
    dict(),
    dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=1e-2, weight_decay=0.1),
    dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
    dict(lr=1e-2, momentum_decay=0.3, maximize=True),
    dict(lr=1e-2, weight_decay=0.05, decoupled_weight_decay=True, maximize=True),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=str)
def test_matches_torch(kw):
    assert_matches_torch("NAdam", kw)


def test_defaults_and_errors():
    p = lamina.zeros(3, requires_grad=True)
    g = lo.NAdam([p]).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["weight_decay"], g["momentum_decay"],
            g["decoupled_weight_decay"], g["maximize"]) == (2e-3, (0.9, 0.999), 1e-8, 0.0, 4e-3, False, False)
    with pytest.raises(ValueError, match="NAdam: invalid momentum_decay -1"):
        lo.NAdam([p], momentum_decay=-1)
    with pytest.raises(ValueError, match="NAdam: invalid betas"):
        lo.NAdam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="capturable=True is not supported"):
        lo.NAdam([p], capturable=True)


def test_loads_a_torch_state_dict():
    """mu_product and step arrive as 0-d tensors from torch; they become numbers."""
    import torch
    tp = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.NAdam([tp], lr=0.1)
    tp.grad = torch.ones(3, dtype=torch.float64)
    topt.step()
    sd = topt.state_dict()
    sd = {"state": {k: {n: v.numpy() for n, v in s.items()} for k, s in sd["state"].items()},
          "param_groups": sd["param_groups"]}
    p = lamina.tensor(tp.detach().numpy().copy(), requires_grad=True)
    opt = lo.NAdam([p])
    opt.load_state_dict(sd)
    state = opt.state[p]
    assert isinstance(state["mu_product"], float) and state["step"] == 1
    p.grad = lamina.ones(3, dtype=lamina.float64)
    tp.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    topt.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)   # torch's mu_product is float32 here
