"""The one helper that checks every differentiable op.

``check_op(lamina_fn, torch_fn, *arrays)`` runs both on the same float64 inputs and checks
1. the forward value against PyTorch;
2. the gradient (a random cotangent u, vector-Jacobian product) against PyTorch;
3. the gradient against central finite differences (lamina.autograd.gradcheck);
4. the second derivative through create_graph (grad of ⟨∇⟨f, u⟩, w⟩) against PyTorch
   (tests/ops/test_op_registry.py adds gradgradcheck, finite differences of the first derivative);
5. forward mode against reverse mode: ⟨J v, u⟩ = ⟨v, Jᵀ u⟩.

PyTorch is a required test dependency.
"""
from __future__ import annotations

import numpy as np
import torch

import lamina
from lamina.autograd import gradcheck

torch.set_default_dtype(torch.float64)


def _outs(res):
    return list(res) if isinstance(res, (tuple, list)) else [res]


def check_op(lamina_fn, torch_fn, *arrays, diff=None, atol=1e-7, rtol=1e-6, second_order=True, fd=True,
             fwd=True, seed=0, fd_atol=1e-5, fd_rtol=1e-4):
    """Check ``lamina_fn(*tensors)`` against ``torch_fn(*tensors)``; ``diff`` lists the differentiable
    argument positions (default: every float array)."""
    arrays = [np.asarray(a) for a in arrays]
    if diff is None:
        diff = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    rng = np.random.default_rng(seed)

    def lam_inputs(requires=True):
        return [lamina.tensor(a.copy(), requires_grad=requires and i in diff) for i, a in enumerate(arrays)]

    xs = lam_inputs()
    outs = _outs(lamina_fn(*xs))
    for o in outs:
        assert o.dtype == np.float64, f"float64 in, {o.dtype} out"
    us = [rng.standard_normal(o.shape) for o in outs]

    # 1-2: forward and vjp against torch
    if torch_fn is not None:
        txs = [torch.tensor(a.copy(), requires_grad=i in diff) for i, a in enumerate(arrays)]
        touts = _outs(torch_fn(*txs))
        assert len(touts) == len(outs)
        for o, to in zip(outs, touts):
            assert tuple(o.shape) == tuple(to.shape), f"shape {o.shape} vs torch {tuple(to.shape)}"
            np.testing.assert_allclose(o.numpy(), to.detach().numpy(), atol=atol, rtol=rtol, err_msg="forward")
        lam_g = lamina.autograd.grad(outs, [xs[i] for i in diff], [lamina.tensor(u) for u in us],
                                     retain_graph=True, allow_unused=True, materialize_grads=True)
        tor_g = torch.autograd.grad(touts, [txs[i] for i in diff], [torch.tensor(u) for u in us],
                                    allow_unused=True, materialize_grads=True, create_graph=second_order)
        for k, (g, tg) in enumerate(zip(lam_g, tor_g)):
            np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), atol=atol, rtol=rtol,
                                       err_msg=f"gradient of input {diff[k]}")
        # 4: second order against torch
        if second_order:
            ws = [rng.standard_normal(arrays[i].shape) for i in diff]
            xs2 = lam_inputs()
            outs2 = _outs(lamina_fn(*xs2))
            g1 = lamina.autograd.grad(outs2, [xs2[i] for i in diff], [lamina.tensor(u) for u in us],
                                      create_graph=True, allow_unused=True, materialize_grads=True)
            s = sum((g * lamina.tensor(w)).sum() for g, w in zip(g1, ws))
            if s.requires_grad:
                g2 = lamina.autograd.grad(s, [xs2[i] for i in diff], allow_unused=True, materialize_grads=True)
                ts = sum((tg * torch.tensor(w)).sum() for tg, w in zip(tor_g, ws))
                if ts.requires_grad:
                    tg2 = torch.autograd.grad(ts, [txs[i] for i in diff], allow_unused=True, materialize_grads=True)
                else:
                    tg2 = [torch.zeros_like(txs[i]) for i in diff]
                for k, (g, tg) in enumerate(zip(g2, tg2)):
                    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), atol=atol * 10, rtol=rtol * 10,
                                               err_msg=f"second derivative of input {diff[k]}")

    # 3: finite differences (reverse and forward mode)
    if fd:
        gradcheck(lambda *t: lamina_fn(*t), tuple(lam_inputs()), atol=fd_atol, rtol=fd_rtol,
                  check_forward_ad=fwd)

    # 5: forward mode against reverse mode
    if fwd:
        vs = [rng.standard_normal(arrays[i].shape) for i in diff]
        primals = lam_inputs(requires=False)

        def f_diff(*d):
            full = list(primals)
            for i, t in zip(diff, d):
                full[i] = t
            return lamina_fn(*full)

        _, jv = lamina.func.jvp(f_diff, tuple(primals[i] for i in diff), tuple(lamina.tensor(v) for v in vs))
        _, vjp_fn = lamina.func.vjp(f_diff, *[primals[i] for i in diff])
        jtu = vjp_fn(*[lamina.tensor(u) for u in us])
        lhs = sum(float((t.numpy() * u).sum()) for t, u in zip(_outs(jv), us))
        rhs = sum(float((g.numpy() * v).sum()) for g, v in zip(jtu, vs))
        np.testing.assert_allclose(lhs, rhs, rtol=1e-7, atol=1e-9, err_msg="<Jv,u> != <v,J^T u>")
