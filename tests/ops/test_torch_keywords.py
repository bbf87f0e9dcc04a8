"""axis=/keepdims= aliases and out= behave as in torch."""
import numpy as np
import pytest
import torch

import lamina


def _pair(seed, *shape):
    a = np.random.default_rng(seed).standard_normal(shape)
    return lamina.tensor(a), torch.tensor(a)


@pytest.mark.parametrize("expr", [
    "x.sum(axis=1)", "x.sum(axis=1, keepdims=True)", "x.mean(axis=0)", "x.amax(axis=0)", "x.argmax(axis=1)",
    "x.std(axis=0)", "x.var(axis=1)", "x.prod(axis=0)", "x.cumsum(axis=1)", "x.logsumexp(axis=0)",
    "x.softmax(axis=0)", "x.max(axis=0)[0]", "x.min(axis=1).values", "x.unsqueeze(axis=0)",
    "T.sum(x, axis=0)", "T.cat([x, x], axis=0)", "T.stack([x, x], axis=1)", "T.mean(x, axis=(0, 1), keepdims=True)",
])
def test_numpy_style_dim_names_match_torch(expr):
    x, tx = _pair(0, 3, 4)
    got = eval(expr, {"x": x, "T": lamina})
    want = eval(expr, {"x": tx, "T": torch})
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_both_spellings_of_one_argument_is_an_error():
    x, _ = _pair(1, 3, 4)
    with pytest.raises(TypeError, match="sum.*dim= and its alias axis="):
        x.sum(dim=0, axis=1)


@pytest.mark.parametrize("expr", ["T.add(x, y, out=o)", "T.mul(x, 2.0, out=o)", "T.exp(x, out=o)",
                                  "T.clamp(x, min=0.0, out=o)", "T.matmul(x, y.T[:4, :4], out=o)"])
def test_out_writes_into_the_given_tensor_and_returns_it(expr):
    (x, tx), (y, ty) = _pair(2, 4, 4), _pair(3, 4, 4)
    o, to = lamina.empty(4, 4, dtype=lamina.float64), torch.empty(4, 4, dtype=torch.float64)
    before = o._version
    r = eval(expr, {"x": x, "y": y, "o": o, "T": lamina})
    tr = eval(expr, {"x": tx, "y": ty, "o": to, "T": torch})
    assert r is o and tr is to
    assert o._version > before
    np.testing.assert_allclose(o.numpy(), to.numpy(), rtol=1e-12)


def test_out_of_another_shape_is_resized_and_a_tuple_out_takes_each_result():
    x, tx = _pair(4, 3, 5)
    o = lamina.empty(2)
    lamina.exp(x, out=o)
    assert o.shape == (3, 5)
    v, i = lamina.empty(5), lamina.empty(5, dtype=lamina.int64)
    res = lamina.max(x, 0, out=(v, i))
    assert res[0] is v and res.indices is i
    np.testing.assert_array_equal(i.numpy(), tx.max(0).indices.numpy())


def test_out_refuses_autograd_and_lossy_casts():
    w = lamina.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="exp\\(\\): functions with out=.*requires grad"):
        lamina.exp(w, out=lamina.empty(3))
    with lamina.no_grad():
        lamina.exp(w, out=lamina.empty(3))  # allowed without grad mode, as in torch
    with pytest.raises(RuntimeError, match="add\\(\\): result type float32 can't be cast.*int64"):
        lamina.add(lamina.ones(2), lamina.ones(2), out=lamina.empty(2, dtype=lamina.int64))
