"""MatMul with transpose flags: C = op(A) @ op(B), whose backward is a table of two flagged products."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.autograd.op import run
from lamina.ops.linalg import MatMul


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_transposed_operands_get_the_gradients_of_torch(ta, tb):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 4, 3) if ta else (2, 3, 4))
    b = rng.standard_normal((5, 4) if tb else (4, 5))
    g = rng.standard_normal((2, 3, 5))
    la, lb = lamina.tensor(a, requires_grad=True), lamina.tensor(b, requires_grad=True)
    (run(MatMul(ta, tb), la, lb) * lamina.tensor(g)).sum().backward()
    ta_, tb_ = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    c = (ta_.transpose(-1, -2) if ta else ta_) @ (tb_.transpose(-1, -2) if tb else tb_)
    (c * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(la.grad.numpy(), ta_.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lb.grad.numpy(), tb_.grad.numpy(), rtol=1e-12, atol=1e-12)
