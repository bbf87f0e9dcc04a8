"""Reductions take NumPy's keyword names ``axis`` and ``keepdims`` as PyTorch does, as functions and methods."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina


def _values(r):
    """The tensors of a result (a tensor, or a (values, indices) pair)."""
    return [r] if hasattr(r, "shape") else list(r)


@pytest.mark.parametrize("call", [
    lambda m, x: x.sum(1, keepdims=True),
    lambda m, x: m.sum(x, axis=(0, 1), keepdims=True),
    lambda m, x: x.mean(axis=0),
    lambda m, x: x.argmax(axis=1),
    lambda m, x: x.argmin(axis=0, keepdims=True),
    lambda m, x: x.max(axis=1, keepdims=True),
    lambda m, x: m.min(x, axis=0),
    lambda m, x: x.amax(axis=1),
    lambda m, x: x.std(axis=0, keepdims=True),
    lambda m, x: x.var(axis=1),
    lambda m, x: x.logsumexp(axis=1),
    lambda m, x: m.softmax(x, axis=1),
    lambda m, x: x.log_softmax(axis=0),
    lambda m, x: x.cumsum(axis=1),
    lambda m, x: x.prod(axis=1, keepdims=True),
    lambda m, x: (x > 0).any(axis=1, keepdims=True),
    lambda m, x: (x > 0).all(axis=0),
    lambda m, x: x.sort(axis=1),
    lambda m, x: x.argsort(axis=0),
    lambda m, x: x.topk(2, axis=1),
    lambda m, x: x.count_nonzero(axis=1),
])
def test_numpy_keywords_match_torch(call):
    x = np.random.default_rng(0).standard_normal((3, 4))
    got, ref = _values(call(lamina, lamina.tensor(x))), _values(call(torch, torch.tensor(x)))
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-12)


def test_both_spellings_at_once_is_refused():
    with pytest.raises(TypeError, match=r"sum\(\): got both dim= and its alias axis="):
        lamina.ones(2, 2).sum(dim=0, axis=0)
