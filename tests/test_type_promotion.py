"""Type promotion against PyTorch: dtype pairs × ops (tensor ⊕ tensor, 0-d tensors, Python scalars), unary
float functions of integer tensors, ``result_type`` / ``promote_types`` / ``can_cast`` and the default dtype.

Where PyTorch refuses a pair (bool − bool, integer matmul with a float) the pair is skipped: lamina may
compute it; everywhere else dtype and values must agree.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # bool zeros as divisors, as in torch



@pytest.fixture(autouse=True)
def _float32_default():
    """Both libraries at their shipped default dtype (tests/opcheck.py sets torch's to float64 on import)."""
    prev = torch.get_default_dtype(), lamina.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    lamina.set_default_dtype(lamina.float32)
    yield
    torch.set_default_dtype(prev[0])
    lamina.set_default_dtype(prev[1])


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, 2.5, -1.5]


def _values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    return rng.integers(1, 4, shape).astype(dtype)  # 1..3: every op below is defined there


def _pair(lib, a, b):
    make = lamina.tensor if lib is lamina else torch.tensor
    return make(a), make(b)


def _name(dtype) -> str:
    return str(dtype).replace("torch.", "").replace("lamina.", "")


def _agree(expected, got, where: str) -> None:
    assert _name(got.dtype) == _name(expected.dtype), f"{where}: torch gives {expected.dtype}, lamina {got.dtype}"
    e, g = expected.numpy(), got.numpy()
    tol = 1e-2 if e.dtype == np.float16 else 1e-5
    np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=tol, atol=tol, err_msg=where)


def _compare(fn, a, b, where: str) -> None:
    try:
        expected = fn(torch, *_pair(torch, a, b))
    except RuntimeError:
        return  # torch refuses the pair
    _agree(expected, fn(lamina, *_pair(lamina, a, b)), where)


BINARY = {
    "add": lambda m, a, b: m.add(a, b),
    "sub": lambda m, a, b: m.sub(a, b),
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "true_divide": lambda m, a, b: m.true_divide(a, b),
    "floor_divide": lambda m, a, b: m.floor_divide(a, b),
    "pow": lambda m, a, b: m.pow(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "where": lambda m, a, b: m.where(a > 1, a, b),
    "eq": lambda m, a, b: a == b,
    "lt": lambda m, a, b: a < b,
    "ge": lambda m, a, b: m.ge(a, b),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), ()), ((), (3,))], ids=["dims", "0-d right", "0-d left"])
def test_binary_ops_promote_as_torch(op, shapes):
    fn = BINARY[op]
    for i, d1 in enumerate(DTYPES):
        for j, d2 in enumerate(DTYPES):
            a, b = _values(d1, shapes[0], 10 * i + j), _values(d2, shapes[1], 100 + 10 * i + j)
            _compare(fn, a, b, f"{op}({d1}{list(shapes[0])}, {d2}{list(shapes[1])})")


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "floor_divide", "pow", "maximum", "where"])
def test_python_scalars_do_not_upcast(op):
    fn = BINARY[op]
    for i, d in enumerate(DTYPES):
        for s in SCALARS:
            a = _values(d, (4,), i)
            if op == "maximum":
                def f(m, x, _, s=s):
                    return m.maximum(x, m.tensor(s))
            else:
                def f(m, x, _, s=s):
                    return fn(m, x, s)
            _compare(f, a, None, f"{op}({d} tensor, {s!r})")
            if op in ("add", "sub", "mul", "div", "pow"):
                _compare(lambda m, x, _, s=s: fn(m, s, x), a, None, f"{op}({s!r}, {d} tensor)")


def test_named_scalar_cases():
    i = lamina.tensor([1, 2, 3])
    f = lamina.tensor([1.0, 2.0], dtype=lamina.float32)
    assert (f * 2.5).dtype == lamina.float32
    assert (i * 2.5).dtype == lamina.float32
    assert (i + 2).dtype == lamina.int64
    assert (i / i).dtype == lamina.float32
    assert (i + f[:1]).dtype == lamina.float32
    assert (lamina.tensor([True]) + lamina.tensor([True])).dtype == lamina.bool
    assert (f > 1).dtype == lamina.bool


UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "log1p", "expm1", "sinh", "cosh", "atan", "asinh",
         "log2", "log10", "exp2", "rsqrt", "reciprocal", "tan", "abs", "relu"]


@pytest.mark.parametrize("fn", UNARY)
def test_unary_functions_of_integer_tensors(fn):
    for i, d in enumerate(DTYPES):
        a = _values(d, (5,), i)
        if fn == "relu" and d == "bool" or fn == "abs" and d == "bool":
            continue  # torch refuses these
        _compare(lambda m, x, _: getattr(m, fn)(x), a, None, f"{fn}({d})")


