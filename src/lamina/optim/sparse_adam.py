"""SparseAdam: Adam for row-sparse gradients (``nn.Embedding(sparse=True)``), with PyTorch's semantics.

Only the rows R of the (coalesced) gradient g move, and only their moments are updated — the
moments are *lazy*: a row that is not in the batch keeps its m and v, they do not decay::

    m_R = β1 m_R + (1 - β1) g_R          v_R = β2 v_R + (1 - β2) g_R²
    θ_R = θ_R - lr · √(1 - β2^t) / (1 - β1^t) · m_R / (√v_R + eps)

where t counts the steps at which the parameter had a gradient (one counter per parameter, as
in PyTorch, not one per row).  A step costs O(|R| · dim) whatever the number of rows.
Dense gradients are refused (use Adam for those parameters).
"""
from __future__ import annotations

import math

from ..backend import xp
from ._sparse import is_sparse, sparse_only_error, sparse_rows
from .optimizer import Optimizer


def _sparse_adam_rows(p, m, v, grad, *, lr, beta1, beta2, eps, step, maximize):
    rows, g = sparse_rows(grad, p.dtype)
    if rows.size == 0:
        return
    if maximize:
        xp.negative(g, out=g)
    dt = p.dtype.type
    m_r = m[rows]
    m_r += (g - m_r) * dt(1 - beta1)          # m ← m + (1-β1)(g - m) = β1 m + (1-β1) g
    m[rows] = m_r
    v_r = v[rows]
    g *= g
    v_r += (g - v_r) * dt(1 - beta2)
    v[rows] = v_r
    xp.sqrt(v_r, out=v_r)
    v_r += dt(eps)
    step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    m_r /= v_r
    m_r *= dt(-step_size)
    p[rows] += m_r


class SparseAdam(Optimizer):
    """``SparseAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, *, maximize=False)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"SparseAdam: invalid learning rate {lr} (expected > 0)")
        if not 0.0 < eps:
            raise ValueError(f"SparseAdam: invalid eps {eps} (expected > 0)")
        if len(betas) != 2 or not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"SparseAdam: invalid betas {betas} (expected two values in [0, 1))")
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _step_group(self, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        kw = dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                  maximize=bool(group["maximize"]))
        gi = next(k for k, gr in enumerate(self.param_groups) if gr is group)
        for i, p in enumerate(group["params"]):
            if p.grad is not None and not is_sparse(p.grad):
                raise sparse_only_error("SparseAdam", gi, i, p)
        for p, g in self._with_grads(group, allow_sparse=True):
            state = self.state[p]
            if not state:
                state.update(step=0, exp_avg=xp.zeros_like(p._data), exp_avg_sq=xp.zeros_like(p._data))
            state["step"] += 1
            _sparse_adam_rows(p._data, state["exp_avg"], state["exp_avg_sq"], g, step=state["step"], **kw)
