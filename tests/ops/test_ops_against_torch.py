"""Every differentiable op through the shared checker: values and gradients against PyTorch,
finite differences, second derivatives and forward mode."""
import numpy as np
import pytest
from opcheck import check_op, torch

import lamina as L


def rn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pos(*shape, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


T = torch

UNARY = [
    ("neg", lambda x: -x, lambda x: -x, rn),
    ("exp", L.exp, lambda x: x.exp(), rn),
    ("log", L.log, lambda x: x.log(), pos),
    ("log1p", L.log1p, lambda x: x.log1p(), pos),
    ("expm1", L.expm1, lambda x: x.expm1(), rn),
    ("sqrt", L.sqrt, lambda x: x.sqrt(), pos),
    ("rsqrt", L.rsqrt, lambda x: x.rsqrt(), pos),
    ("abs", L.abs, lambda x: x.abs(), rn),
    ("sin", L.sin, lambda x: x.sin(), rn),
    ("cos", L.cos, lambda x: x.cos(), rn),
    ("tan", L.tan, lambda x: x.tan(), lambda *s: np.random.default_rng(0).uniform(-1, 1, s)),
    ("tanh", L.tanh, lambda x: x.tanh(), rn),
    ("sigmoid", L.sigmoid, lambda x: x.sigmoid(), rn),
    ("relu", L.relu, lambda x: x.relu(), rn),
    ("square", L.square, lambda x: x.square(), rn),
    ("reciprocal", L.reciprocal, lambda x: x.reciprocal(), pos),
    ("pow_scalar", lambda x: x ** 3, lambda x: x ** 3, rn),
    ("pow_frac", lambda x: x ** 1.5, lambda x: x ** 1.5, pos),
    ("rpow", lambda x: 2.0 ** x, lambda x: 2.0 ** x, rn),
    ("rsub", lambda x: 1.5 - x, lambda x: 1.5 - x, rn),
    ("rdiv", lambda x: 2.0 / x, lambda x: 2.0 / x, pos),
    ("div_scalar", lambda x: x / 4.0, lambda x: x / 4.0, rn),
    ("clamp", lambda x: L.clamp(x, -0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), rn),
    ("clamp_min", lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1), rn),
    ("log2", L.log2, lambda x: x.log2(), pos),
    ("to_float64", lambda x: x.to(L.float64), lambda x: x.to(torch.float64), rn),
]


@pytest.mark.parametrize("name,lf,tf,gen", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_unary(name, lf, tf, gen, shape):
    check_op(lf, tf, gen(*shape))


BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2, 2))]
BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b),
    ("sub", lambda a, b: a - b, lambda a, b: a - b),
    ("mul", lambda a, b: a * b, lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    ("maximum", L.maximum, lambda a, b: torch.maximum(a, b)),
    ("minimum", L.minimum, lambda a, b: torch.minimum(a, b)),
    ("where", lambda a, b: L.where(a > b, a, b * 2), lambda a, b: torch.where(a > b, a, b * 2)),
    ("add_alpha", lambda a, b: L.add(a, b, alpha=2.0), lambda a, b: torch.add(a, b, alpha=2.0)),
]


@pytest.mark.parametrize("name,lf,tf", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("sa,sb", BINARY_SHAPES)
def test_binary_broadcasting(name, lf, tf, sa, sb):
    check_op(lf, tf, rn(*sa), rn(*sb, seed=2))


def test_pow_tensor_tensor():
    check_op(lambda a, b: a ** b, lambda a, b: a ** b, pos(2, 3), rn(2, 3, seed=2))


DIMS = [None, 0, 1, -1, (0, 2)]
REDUCE = [
    ("sum", lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.sum(d, keepdim=k)),
    ("mean", lambda x, d, k: x.mean(d, keepdim=k), lambda x, d, k: x.mean(d, keepdim=k)),
    ("var", lambda x, d, k: x.var(d, keepdim=k), lambda x, d, k: x.var(d, keepdim=k)),
    ("std", lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: x.std(d, keepdim=k)),
    ("amax", lambda x, d, k: L.amax(x, d, k), lambda x, d, k: torch.amax(x, d if d is not None else (0, 1, 2), k)),
    ("amin", lambda x, d, k: L.amin(x, d, k), lambda x, d, k: torch.amin(x, d if d is not None else (0, 1, 2), k)),
    ("logsumexp", lambda x, d, k: L.logsumexp(x, d, k),
     lambda x, d, k: torch.logsumexp(x, d if d is not None else (0, 1, 2), k)),
    ("norm", lambda x, d, k: L.norm(x, dim=d, keepdim=k), lambda x, d, k: torch.linalg.vector_norm(x, dim=d, keepdim=k)),
]


@pytest.mark.parametrize("name,lf,tf", REDUCE, ids=[r[0] for r in REDUCE])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions(name, lf, tf, dim, keepdim):
    check_op(lambda x: lf(x, dim, keepdim), lambda x: tf(x, dim, keepdim), rn(2, 3, 4))


def test_max_with_dim_returns_values_and_indices():
    x = rn(3, 4)
    check_op(lambda t: L.max(t, 1).values, lambda t: torch.max(t, 1).values, x)
    v, i = L.max(L.tensor(x), dim=1)
    assert np.array_equal(i.numpy(), x.argmax(1)) and i.dtype == np.int64


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim):
    x = rn(3, 5)
    check_op(lambda t: L.softmax(t, dim), lambda t: torch.softmax(t, dim), x)
    check_op(lambda t: L.log_softmax(t, dim), lambda t: torch.log_softmax(t, dim), x)
    check_op(lambda t: L.cumsum(t, dim), lambda t: torch.cumsum(t, dim), x)


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((3,), (5, 3, 2)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((4, 3), (2, 1, 3, 2))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, rn(*sa), rn(*sb, seed=2))


