"""Tensor.unfold(dimension, size, step): windows as torch's, gradients through the adjoint."""
import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ShapeError


@pytest.mark.parametrize("shape,dim,size,step", [((7,), 0, 3, 2), ((2, 5, 3), 1, 2, 2), ((2, 5, 3), -1, 3, 1),
                                                 ((4, 6), 0, 4, 1), ((3, 8), 1, 1, 3), ((5,), 0, 5, 7)])
def test_windows_and_gradient_match_torch(shape, dim, size, step):
    a = np.random.default_rng(0).standard_normal(shape)
    x, tx = lamina.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x.unfold(dim, size, step), tx.unfold(dim, size, step)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    w = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    (y * lamina.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_zero_dim_tensor_is_one_window():
    assert lamina.tensor(3.0).unfold(0, 1, 1).tolist() == [3.0]


def test_bad_windows_are_refused_with_the_shape():
    x = lamina.ones(2, 4)
    with pytest.raises(ShapeError, match=r"unfold: window size 5 exceeds dim 1 of shape \(2, 4\)"):
        x.unfold(1, 5, 1)
    with pytest.raises(ValueError, match="step an integer > 0"):
        x.unfold(1, 2, 0)
    with pytest.raises(IndexError, match="dimension 2 out of range"):
        x.unfold(2, 1, 1)
