"""``x[i, j]`` with an int per dim is a 0-d view of the element, as in PyTorch: in-place updates through it
(``N[i, j] += 1``, the counting loop of a bigram table) reach the tensor, and it keeps the tensor's dtype."""
from __future__ import annotations

import numpy as np
import torch

import lamina


def _count(m):
    N = m.zeros((3, 4), dtype=m.int32)
    for i, j in [(0, 1), (2, 3), (0, 1), (1, 0)]:
        N[i, j] += 1
    t = N[2, 2]
    t += 7
    row = N[1]
    row[3] -= 2
    return N.numpy().copy(), str(N[0, 1].dtype).replace("torch.", "").replace("lamina.", ""), tuple(N[0, 0].shape)


def test_element_index_is_a_view_like_torch():
    got, ref = _count(lamina), _count(torch)
    np.testing.assert_array_equal(got[0], ref[0])
    assert got[1:] == ref[1:]


def test_element_index_keeps_its_gradient():
    x = lamina.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (x[1, 2] * 3 + x[0, 0]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0], [0, 0, 3]])