OTHERS = {
    "prod": lambda m, a, b: a.prod(),
    "clamp floats": lambda m, a, b: m.clamp(a, 0.5, 2.5),
    "clamp ints": lambda m, a, b: m.clamp(a, 1, 2),
    "clamp_min float": lambda m, a, b: m.clamp(a, min=1.5),
    "masked_fill": lambda m, a, b: a.masked_fill(a > 1, 0.5),
    "square": lambda m, a, b: m.square(a),
    "remainder": lambda m, a, b: m.remainder(a, b),
    "sum": lambda m, a, b: a.sum(),
}


@pytest.mark.parametrize("op", sorted(OTHERS))
def test_other_ops_keep_torchs_dtypes(op):
    for i, d1 in enumerate(DTYPES):
        for d2 in ("int64", "float32"):
            _compare(OTHERS[op], _values(d1, (4,), i), _values(d2, (4,), i + 1), f"{op}({d1}, {d2})")


def test_matmul_promotes_where_torch_computes():
    for i, d1 in enumerate(DTYPES):
        for j, d2 in enumerate(DTYPES):
            a, b = _values(d1, (2, 3), i), _values(d2, (3, 2), j)
            if d1 in ("bool", "float16") or d2 in ("bool", "float16"):
                continue  # no CPU matmul for these in torch
            _compare(lambda m, x, y: m.matmul(x, y), a, b, f"matmul({d1}, {d2})")
    x = lamina.tensor([[1.0, 2.0]], dtype=lamina.float32)
    assert (x @ lamina.tensor([[1], [2]])).dtype == lamina.float32  # torch refuses; lamina promotes


def test_bool_subtraction_is_refused_as_in_torch():
    b = lamina.tensor([True, False])
    with pytest.raises(RuntimeError, match="sub: subtraction.*bool"):
        b - lamina.tensor([1, 2])
    with pytest.raises(RuntimeError, match="bool"):
        b - b


def _t(lib, d):
    return getattr(lib, d if d != "bool" else "bool")


def test_promote_types_result_type_can_cast_match_torch():
    for d1 in DTYPES:
        for d2 in DTYPES:
            assert _name(lamina.promote_types(_t(lamina, d1), _t(lamina, d2))) == \
                _name(torch.promote_types(_t(torch, d1), _t(torch, d2))), (d1, d2)
            assert lamina.can_cast(_t(lamina, d1), _t(lamina, d2)) == torch.can_cast(_t(torch, d1), _t(torch, d2))
            for shape in ((2,), ()):
                a, b = _values(d1, (2,), 0), _values(d2, shape, 1)
                got = lamina.result_type(*_pair(lamina, a, b))
                assert _name(got) == _name(torch.result_type(*_pair(torch, a, b))), (d1, d2, shape)
        for s in SCALARS:
            a = _values(d1, (2,), 0)
            assert _name(lamina.result_type(lamina.tensor(a), s)) == _name(torch.result_type(torch.tensor(a), s))


def test_default_dtype_is_respected():
    prev = lamina.get_default_dtype()
    lamina.set_default_dtype(lamina.float64)
    torch.set_default_dtype(torch.float64)
    try:
        i = lamina.tensor([1, 2])
        assert (i / i).dtype == lamina.float64
        assert i.exp().dtype == lamina.float64
        assert (i * 2.5).dtype == lamina.float64
        assert lamina.result_type(i, 1.0) == lamina.float64
        assert (lamina.tensor([1.0], dtype=lamina.float32) * 2.5).dtype == lamina.float32
        _compare(lambda m, x, y: x / y, np.array([1, 2]), np.array([3, 4]), "int64 / int64 at float64")
        _compare(lambda m, x, _: x.sigmoid(), np.array([1, 2]), None, "sigmoid(int64) at float64")
    finally:
        lamina.set_default_dtype(prev)


def test_mixed_dtype_gradients_come_back_in_each_inputs_dtype():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(())
    la = lamina.tensor(a.astype(np.float32), requires_grad=True)
    lb = lamina.tensor(b, dtype=lamina.float64, requires_grad=True)
    ta = torch.tensor(a.astype(np.float32), requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    out_l, out_t = (la * lb).exp(), (ta * tb).exp()
    assert out_l.dtype == lamina.float32 and out_t.dtype == torch.float32
    out_l.sum().backward()
    out_t.sum().backward()
    assert la.grad.dtype == lamina.float32 and lb.grad.dtype == lamina.float64
    np.testing.assert_allclose(la.grad.numpy(), ta.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(lb.grad.numpy(), tb.grad.numpy(), rtol=1e-5)
