"""The vectorized jacrev / jacfwd / hessian (vmap over the basis), and their nestings, against torch.func
in float64 to 1e-10, on several functions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import func


def _fns(lib):
    w = lib.tensor(np.random.default_rng(0).standard_normal((3, 4)))
    return {
        "tanh_affine": lambda x: (w @ x).tanh() * x.sum(),
        "softmax": lambda x: (x * x).softmax(0) + x.exp().cumsum(0),
        "matrix": lambda x: (x.reshape(2, 2) @ x.reshape(2, 2).T).flatten().log1p() * x.sin(),
        "scalar": lambda x: (w @ x).logsumexp(0) + (x ** 4).sum() / 4,
    }


NAMES = list(_fns(torch))


def _check(a, b):
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            _check(x, y)
        return
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian", "jacfwd(jacfwd)", "jacrev(jacrev)",
                                       "jacrev(jacfwd)"])
def test_jacobians_match_torch(name, transform):
    x = np.random.default_rng(1).standard_normal(4)

    def build(lib):
        f = _fns(lib)[name]
        for t in reversed(transform.replace(")", "").split("(")):
            f = getattr(lib.func, t)(f)
        return f

    _check(build(lamina)(lamina.tensor(x)), build(torch)(torch.tensor(x)))


def test_argnums_tuple_and_tuple_outputs():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(3), rng.standard_normal((2, 3))

    def f(x, y):
        return (y @ x).exp(), (x * y).sum(0).sin()

    for t in ("jacrev", "jacfwd"):
        _check(getattr(func, t)(f, argnums=(0, 1))(lamina.tensor(a), lamina.tensor(b)),
               getattr(torch.func, t)(f, argnums=(0, 1))(torch.tensor(a), torch.tensor(b)))


def test_hessian_inside_vmap_and_jacrev_of_a_batch():
    x = np.random.default_rng(3).standard_normal((5, 3))

    def f(r):
        return (r.sin() * r.sum()).sum()

    for lib_t in ("hessian", "jacrev"):
        _check(func.vmap(getattr(func, lib_t)(f))(lamina.tensor(x)),
               torch.func.vmap(getattr(torch.func, lib_t)(f))(torch.tensor(x)))


def test_nested_jvp_with_different_directions():
    x, u, v = (np.random.default_rng(4).standard_normal(4) for _ in range(3))

    def run(lib):
        def h(r):
            return r.sin() * r.sum()

        return lib.func.jvp(lambda r: lib.func.jvp(h, (r,), (lib.tensor(u),))[1], (lib.tensor(x),),
                            (lib.tensor(v),))[1]

    _check(run(lamina), run(torch))


def test_chunked_jacobians_equal_the_batched_ones():
    x = lamina.tensor(np.random.default_rng(5).standard_normal(4))
    f = _fns(lamina)["tanh_affine"]
    _check(func.jacrev(f, chunk_size=1)(x), func.jacrev(f)(x))
    _check(func.jacfwd(f, chunk_size=3)(x), func.jacfwd(f)(x))


def test_has_aux():
    x = np.random.default_rng(6).standard_normal(3)

    def run(lib):
        def f(r):
            return r.exp() * r.sum(), r.cos()

        return lib.func.jacrev(f, has_aux=True)(lib.tensor(x)), lib.func.jacfwd(f, has_aux=True)(lib.tensor(x))

    _check(run(lamina), run(torch))
