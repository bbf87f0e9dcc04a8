"""A row-sparse gradient behaves as the dense matrix it stands for."""
import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.sparse import RowSparseGrad


def _grad():
    rng = np.random.default_rng(0)
    emb = nn.Embedding(10, 4, sparse=True)
    emb(lamina.tensor([[3, 7, 3]])).mul(lamina.tensor(rng.standard_normal((1, 3, 4)).astype(np.float32))).sum().backward()
    return emb.weight.grad


def test_shape_numel_len_and_dtype_are_the_dense_ones():
    g = _grad()
    assert g.is_sparse and not lamina.zeros(2).is_sparse
    assert g.shape == (10, 4) and g.size() == (10, 4) and g.size(1) == 4 and g.ndim == 2 and g.dim() == 2
    assert g.numel() == 40 and len(g) == 10 and g.dtype == lamina.float32
    assert g.values().shape == (3, 4) and g.indices.tolist() == [3, 7, 3]


def test_an_op_sees_the_dense_matrix():
    g = _grad()
    dense = g.to_dense().numpy()
    assert dense.shape == (10, 4) and not dense[[0, 1, 2, 4, 5, 6, 8, 9]].any()
    np.testing.assert_array_equal((g * 2).numpy(), dense * 2)
    assert (g * 2).shape == (10, 4)
    np.testing.assert_allclose(g.sum().item(), dense.sum(), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(g), dense)


def test_coalesce_sums_repeated_rows_in_row_order():
    g = _grad()
    c = g.coalesce()
    assert c.indices.tolist() == [3, 7] and c.is_coalesced() and not g.is_coalesced()
    np.testing.assert_allclose(c.to_dense().numpy(), g.to_dense().numpy(), rtol=1e-6)


def test_dense_in_place_updates_are_refused_and_scaling_is_not():
    g = _grad()
    with pytest.raises(RuntimeError, match="row-sparse gradient cannot be updated in place"):
        g.fill_(0.0)
    before = g.to_dense().numpy()
    g.mul_(0.5)
    np.testing.assert_allclose(g.to_dense().numpy(), before * 0.5)


def test_mismatched_rows_are_refused():
    with pytest.raises(ValueError, match="do not describe rows"):
        RowSparseGrad.make(np.array([1, 2]), np.zeros((3, 4), np.float32), (10, 4))


# ----------------------------------------------------------------------------- the factored form
def _factored(seed=0, per=3):
    """Entry k = coef[k] · rows[k // per] into row ids[k] of a (12, 4) matrix, and its formed rows."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((5, 4)).astype(np.float32)
    ids = rng.integers(0, 12, (5, per))
    ids[1, 0] = ids[0, 0]  # a repeated row
    coef = rng.standard_normal((5, per)).astype(np.float32)
    formed = (coef[:, :, None] * rows[:, None, :]).reshape(-1, 4)
    return RowSparseGrad.factored(ids, coef, rows, (12, 4)), ids.reshape(-1), formed


def _dense_of(ids, vals, shape=(12, 4)):
    out = np.zeros(shape, vals.dtype)
    np.add.at(out, ids, vals)
    return out


def test_a_factored_gradient_is_the_sum_of_its_formed_rows():
    g, ids, formed = _factored()
    assert g.indices.tolist() == ids.tolist() and g.shape == (12, 4) and g.dtype == lamina.float32
    np.testing.assert_allclose(g.to_dense().numpy(), _dense_of(ids, formed), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g.values().numpy(), formed, rtol=1e-6)
    np.testing.assert_allclose(g.coalesce().to_dense().numpy(), _dense_of(ids, formed), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose((g * 2).numpy(), 2 * _dense_of(ids, formed), rtol=1e-6, atol=1e-7)


def test_scaling_a_factored_gradient_scales_each_entry_without_forming_rows():
    g, ids, formed = _factored(1)
    f = np.linspace(0.5, 2.0, ids.size).astype(np.float32)
    s = g.scaled(f)
    assert s._coef is not None and s._rows is g._rows  # still factored, the source rows shared
    np.testing.assert_allclose(s.to_dense().numpy(), _dense_of(ids, formed * f[:, None]), rtol=1e-5, atol=1e-6)
    g.mul_(0.5)
    np.testing.assert_allclose(g.to_dense().numpy(), _dense_of(ids, formed * 0.5), rtol=1e-5, atol=1e-6)
    plain = RowSparseGrad.make(ids, formed, (12, 4)).scaled(f)
    np.testing.assert_allclose(plain.to_dense().numpy(), s.to_dense().numpy(), rtol=1e-5, atol=1e-6)


def test_factored_and_formed_gradients_add_and_detach():
    g, ids, formed = _factored(2)
    h = RowSparseGrad.make(ids[:4], formed[:4] * 3, (12, 4))
    want = _dense_of(ids, formed) + _dense_of(ids[:4], formed[:4] * 3)
    np.testing.assert_allclose((g + h).to_dense().numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g.detach().to_dense().numpy(), g.to_dense().numpy())
    base = np.ones((12, 4), np.float32)
    np.testing.assert_allclose(g.add(lamina.tensor(base)).numpy(), base + _dense_of(ids, formed), rtol=1e-5)


def test_a_factored_gradient_that_does_not_fit_its_matrix_is_refused():
    with pytest.raises(ValueError, match="do not describe rows"):
        RowSparseGrad.factored(np.zeros((5, 3), np.int64), np.ones(15, np.float32), np.zeros((4, 4), np.float32), (12, 4))
    with pytest.raises(ValueError, match="do not describe rows"):
        RowSparseGrad.factored(np.zeros((5, 3), np.int64), np.ones(14, np.float32), np.zeros((5, 4), np.float32), (12, 4))
