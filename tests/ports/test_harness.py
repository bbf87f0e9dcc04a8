"""The port harness itself: it compares every recorded number, and names the entry and step that differ."""
from __future__ import annotations

import numpy as np
import pytest
from _harness import compare, weights_for


def test_compare_names_the_first_step_that_differs():
    def program(torch, init):
        w = torch.tensor(init["w"])
        drift = 1e-3 if torch.__name__ == "lamina" else 0.0
        return {"losses": [float(w.sum()), float(w.sum()) + drift], "w": w}

    with pytest.raises(AssertionError, match=r"losses: lamina differs from torch at \(1,\)"):
        compare(program, {"w": np.ones(3)}, "float64")


def test_compare_refuses_different_entries():
    def program(torch, init):
        return {"a" if torch.__name__ == "lamina" else "b": 1.0}

    with pytest.raises(AssertionError, match="recorded entries differ"):
        compare(program, {}, "float32")


def test_weights_for_follows_torch_state_dict_and_restores_the_default_dtype():
    import torch

    def build(t):
        return t.nn.Sequential(t.nn.Linear(3, 2), t.nn.BatchNorm1d(2))

    before = torch.get_default_dtype()
    want = "float64" if before == torch.float32 else "float32"
    w = weights_for(build, np.random.default_rng(0), want)
    assert list(w) == list(build(torch).state_dict())
    assert w["0.weight"].dtype == np.dtype(want) and np.all(w["1.running_var"] == 1)
    assert torch.get_default_dtype() == before