SHAPE_OPS = [
    ("reshape", lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    ("view_neg1", lambda x: x.view(-1, 3), lambda x: x.view(-1, 3)),
    ("transpose", lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2)),
    ("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1)),
    ("T", lambda x: x.reshape(6, 4).T, lambda x: x.reshape(6, 4).T),
    ("mT", lambda x: x.mT, lambda x: x.mT),
    ("squeeze_unsqueeze", lambda x: x.unsqueeze(1).squeeze(1), lambda x: x.unsqueeze(1).squeeze(1)),
    ("unsqueeze_neg", lambda x: L.unsqueeze(x, -1), lambda x: torch.unsqueeze(x, -1)),
    ("flatten", lambda x: x.flatten(1), lambda x: x.flatten(1)),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4), lambda x: x[:, :1].expand(2, 5, 4)),
    ("basic_index", lambda x: x[1, ::2, 1:], lambda x: x[1, ::2, 1:]),
    ("ellipsis_none", lambda x: x[..., None, 0], lambda x: x[..., None, 0]),
    ("int_array_index_repeats", lambda x: x[[0, 1, 1, 0]], lambda x: x[[0, 1, 1, 0]]),
    ("int_array_2d", lambda x: x[:, [2, 0, 2]], lambda x: x[:, [2, 0, 2]]),
    ("bool_mask", lambda x: x[x > 0], lambda x: x[x > 0]),
    ("gather", lambda x: L.gather(x, 2, L.tensor(np.array([[[0, 3, 3]] * 3] * 2))),
     lambda x: torch.gather(x, 2, torch.tensor(np.array([[[0, 3, 3]] * 3] * 2)))),
    ("flip", lambda x: x.flip(1), lambda x: x.flip(1)),
    ("repeat", lambda x: x.repeat(2, 1, 2), lambda x: x.repeat(2, 1, 2)),
    ("split", lambda x: L.split(x, [1, 2], 1), lambda x: torch.split(x, [1, 2], 1)),
    ("chunk", lambda x: L.chunk(x, 2, 2), lambda x: torch.chunk(x, 2, 2)),
    ("pad", lambda x: L.ops.shape.pad(x, (1, 2, 0, 1)), lambda x: torch.nn.functional.pad(x, (1, 2, 0, 1))),
    ("clone", lambda x: x.clone(), lambda x: x.clone()),
    ("movedim", lambda x: L.movedim(x, 1, -1), lambda x: torch.movedim(x, 1, -1)),
    ("movedim_seq", lambda x: L.movedim(x, (0, 2), (2, 0)), lambda x: torch.movedim(x, (0, 2), (2, 0))),
    ("masked_fill", lambda x: x.masked_fill(x < 0, 0.5), lambda x: x.masked_fill(x < 0, 0.5)),
]


@pytest.mark.parametrize("name,lf,tf", SHAPE_OPS, ids=[s[0] for s in SHAPE_OPS])
def test_shape_ops(name, lf, tf):
    check_op(lf, tf, rn(2, 3, 4))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim):
    check_op(lambda a, b: L.cat([a, b, a], dim), lambda a, b: torch.cat([a, b, a], dim), rn(2, 3), rn(2, 3, seed=2))
    check_op(lambda a, b: L.stack([a, b], dim), lambda a, b: torch.stack([a, b], dim), rn(2, 3), rn(2, 3, seed=2))


def test_repeated_index_accumulates_gradient():
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[L.tensor([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_composite_expression():
    def f(lib):
        return lambda a, b, c: (lib.tanh(a @ b) * c).sum(-1).exp().mean()

    check_op(f(L), f(torch), rn(3, 4), rn(4, 2, seed=2), rn(2, seed=3))
