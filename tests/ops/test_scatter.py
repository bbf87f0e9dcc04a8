"""scatter (src, value, reduce), index_add and masked_select against torch: values, gradients, errors."""
import warnings

import numpy as np
import pytest
import torch
from opcheck import check_op
from twins import compare

import lamina

_IDX = np.array([[0, 2, 1, 3], [2, 0, 3, 1]])  # per row a permutation: no target written twice


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_src_matches_torch(dtype, dim):
    rng = np.random.default_rng(1)
    idx = _IDX if dim == 1 else np.array([[3, 0, 1, 2, 0], [1, 2, 0, 3, 2]])
    x, src = rng.standard_normal((4, 5)), rng.standard_normal(idx.shape)
    compare(lambda a, s: a.scatter(dim, lamina.tensor(idx), s), lambda a, s: a.scatter(dim, torch.tensor(idx), s),
            [x, src], dtype)
    big = rng.standard_normal((3, 6))  # a src larger than the index: only its leading part is read
    np.testing.assert_array_equal(lamina.tensor(x).scatter(dim, lamina.tensor(idx), lamina.tensor(big)).numpy(),
                                  torch.tensor(x).scatter(dim, torch.tensor(idx), torch.tensor(big)).numpy())


def test_scatter_through_the_op_checker():
    rng = np.random.default_rng(2)
    check_op(lambda a, s: lamina.scatter(a, 1, lamina.tensor(_IDX), s) * 2.0,
             lambda a, s: torch.scatter(a, 1, torch.tensor(_IDX), s) * 2.0,
             rng.standard_normal((2, 5)), rng.standard_normal((2, 4)))


def test_scatter_value_and_reduce_match_torch():
    rng = np.random.default_rng(3)
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    idx = np.array([[0, 1, 2, 0], [0, 2, 2, 1]])  # repeats: add and multiply accumulate
    a, t = lamina.tensor(x), torch.tensor(x)
    np.testing.assert_array_equal(a.scatter(0, lamina.tensor(idx), value=-1.5).numpy(),
                                  t.scatter(0, torch.tensor(idx), -1.5).numpy())
    for reduce in ("add", "multiply"):
        got = a.scatter(0, lamina.tensor(idx), lamina.tensor(src), reduce=reduce)
        with warnings.catch_warnings():  # torch deprecates reduce= (once per process)
            warnings.simplefilter("ignore")
            want = t.scatter(0, torch.tensor(idx), torch.tensor(src), reduce=reduce)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_scatter_with_repeated_targets_keeps_one_written_value():
    x = lamina.zeros(3)
    out = x.scatter(0, lamina.tensor([1, 1, 2]), lamina.tensor([5.0, 7.0, 9.0]))
    assert out[1].item() in (5.0, 7.0) and out[2].item() == 9.0 and out[0].item() == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_index_add_matches_torch(dtype):
    rng = np.random.default_rng(4)
    x, s = rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 4, 2))
    idx = [4, 0, 4, 2]
    compare(lambda a, b: a.index_add(1, lamina.tensor(idx), b, alpha=-0.5),
            lambda a, b: a.index_add(1, torch.tensor(idx), b, alpha=-0.5), [x, s], dtype)
    check_op(lambda a, b: lamina.index_add(a, 1, lamina.tensor(idx), b),
             lambda a, b: torch.index_add(a, 1, torch.tensor(idx), b), x, s)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_select_matches_torch(dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4))
    m = rng.standard_normal(4) > 0  # broadcast along the rows
    compare(lambda a: a.masked_select(lamina.tensor(m)), lambda a: a.masked_select(torch.tensor(m)), [x], dtype)
    check_op(lambda a: lamina.masked_select(a, lamina.tensor(x > 0)),
             lambda a: torch.masked_select(a, torch.tensor(x > 0)), x)


def test_bad_arguments_name_the_op():
    x = lamina.zeros(2, 3)
    with pytest.raises(IndexError, match="scatter: index values"):
        x.scatter(1, lamina.tensor([[3]]), value=1.0)
    with pytest.raises(lamina.ShapeError, match="scatter: index has 1 dims"):
        x.scatter(1, lamina.tensor([0]), value=1.0)
    with pytest.raises(TypeError, match="scatter: give exactly one"):
        x.scatter(1, lamina.tensor([[0]]))
    with pytest.raises(lamina.ShapeError, match="index_add: source must have shape"):
        x.index_add(0, lamina.tensor([0]), lamina.zeros(2, 3))
    with pytest.raises(TypeError, match="masked_select: mask must be a bool"):
        x.masked_select(lamina.ones(2, 3))
    with pytest.raises(RuntimeError, match="reduce='multiply' has no gradient"):
        lamina.zeros(2, requires_grad=True).scatter(0, lamina.tensor([0]), lamina.ones(1), reduce="multiply")


def test_in_place_forms_match_torch():
    rng = np.random.default_rng(6)
    x, s = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    idx = np.array([[1], [0], [3]])
    a, t = lamina.tensor(x), torch.tensor(x)
    assert a.scatter_(1, lamina.tensor(idx), 1.0) is a
    t.scatter_(1, torch.tensor(idx), 1.0)
    a.scatter_add_(1, lamina.tensor(idx), lamina.tensor(s[:, :1]))
    t.scatter_add_(1, torch.tensor(idx), torch.tensor(s[:, :1]))
    a.index_add_(0, lamina.tensor([2, 2]), lamina.tensor(s[:2]), alpha=3)
    t.index_add_(0, torch.tensor([2, 2]), torch.tensor(s[:2]), alpha=3)
    a.masked_fill_(lamina.tensor(x > 0.5), -1.0)
    t.masked_fill_(torch.tensor(x > 0.5), -1.0)
    np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-12)
