"""Run a lamina module and its PyTorch twin (same weights, loaded through state_dict) on the same inputs and
compare outputs, input gradients and every parameter gradient."""
from __future__ import annotations

import numpy as np
import torch

import lamina

TOL = {"float64": 1e-10, "float32": 1e-5}


def load_into_torch(lam_module, torch_module) -> None:
    """Copy lamina's (freshly initialised) weights into the torch module; the state_dict keys must agree."""
    state = lam_module.state_dict()
    assert list(state) == list(torch_module.state_dict()), (list(state), list(torch_module.state_dict()))
    torch_module.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})


def _outputs(res):
    res = res if isinstance(res, (tuple, list)) else (res,)
    return [r for r in res if r is not None]


def compare_modules(lam_module, torch_module, arrays, call=None, dtype="float64", seed=0):
    """``call(module, *tensors)`` (default ``module(*tensors)``) on both; float arrays are cast to ``dtype`` and
    require grad, bool arrays are masks. Asserts values and gradients agree to ``TOL[dtype]``."""
    call = call or (lambda m, *xs: m(*xs))
    tol = TOL[dtype]
    arrays = [a if a.dtype == bool else a.astype(dtype) for a in arrays]
    lx = [lamina.tensor(a.copy(), requires_grad=a.dtype != bool) for a in arrays]
    tx = [torch.tensor(a.copy(), requires_grad=a.dtype != bool) for a in arrays]
    lo, to = _outputs(call(lam_module, *lx)), _outputs(call(torch_module, *tx))
    assert len(lo) == len(to)
    rng = np.random.default_rng(seed)
    loss_l, loss_t = 0.0, 0.0
    for a, b in zip(lo, to):
        assert tuple(a.shape) == tuple(b.shape), (tuple(a.shape), tuple(b.shape))
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)
        u = rng.standard_normal(tuple(a.shape)).astype(dtype)
        loss_l = loss_l + (a * lamina.tensor(u)).sum()
        loss_t = loss_t + (b * torch.tensor(u)).sum()
    loss_l.backward()
    loss_t.backward()
    for i, (a, b) in enumerate(zip(lx, tx)):
        if b.requires_grad:
            _close(a.grad, b.grad, tol, f"input {i}")
    tparams = dict(torch_module.named_parameters())
    lparams = dict(lam_module.named_parameters())
    assert list(lparams) == list(tparams)
    for name, p in lparams.items():
        _close(p.grad, tparams[name].grad, tol, name)
    return lo, to


def _close(g, tg, tol, what):
    if tg is None:
        assert g is None or not np.any(g.numpy()), what
        return
    assert g is not None, f"no gradient for {what}"
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=tol, atol=tol, err_msg=f"gradient of {what}")
