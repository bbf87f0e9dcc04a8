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
