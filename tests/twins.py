"""Run one function in lamina and in torch on the same float32 or float64 arrays; compare values and gradients."""
import numpy as np
import torch

import lamina

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def compare(lam_fn, torch_fn, arrays, dtype, diff=None, tol=None):
    """Values of ``lam_fn`` and ``torch_fn`` on ``arrays`` cast to ``dtype``, and the gradients of a random
    weighted sum of the output with respect to the arrays listed in ``diff`` (default: all)."""
    tol = tol or TOL[dtype]
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    diff = range(len(arrays)) if diff is None else diff
    xs = [lamina.tensor(a.copy(), requires_grad=i in diff) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a.copy(), requires_grad=i in diff) for i, a in enumerate(arrays)]
    out, tout = lam_fn(*xs), torch_fn(*ts)
    assert out.dtype == np.dtype(dtype), f"{dtype.__name__} in, {out.dtype} out"
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), err_msg="forward", **tol)
    u = np.random.default_rng(0).standard_normal(tuple(out.shape)).astype(dtype)
    (out * lamina.tensor(u)).sum().backward()
    (tout * torch.tensor(u)).sum().backward()
    for i in diff:
        np.testing.assert_allclose(xs[i].grad.numpy(), ts[i].grad.numpy(), err_msg=f"grad {i}", **tol)
