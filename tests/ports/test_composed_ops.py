"""The composed ops of issue 14 (tril … baddbmm, Tensor.new_*) against PyTorch: values, gradients,
finite differences, second order and forward mode (``check_op``), in double precision."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from opcheck import check_op

import lamina


def _rn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


CASES = [
    ("tril", lambda m: lambda a: m.tril(a) + m.tril(a, 1) * 2 + m.tril(a, -1) * 3, [_rn(1, 2, 3, 4)]),
    ("triu", lambda m: lambda a: m.triu(a) + a.triu(2) * 2 + m.triu(a, -1) * 3, [_rn(2, 3, 4)]),
    ("diagonal", lambda m: lambda a: m.diagonal(a, 1, 0, 2) + a.diagonal(-1, 2, 0), [_rn(3, 3, 2, 4)]),
    ("diag", lambda m: lambda a, v: (m.diag(a, 1), m.diag(v, -1), m.diag(v)), [_rn(4, 4, 4), _rn(5, 5)]),
    ("diag_embed", lambda m: lambda a: (m.diag_embed(a, 1), m.diag_embed(a, -1, 0, 2), m.diag_embed(a, 1, 2, 0)),
     [_rn(6, 3, 3)]),
    ("cumprod", lambda m: lambda a: m.cumprod(a, 1) + a.cumprod(-1).sum(0), [_rn(7, 5, 5)]),
    ("kron", lambda m: lambda a, b: m.kron(a, b), [_rn(8, 2, 3), _rn(9, 2, 2, 2)]),
    ("roll", lambda m: lambda a: m.roll(a, (1, -2), (0, 2)) + m.roll(a, 5).sin(), [_rn(10, 3, 2, 4)]),
    ("lerp", lambda m: lambda a, b, w: m.lerp(a, b, w) + a.lerp(b, 0.3), [_rn(11, 3), _rn(12, 3), _rn(13, 3)]),
    ("addmm", lambda m: lambda c, a, b: m.addmm(c, a, b) + m.addmm(c, a, b, beta=0.5, alpha=2.0),
     [_rn(14, 3), _rn(15, 2, 4), _rn(16, 4, 3)]),
    ("baddbmm", lambda m: lambda c, a, b: m.baddbmm(c, a, b, beta=0.5, alpha=-1.5) + m.addbmm(c[0], a, b),
     [_rn(17, 2, 3, 3), _rn(18, 2, 3, 4), _rn(19, 2, 4, 3)]),
    ("addmv", lambda m: lambda c, a, v: m.addmv(c, a, v, alpha=2.0), [_rn(20, 3), _rn(21, 3, 4), _rn(22, 4)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_composed_op_matches_torch(case):
    _, make, arrays = case
    check_op(make(lamina), make(torch), *arrays)


def test_cumprod_is_exact_with_zeros_in_the_input():
    x = _rn(23, 2, 6)
    x[0, 2] = 0.0
    x[1, 1] = x[1, 4] = 0.0  # two zeros: every gradient entry of the second row is 0
    check_op(lambda a: lamina.cumprod(a, 1), lambda a: torch.cumprod(a, 1), x)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch_in_both_indexings(indexing):
    a, b, c = _rn(24, 3), _rn(25, 2), _rn(26, 4)
    check_op(lambda *t: lamina.meshgrid(*t, indexing=indexing), lambda *t: torch.meshgrid(*t, indexing=indexing),
             a, b, c)
    check_op(lambda *t: lamina.meshgrid(list(t[:2]), indexing=indexing),
             lambda *t: torch.meshgrid(list(t[:2]), indexing=indexing), a, b)


def test_bincount_counts_and_sums_weights_like_torch():
    idx = np.array([0, 3, 3, 1, 7])
    assert lamina.bincount(lamina.tensor(idx)).tolist() == torch.bincount(torch.tensor(idx)).tolist()
    assert lamina.bincount(lamina.tensor(idx), minlength=10).tolist() == \
        torch.bincount(torch.tensor(idx), minlength=10).tolist()
    w = _rn(27, 5)
    np.testing.assert_allclose(lamina.bincount(lamina.tensor(idx), lamina.tensor(w), minlength=9).numpy(),
                               torch.bincount(torch.tensor(idx), torch.tensor(w), minlength=9).numpy())
    # torch's bincount has no gradient; lamina's is the scatter-add's: w̄ᵢ = ȳ[idxᵢ]
    check_op(lambda v: lamina.bincount(lamina.tensor(idx), v, minlength=9),
             lambda v: torch.zeros(9, dtype=v.dtype).index_add(0, torch.tensor(idx), v), w)
    with pytest.raises(RuntimeError, match="non-negative"):
        lamina.bincount(lamina.tensor([1, -1]))


def test_new_creation_methods_keep_dtype_like_torch():
    for name, args in [("new_zeros", (2, 3)), ("new_ones", ((4,),)), ("new_full", ((2, 2), 7.5)),
                       ("new_tensor", ([1, 2, 3],)), ("new_empty", (3,))]:
        for dt in ("float64", "int32"):
            lt, tt = lamina.ones(1, dtype=getattr(lamina, dt)), torch.ones(1, dtype=getattr(torch, dt))
            lo, to = getattr(lt, name)(*args), getattr(tt, name)(*args)
            assert tuple(lo.shape) == tuple(to.shape) and str(lo.dtype) == str(to.dtype).replace("torch.", "")
            if name != "new_empty":
                np.testing.assert_array_equal(lo.numpy(), to.numpy())
    x = lamina.zeros(2, dtype=lamina.float64)
    n = x.new_zeros(3, dtype=lamina.float32, requires_grad=True)
    assert n.dtype == lamina.float32 and n.requires_grad and n.is_leaf
    src = lamina.tensor([1.0, 2.0])
    copy = x.new_tensor(src)
    copy[0] = 9.0
    assert src.tolist() == [1.0, 2.0]


def test_shape_errors_name_the_op():
    with pytest.raises(RuntimeError, match="tril: expected a tensor with at least 2 dims"):
        lamina.tril(lamina.ones(3))
    with pytest.raises(RuntimeError, match="roll: got 2 shifts but 1 dims"):
        lamina.roll(lamina.ones(3), (1, 2), 0)
    with pytest.raises(RuntimeError, match="diag: expected a 1-D or 2-D"):
        lamina.diag(lamina.ones(2, 2, 2))


MORE = [
    ("trace", lambda m: lambda a: m.trace(a) + a.trace(), [_rn(30, 3, 4)]),
    ("flips", lambda m: lambda a: (m.fliplr(a), m.flipud(a), a.fliplr()), [_rn(31, 2, 3)]),
    ("rot90", lambda m: lambda a: tuple(m.rot90(a, k, (0, 2)) for k in (-1, 0, 1, 2, 3)) + (a.rot90(),),
     [_rn(32, 2, 3, 4)]),
    ("ravel moveaxis", lambda m: lambda a: (m.ravel(a), m.moveaxis(a, 0, -1), a.moveaxis((0, 1), (2, 0))),
     [_rn(33, 2, 3, 4)]),
    ("atleast", lambda m: lambda a, v, s: m.atleast_1d(s, v) + m.atleast_2d(s, v, a) + m.atleast_3d([s, v, a]),
     [_rn(34, 2, 3), _rn(35, 3), np.array(1.5)]),
    ("column_stack dstack", lambda m: lambda a, v: (m.column_stack([a, v]), m.dstack([a, a * 2])),
     [_rn(36, 3, 2), _rn(37, 3)]),
    ("diagflat", lambda m: lambda a: (m.diagflat(a), m.diagflat(a, -2), a.diagflat(1)), [_rn(38, 2, 2)]),
    ("block_diag", lambda m: lambda a, b, v: m.block_diag(a, b, v), [_rn(39, 2, 3), _rn(40, 1, 2), _rn(41, 3)]),
    ("cartesian_prod", lambda m: lambda a, b: (m.cartesian_prod(a, b), m.cartesian_prod(a, b, a)),
     [_rn(42, 3), _rn(43, 2)]),
    # torch.chain_matmul is deprecated there: compared with torch.linalg.multi_dot
    ("chain_matmul", lambda m: (lambda a, b, c: m.chain_matmul(a, b, c)) if m is lamina else
     (lambda a, b, c: m.linalg.multi_dot([a, b, c])), [_rn(44, 2, 3), _rn(45, 3, 3), _rn(46, 3, 2)]),
    ("addcmul addcdiv", lambda m: lambda x, a, b: m.addcmul(x, a, b, value=0.5) + m.addcdiv(x, a, b * b + 1.0)
     + x.addcmul(a, b), [_rn(47, 3), _rn(48, 3), _rn(49, 3)]),
    ("addr ger", lambda m: lambda c, u, v: m.addr(c, u, v, beta=2.0, alpha=0.5) + m.ger(u, v) + u.ger(v),
     [_rn(50, 3, 2), _rn(51, 3), _rn(52, 2)]),
    ("dist", lambda m: lambda a, b: (m.dist(a, b), m.dist(a, b, 3), a.dist(b, 1)), [_rn(53, 4, 3), _rn(54, 4, 3)]),
    ("logaddexp hypot", lambda m: lambda a, b: (m.logaddexp(a * 30, b), m.hypot(a, b), a.logaddexp(b)),
     [_rn(55, 5), _rn(56, 5)]),
    ("deg2rad rad2deg rsub", lambda m: lambda a, b: (m.deg2rad(a), m.rad2deg(a), m.rsub(a, b, alpha=2),
                                                      m.positive(a)), [_rn(57, 3), _rn(58, 3)]),
    ("cross", lambda m: lambda a, b: (m.cross(a, b, dim=1), m.linalg.cross(a, b)), [_rn(59, 4, 3), _rn(60, 4, 3)]),
]


@pytest.mark.parametrize("case", MORE, ids=[c[0] for c in MORE])
def test_more_compositions_match_torch(case):
    _, make, arrays = case
    check_op(make(lamina), make(torch), *arrays)


def test_cdist_matches_torch_and_has_a_second_derivative():
    a, b = _rn(61, 2, 4, 3), _rn(62, 2, 5, 3)
    # torch's cdist has no double backward: lamina's second order is checked by finite differences alone
    check_op(lambda x, y: (lamina.cdist(x, y), lamina.cdist(x, y, 1.0)),
             lambda x, y: (torch.cdist(x, y), torch.cdist(x, y, 1.0)), a, b, second_order=False)
    xs = (lamina.tensor(a, requires_grad=True), lamina.tensor(b, requires_grad=True))
    assert lamina.autograd.gradgradcheck(lambda x, y: lamina.cdist(x, y), xs, atol=1e-4, rtol=1e-3)


def test_index_and_predicate_helpers_match_torch():
    for args in [(3, 3), (3, 4, 1), (4, 3, -1), (2, 5, 2)]:
        assert lamina.tril_indices(*args).tolist() == torch.tril_indices(*args).tolist()
        assert lamina.triu_indices(*args).tolist() == torch.triu_indices(*args).tolist()
    assert lamina.is_nonzero(lamina.tensor([2.0])) and not lamina.is_nonzero(lamina.tensor(0.0))
    assert lamina.ones(2, 3).is_same_size(lamina.zeros(2, 3)) and not lamina.is_complex(lamina.ones(1))
    with pytest.raises(RuntimeError, match="one value"):
        lamina.is_nonzero(lamina.ones(2))
    lamina.manual_seed(3)
    r = lamina.randint_like(lamina.zeros(2, 3), 5)
    assert tuple(r.shape) == (2, 3) and r.dtype == lamina.float32 and 0 <= r.numpy().min() and r.numpy().max() < 5
    r = lamina.randint_like(lamina.zeros(50, dtype=lamina.int64), 2, 4)
    assert set(r.tolist()) == {2, 3} and r.dtype == lamina.int64
