"""``func.functional_call`` against ``torch.func.functional_call``: values, gradients with respect to the
given dict, restoring the module, tied weights, strict mode."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import func


def _pair(seed):
    rng = np.random.default_rng(seed)
    arrays = {"0.weight": rng.standard_normal((5, 3)), "0.bias": rng.standard_normal(5),
              "2.weight": rng.standard_normal((2, 5)), "2.bias": rng.standard_normal(2)}
    lm = lamina.nn.Sequential(lamina.nn.Linear(3, 5), lamina.nn.Tanh(), lamina.nn.Linear(5, 2)).double()
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    return lm, tm, arrays, rng.standard_normal((4, 3))


def test_values_and_gradients_match_torch_and_module_is_restored():
    lm, tm, arrays, x = _pair(0)
    before = {k: v.numpy().copy() for k, v in lm.state_dict().items()}

    def loss(lib, model, p, x):
        return (lib.func.functional_call(model, p, (x,)) ** 2).sum()

    lp = {k: lamina.tensor(v) for k, v in arrays.items()}
    tp = {k: torch.tensor(v) for k, v in arrays.items()}
    lg = func.grad(lambda p: loss(lamina, lm, p, lamina.tensor(x)))(lp)
    tg = torch.func.grad(lambda p: loss(torch, tm, p, torch.tensor(x)))(tp)
    for k in arrays:
        np.testing.assert_allclose(lg[k].numpy(), tg[k].numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(func.functional_call(lm, lp, lamina.tensor(x)).numpy(),
                               torch.func.functional_call(tm, tp, torch.tensor(x)).detach().numpy(), rtol=1e-12)
    for k, v in lm.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_partial_dicts_tied_weights_and_strict():
    lin = lamina.nn.Linear(2, 2, bias=False)
    model = lamina.nn.Sequential(lin, lin)
    w = lamina.eye(2) * 2.0
    out = func.functional_call(model, {"0.weight": w}, (lamina.ones(1, 2),))
    np.testing.assert_allclose(out.numpy(), [[4.0, 4.0]])  # both uses of the tied weight replaced
    with pytest.raises(RuntimeError, match="missing keys"):
        func.functional_call(lamina.nn.Linear(2, 2), {"weight": w}, (lamina.ones(1, 2),), strict=True)
    with pytest.raises(AttributeError, match="neither a parameter nor a buffer"):
        func.functional_call(lamina.nn.Linear(2, 2), {"scale": w}, (lamina.ones(1, 2),))
