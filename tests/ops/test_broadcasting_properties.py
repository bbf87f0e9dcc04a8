"""Property tests: broadcasting shapes and gradient reduction for random shapes."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lamina as L


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4))
    return shapes.input_shapes, shapes.result_shape


@settings(max_examples=60, deadline=None)
@given(broadcastable_pair(), st.sampled_from(["add", "sub", "mul", "div", "maximum"]))
def test_binary_op_broadcast_shape_and_gradient_shapes(pair, op):
    (sa, sb), result = pair
    rng = np.random.default_rng(0)
    a = L.tensor(rng.standard_normal(sa), requires_grad=True)
    b = L.tensor(rng.uniform(1, 2, sb), requires_grad=True)
    out = getattr(L, op)(a, b)
    assert out.shape == result
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    if op == "add":  # each input element is counted once per output element it reaches
        np.testing.assert_allclose(a.grad.numpy(), np.full(sa, np.prod(result) / max(np.prod(sa), 1)))


@settings(max_examples=40, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), st.data())
def test_reductions_shapes_with_dim_and_keepdim(shape, data):
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim, unique_by=lambda d: d % ndim))
    keep = data.draw(st.booleans())
    x = L.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape), requires_grad=True)
    y = x.sum(tuple(dims), keepdim=keep)
    expected = np.sum(x.numpy(), axis=tuple(dims), keepdims=keep)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones(shape))


@settings(max_examples=40, deadline=None)
@given(hnp.array_shapes(min_dims=2, max_dims=4, max_side=4), st.randoms())
def test_permute_reshape_round_trip_gradient(shape, rnd):
    perm = list(range(len(shape)))
    rnd.shuffle(perm)
    x = L.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    w = np.random.default_rng(2).standard_normal(shape)
    y = x.permute(*perm).reshape(-1)
    (y * L.tensor(w.transpose(perm).reshape(-1))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), w)
