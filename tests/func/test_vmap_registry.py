"""Every case of the op registry under ``vmap`` over a batch of 3 equals stacking the 3 separate calls, in
the values and in the per-sample vector-Jacobian products (so each op's batching rule — or the fallback —
and the backward rules on the batch are checked)."""
from __future__ import annotations

import numpy as np
import pytest
from ops.test_op_registry import CASES, IDS

import lamina
from lamina import func
from lamina.func import batching

# cases that change a tensor in place: vmap refuses in-place changes of a batched tensor with a clear error
_IN_PLACE = {"SetItem"}


def _batch(arrays, seed):
    """Three samples near each input: x·(1 + u), u uniform in ±5 % (keeps each input in its op's domain)."""
    rng = np.random.default_rng(seed)
    return [np.stack([a * (1 + rng.uniform(-0.05, 0.05, a.shape)) for _ in range(3)]) for a in arrays]


def _vjp(lf, u):
    def f(*xs):
        out, fn = func.vjp(lf, *xs)
        return (out, *fn(u))

    return f


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_of_each_case_equals_stacked_calls(case):
    name, lf, _, arrays, options = case
    batch = _batch(arrays, 7)
    if name in _IN_PLACE:
        with pytest.raises(RuntimeError, match=r"vmap: in-place changes of a batched tensor \(shape \(3,"):
            func.vmap(lf)(*[lamina.tensor(b) for b in batch])
        return
    with np.errstate(all="ignore"):
        got = func.vmap(lf)(*[lamina.tensor(b) for b in batch])
        want = np.stack([lf(*[lamina.tensor(b[i]) for b in batch]).numpy() for i in range(3)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_of_each_case_vjp_equals_stacked_calls(case):
    name, lf, _, arrays, options = case
    if name in _IN_PLACE:
        pytest.skip("vmap refuses in-place changes; test_vmap_of_each_case_equals_stacked_calls checks the error")
    batch = _batch(arrays, 8)
    out_shape = lf(*[lamina.tensor(a) for a in arrays]).shape
    us = np.random.default_rng(9).standard_normal((3, *out_shape))
    got = func.vmap(lambda u, *xs: _vjp(lf, u)(*xs))(lamina.tensor(us), *[lamina.tensor(b) for b in batch])
    for i in range(3):
        want = _vjp(lf, lamina.tensor(us[i]))(*[lamina.tensor(b[i]) for b in batch])
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy()[i], w.numpy(), rtol=1e-9, atol=1e-11)


def test_fallback_is_exercised_and_rules_cover_the_common_kinds():
    from lamina.autograd.op import Op
    names = {cls.__name__: batching.rule_for(object.__new__(cls)).__name__ for cls in Op.registry}
    assert names["Add"] == names["Exp"] == "elementwise"
    assert names["Sum"] == "reduction" and names["MatMul"] == "matmul" and names["BatchNorm"] == "fallback"
