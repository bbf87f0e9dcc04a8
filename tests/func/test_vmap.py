"""``func.vmap`` against ``torch.func.vmap`` (float64, to 1e-10): in_dims/out_dims as ints, None, tuples and
dicts, nesting, composition with grad/vjp/jvp, chunks, and the errors for bad dims."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import func


def _same(a, b, tol=1e-10):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y, tol)
        return
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k], tol)
        return
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _both(fn, *arrays):
    """fn(lib, *tensors) for lamina and torch, on the same float64 arrays."""
    return fn(lamina, *[lamina.tensor(a) for a in arrays]), fn(torch, *[torch.tensor(a) for a in arrays])


def test_in_dims_none_tuple_and_negative():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((5, 4))

    def run(lib, x, w, b):
        return lib.func.vmap(lambda x, w, b: (x @ w).tanh() * b.sum(), in_dims=(0, None, -1))(x, w, b)

    _same(*_both(run, x, w, b))


def test_out_dims_and_tuple_outputs():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 2))

    def run(lib, x):
        return lib.func.vmap(lambda r: (r.exp(), r.sum(0), r[0, 0] * 2.0), in_dims=1, out_dims=(1, 0, -1))(x)

    _same(*_both(run, x))


def test_dict_and_nested_in_dims():
    rng = np.random.default_rng(2)
    a, b, c = rng.standard_normal((5, 3)), rng.standard_normal((3, 5)), rng.standard_normal(3)

    def run(lib, a, b, c):
        f = lib.func.vmap(lambda d, c: {"s": d["a"] * d["b"] + c, "m": (d["a"] @ d["b"]).reshape(1)},
                          in_dims=({"a": 0, "b": 1}, None))
        return f({"a": a, "b": b}, c)

    _same(*_both(run, a, b, c))


def test_nested_vmap_is_an_outer_product_of_batches():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))

    def run(lib, x, y):
        inner = lib.func.vmap(lambda u, v: (u * v).sum().sin() + u.softmax(0), in_dims=(None, 0))
        return lib.func.vmap(inner, in_dims=(0, None))(x, y)

    _same(*_both(run, x, y))


def test_unbatched_output_is_broadcast_and_out_dims_none():
    x = np.arange(6.0).reshape(3, 2)
    got = func.vmap(lambda r, c: (c * 2.0, c), in_dims=(0, None), out_dims=(0, None))(lamina.tensor(x),
                                                                                       lamina.tensor(1.5))
    assert got[0].shape == (3,) and np.all(got[0].numpy() == 3.0) and got[1].item() == 1.5


def _mlp(lib, params, x, y):
    w1, b1, w2, b2 = params
    h = lib.tanh(x @ w1.T + b1)
    z = h @ w2.T + b2
    return -(z.log_softmax(-1) * y).sum()


def test_per_sample_gradients_of_an_mlp_match_torch():
    rng = np.random.default_rng(4)
    params = [rng.standard_normal(s) for s in [(6, 4), (6,), (3, 6), (3,)]]
    x, y = rng.standard_normal((8, 4)), np.eye(3)[rng.integers(0, 3, 8)]

    def run(lib, *arrays):
        p, xb, yb = tuple(arrays[:4]), arrays[4], arrays[5]
        return lib.func.vmap(lib.func.grad(lambda q, u, v: _mlp(lib, q, u, v)), in_dims=(None, 0, 0))(p, xb, yb)

    _same(*_both(run, *params, x, y))


def test_per_sample_gradients_through_functional_call_of_a_module():
    rng = np.random.default_rng(5)
    lm, tm = lamina.nn.Linear(4, 3).double(), torch.nn.Linear(4, 3).double()
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    x = rng.standard_normal((6, 4))

    def run(lib, model, x):
        params = {"weight": lib.tensor(w), "bias": lib.tensor(b)}

        def loss(p, xi):
            return lib.func.functional_call(model, p, (xi,)).tanh().sum()

        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0))(params, x)

    _same(run(lamina, lm, lamina.tensor(x)), run(torch, tm, torch.tensor(x)))


def test_vmap_of_jvp_and_of_vjp_and_grad_of_vmap():
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def f(r):
        return (r.sin() * r.sum()).cumsum(0)

    def run(lib, x, t):
        jv = lib.func.vmap(lambda p, v: lib.func.jvp(f, (p,), (v,))[1])(x, t)
        vj = lib.func.vmap(lambda p, u: lib.func.vjp(f, p)[1](u)[0])(x, t)
        gv = lib.func.grad(lambda p: lib.func.vmap(f)(p).pow(2).sum())(x)
        return jv, vj, gv

    _same(*_both(run, x, t))


def test_vjp_fn_called_under_vmap_and_nested_vmap_of_grad():
    rng = np.random.default_rng(7)
    x, us = rng.standard_normal(4), rng.standard_normal((5, 4))

    def run(lib, x, us):
        _, fn = lib.func.vjp(lambda r: r.exp() * r.sum(), x)
        rows = lib.func.vmap(fn)(us)[0]
        g2 = lib.func.vmap(lib.func.vmap(lib.func.grad(lambda a, b: (a * b).sin().sum()), in_dims=(0, None)),
                           in_dims=(None, 0))(us, us[:3])
        return rows, g2

    _same(*_both(run, x, us))


def test_chunk_size_gives_the_same_result():
    x = lamina.tensor(np.random.default_rng(8).standard_normal((7, 3)))
    f = func.vmap(lambda r: (r.exp() @ r, r.sum()), out_dims=(0, -1))
    for chunk in (1, 3):
        _same(func.vmap(lambda r: (r.exp() @ r, r.sum()), out_dims=(0, -1), chunk_size=chunk)(x), f(x))


def test_where_with_a_batched_condition_and_comparisons():
    x = np.random.default_rng(9).standard_normal((4, 5))

    def run(lib, x):
        return lib.func.vmap(lambda r: lib.where(r > r.mean(), r, -r) + (r < 0).double())(x)

    _same(*_both(run, x))


def test_bad_dims_are_clear_errors():
    x = lamina.ones(3, 2)
    with pytest.raises(ValueError, match="different sizes"):
        func.vmap(lambda a, b: a + b)(x, lamina.ones(4, 2))
    with pytest.raises(ValueError, match="out of range"):
        func.vmap(lambda a: a, in_dims=2)(x)
    with pytest.raises(ValueError, match="no input is batched"):
        func.vmap(lambda a: a, in_dims=None)(x)
    with pytest.raises(ValueError, match="not a tensor"):
        func.vmap(lambda a, n: a * n)(x, 2.0)
    with pytest.raises(ValueError, match="out_dims is None"):
        func.vmap(lambda a: a * 2, out_dims=None)(x)
    with pytest.raises(ValueError, match="randomness"):
        func.vmap(lambda a: a, randomness="sometimes")
    with pytest.raises(RuntimeError, match="data-dependent"):
        func.vmap(lambda a: a * float(a.sum()))(x)


def test_reductions_without_gradient_and_slogdet_signs_per_sample():
    x = np.random.default_rng(10).standard_normal((3, 4)) + 0.1
    m = np.random.default_rng(11).standard_normal((3, 2, 2))

    def run(lib, x, m):
        return lib.func.vmap(lambda r, a: (r.argmax(), r.argmin(0), (r > 0).any(), (r > 0).all(), r.prod(),
                                           lib.count_nonzero(r > 0), lib.linalg.slogdet(a)[0]))(x, m)

    _same(*_both(run, x, m))


def test_randomness_error_same_and_different():
    x = lamina.ones(3, 4)
    with pytest.raises(RuntimeError, match="randomness='same'"):
        func.vmap(lambda r: lamina.nn.functional.dropout(r, 0.5))(x)
    out = func.vmap(lambda r: r * lamina.rand(4), randomness="same")(x)
    np.testing.assert_array_equal(out.numpy()[0], out.numpy()[2])
    with pytest.raises(RuntimeError, match="per-sample draws"):
        func.vmap(lambda r: r * lamina.rand(4), randomness="different")(x)


def test_in_place_change_of_a_batched_tensor_is_refused():
    with pytest.raises(RuntimeError, match="in-place"):
        func.vmap(lambda r: r.add_(1.0))(lamina.ones(3, 2))
    with pytest.raises(RuntimeError, match="in-place"):
        func.vmap(lambda r: r.__setitem__(0, 1.0))(lamina.ones(3, 2))


def test_per_sample_gradients_of_a_small_cnn_match_torch():
    rng = np.random.default_rng(12)
    params = [rng.standard_normal(s) / 3 for s in [(4, 2, 3, 3), (4,), (3, 4), (3,)]]
    x, y = rng.standard_normal((5, 2, 6, 6)), np.eye(3)[rng.integers(0, 3, 5)]

    def loss(lib, p, xi, yi):
        nnf = lib.nn.functional
        h = nnf.max_pool2d(nnf.conv2d(xi[None], p[0], p[1], padding=1).tanh(), 2)
        h = nnf.avg_pool2d(h, 2).reshape(-1)
        return -((p[2] @ h + p[3]).log_softmax(0) * yi).sum()

    def run(lib, *arrays):
        f = lib.func.grad(lambda p, xi, yi: loss(lib, p, xi, yi))
        return lib.func.vmap(f, in_dims=(None, 0, 0))(tuple(arrays[:4]), arrays[4], arrays[5])

    _same(*_both(run, *params, x, y))
    conv = lamina.autograd.op.Op.registry  # the conv and pooling ops have rules of their own (no per-sample loop)
    rules = {c.__name__: func.batching.rule_for(object.__new__(c)).__name__ for c in conv}
    assert rules["Conv2d"] == rules["MaxPool2d"] == rules["AvgPool2d"] == "fold_into_n"


def test_batched_indices_and_class_targets_are_read_per_sample():
    rng = np.random.default_rng(13)
    logits, w = rng.standard_normal((6, 4)), rng.standard_normal((5, 3))
    y, idx = rng.integers(0, 4, 6), rng.integers(0, 5, (6, 2))

    def run(lib, logits, w, y, idx):
        nnf = lib.nn.functional

        def f(z, t, i):
            return (nnf.cross_entropy(z[None], t[None]) + z[t] + nnf.embedding(i, w).sum()
                    + z.gather(0, i.clamp(0, 3)).sum() + nnf.one_hot(t, 4).sum())

        return lib.func.vmap(f)(logits, y, idx)

    got = run(lamina, lamina.tensor(logits), lamina.tensor(w), lamina.tensor(y), lamina.tensor(idx))
    want = run(torch, torch.tensor(logits), torch.tensor(w), torch.tensor(y), torch.tensor(idx))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10)


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none", "label_smoothing": 0.1},
                                {"ignore_index": 2}])
def test_per_sample_cross_entropy_gradients_match_torch(kw):
    rng = np.random.default_rng(14)
    w, x, y = rng.standard_normal((5, 3)), rng.standard_normal((6, 2, 3)), rng.integers(0, 5, (6, 2))

    def run(lib, w, x, y):
        def loss(w, xi, yi):
            return lib.nn.functional.cross_entropy(xi @ w.T, yi, **kw).sum()

        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(w, x, y)

    _same(run(lamina, lamina.tensor(w), lamina.tensor(x), lamina.tensor(y)),
          run(torch, torch.tensor(w), torch.tensor(x), torch.tensor(y)))


def test_integer_and_boolean_casts_of_batched_tensors():
    x = np.array([[1.5, -1.0], [2.5, 3.0]])

    def run(lib, x):
        return lib.func.vmap(lambda r: (r > 0).long() + (r > 0).sum() + r.int().double())(x)

    _same(*_both(run, x))
