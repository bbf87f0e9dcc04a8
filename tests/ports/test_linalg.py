"""``lamina.einsum`` and ``lamina.linalg`` against PyTorch: values, gradients, finite differences and
second order (``check_op``), double precision. Factorisations are compared through functions their
sign choices leave alone (eigenvalues, squared eigen/singular vectors)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from opcheck import check_op

import lamina
import lamina.linalg as LA


def _rn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(2, 3)]),
    ("ij", [(2, 3)]),                       # implicit output: the letters seen once, sorted
    ("ji", [(2, 3)]),
    ("ii->", [(3, 3)]),                     # trace: a repeated letter is the diagonal
    ("iij->j", [(3, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (2, 1, 3, 2)]),
    ("...ij,jk", [(2, 2, 3), (3, 4)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]),
    ("ij,k->ik", [(2, 3), (4,)]),           # j and k only in one operand: summed, gradient broadcast
])
def test_einsum_matches_torch_to_second_order(eq, shapes):
    arrays = [_rn(i, *s) for i, s in enumerate(shapes)]
    check_op(lambda *t: lamina.einsum(eq, *t), lambda *t: torch.einsum(eq, *t), *arrays)


def test_einsum_takes_a_list_and_names_a_bad_equation():
    a, b = lamina.randn(2, 3), lamina.randn(3, 2)
    np.testing.assert_allclose(lamina.einsum("ij,jk->ik", [a, b]).numpy(), (a @ b).numpy(), rtol=1e-5)
    with pytest.raises(RuntimeError, match="einsum: subscripts 'ijk' do not fit an operand of shape"):
        lamina.einsum("ijk->i", a)
    with pytest.raises(RuntimeError, match="names 2 operands, got 1"):
        lamina.einsum("ij,jk->ik", a)


_WELL = _rn(40, 3, 3) + 3 * np.eye(3)
_BATCH = _rn(41, 2, 3, 3) + 3 * np.eye(3)
_SPD = _rn(42, 4, 4) @ _rn(42, 4, 4).T + np.eye(4)

FUNCTIONS = [
    ("inv", lambda m: m.linalg.inv, [_BATCH], {}),
    ("solve matrix", lambda m: m.linalg.solve, [_BATCH, _rn(43, 2, 3, 2)], {}),
    ("solve vector", lambda m: m.linalg.solve, [_WELL, _rn(44, 3)], {}),
    ("solve right", lambda m: lambda a, b: m.linalg.solve(a, b, left=False), [_WELL, _rn(45, 2, 3)], {}),
    ("solve broadcast", lambda m: m.linalg.solve, [_WELL, _rn(46, 2, 3, 1)], {}),
    ("det", lambda m: m.linalg.det, [_BATCH], {}),
    ("slogdet", lambda m: lambda a: m.linalg.slogdet(a).logabsdet, [_rn(47, 3, 3)], {}),
    ("logdet", lambda m: lambda a: m.logdet(a @ a.mT + m.eye(3, dtype=a.dtype)), [_rn(48, 3, 3)], {}),
    ("cholesky", lambda m: lambda a: m.linalg.cholesky((a + a.mT) / 2), [_SPD], {}),
    ("cholesky upper", lambda m: lambda a: m.linalg.cholesky((a + a.mT) / 2, upper=True), [_SPD], {}),
    ("eigh", lambda m: lambda a: (lambda w, v: (w, v * v))(*m.linalg.eigh((a + a.mT) / 2)), [_rn(49, 4, 4)], {}),
    ("eigh upper", lambda m: lambda a: m.linalg.eigh((a + a.mT) / 2, UPLO="U")[0], [_rn(50, 2, 3, 3)], {}),
    ("eigvalsh", lambda m: lambda a: m.linalg.eigvalsh((a + a.mT) / 2), [_rn(51, 3, 3)], {}),
    ("qr", lambda m: lambda a: m.linalg.qr(a), [_rn(52, 2, 5, 3)], {"fwd": False}),
    ("svd tall", lambda m: lambda a: (lambda u, s, vh: (u * u, s, vh * vh))(*m.linalg.svd(a, full_matrices=False)),
     [_rn(53, 5, 3)], {"fwd": False}),
    ("svd wide", lambda m: lambda a: (lambda u, s, vh: (u * u, s, vh * vh))(*m.linalg.svd(a, full_matrices=False)),
     [_rn(54, 2, 3, 5)], {"fwd": False}),
    ("svdvals", lambda m: m.linalg.svdvals, [_rn(55, 4, 4)], {"fwd": False}),
    ("lstsq", lambda m: lambda a, b: m.linalg.lstsq(a, b).solution, [_rn(56, 6, 3), _rn(57, 6, 2)], {"fwd": False}),
    ("lstsq vector", lambda m: lambda a, b: m.linalg.lstsq(a, b).solution, [_rn(58, 5, 2), _rn(59, 5)],
     {"fwd": False}),
    ("pinv", lambda m: m.linalg.pinv, [_rn(60, 5, 3)], {"fwd": False}),
    ("pinv wide", lambda m: m.linalg.pinv, [_rn(61, 2, 4)], {"fwd": False}),
    ("matrix_power", lambda m: lambda a: m.linalg.matrix_power(a, 5), [_rn(62, 3, 3) * 0.5], {}),
    ("matrix_power neg", lambda m: lambda a: m.linalg.matrix_power(a, -2), [_WELL], {}),
    ("multi_dot", lambda m: lambda a, b, c: m.linalg.multi_dot([a, b, c]), [_rn(63, 2, 3), _rn(64, 3, 4),
                                                                               _rn(65, 4)], {}),
    ("cross", lambda m: m.linalg.cross, [_rn(66, 4, 3), _rn(67, 4, 3)], {}),
    ("vecdot", lambda m: m.linalg.vecdot, [_rn(68, 3, 4), _rn(69, 3, 4)], {}),
    ("torch.det inverse", lambda m: lambda a: m.det(a) + m.inverse(a).sum() + a.det() + a.inverse().sum(),
     [_WELL], {}),
]


@pytest.mark.parametrize("case", FUNCTIONS, ids=[c[0] for c in FUNCTIONS])
def test_linalg_function_matches_torch(case):
    _, make, arrays, options = case
    check_op(make(lamina), make(torch), *arrays, **options)


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, math.inf, -math.inf, 0])
def test_vector_norm_matches_torch(ord):
    x = _rn(70, 3, 4)
    smooth = ord not in (math.inf, -math.inf)
    check_op(lambda a: LA.vector_norm(a, ord, dim=-1), lambda a: torch.linalg.vector_norm(a, ord, dim=-1), x,
             fd=smooth, second_order=smooth and ord != 1)
    check_op(lambda a: LA.vector_norm(a, ord, dim=(0, 1), keepdim=True),
             lambda a: torch.linalg.vector_norm(a, ord, dim=(0, 1), keepdim=True), x, fd=smooth,
             second_order=smooth and ord != 1)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
def test_matrix_norm_and_norm_match_torch(ord):
    x = _rn(71, 2, 3, 4)
    check_op(lambda a: LA.matrix_norm(a, ord), lambda a: torch.linalg.matrix_norm(a, ord), x, fwd=False)
    check_op(lambda a: LA.matrix_norm(a, ord, dim=(0, 2), keepdim=True),
             lambda a: torch.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True), x, fwd=False)
    check_op(lambda a: LA.norm(a[0], ord), lambda a: torch.linalg.norm(a[0], ord), x, fwd=False)


def test_norm_defaults_and_refusals_follow_torch():
    x = _rn(72, 2, 3, 4)
    check_op(LA.norm, torch.linalg.norm, x)
    check_op(lambda a: LA.norm(a, dim=1), lambda a: torch.linalg.norm(a, dim=1), x)
    with pytest.raises(RuntimeError):
        torch.linalg.norm(torch.tensor(x[0, 0]), "fro")
    with pytest.raises(RuntimeError, match="matrix norm"):
        LA.norm(lamina.tensor(x[0, 0]), "fro")


def test_rank_slogdet_sign_and_lstsq_fields():
    a = _rn(73, 4, 2) @ _rn(74, 2, 5)
    assert int(LA.matrix_rank(lamina.tensor(a))) == int(torch.linalg.matrix_rank(torch.tensor(a))) == 2
    m = _rn(75, 3, 3)
    sign, logabs = LA.slogdet(lamina.tensor(m))
    tsign, tlog = torch.linalg.slogdet(torch.tensor(m))
    assert float(sign) == float(tsign) and abs(float(logabs) - float(tlog)) < 1e-12
    res = LA.lstsq(lamina.tensor(_rn(76, 6, 3)), lamina.tensor(_rn(77, 6, 2)))
    assert tuple(res.solution.shape) == (3, 2) and int(res.rank) == 3


def test_factorisation_errors_are_clear():
    with pytest.raises(RuntimeError, match="linalg.cholesky: the input of shape .* is not positive-definite"):
        LA.cholesky(lamina.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(RuntimeError, match="linalg.inv: expected square matrices"):
        LA.inv(lamina.ones(2, 3))
    with pytest.raises(RuntimeError, match="full_matrices=False"):
        LA.svd(lamina.ones(3, 2, requires_grad=True))
    u, s, vh = LA.svd(lamina.tensor(_rn(78, 4, 2)))  # full matrices without a gradient: as numpy
    assert tuple(u.shape) == (4, 4) and tuple(vh.shape) == (2, 2)
    with pytest.raises(RuntimeError, match="needs m >= n"):
        LA.qr(lamina.ones(2, 3, requires_grad=True))
