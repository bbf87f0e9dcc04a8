"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

Full-batch gradient descent, mini-batch SGD and batch-1 SGD are the same class: what
changes is the data the loss was computed on.

The update (PyTorch's formulas, same order; the rule is ``functional.sgd_``), with g = ∇L
(negated if ``maximize``)::

    g = g + weight_decay * θ                          (coupled L2 decay)
    v = g                                   first step
    v = momentum * v + (1 - dampening) * g  afterwards
    g = g + momentum * v  if nesterov  else  g = v
    θ = θ - lr * g

Momentum, the two textbook forms
--------------------------------
* The EWMA form ``v = βv + (1-β)∇, θ = θ - αv`` (with ``v0 = ∇θ0``) is
  ``SGD(momentum=β, dampening=β)``: PyTorch also starts the buffer at the first gradient.
* The velocity form ``v = βv - α∇, θ = θ + v`` (v0 = 0) is ``SGD(momentum=β)``:
  PyTorch keeps ``v' = βv' + ∇`` and steps ``θ = θ - αv'``; with a constant α,
  ``v = -αv'`` turns one into the other step for step (same θ).  If α changes
  (a scheduler), PyTorch's form rescales the whole accumulated velocity by the new α,
  while the velocity form keeps past steps at their old α.
* Nesterov's momentum (look ahead θ̃ = θ + βv, take the gradient there) is
  ``SGD(momentum=β, nesterov=True)``: the parameters it stores are the look-ahead
  points θ̃ themselves (Sutskever's reformulation), so the gradient is taken at the
  stored parameters.

Row-sparse gradients (``nn.Embedding(sparse=True)``)
----------------------------------------------------
Without momentum only the rows R in the gradient change: θ_R = θ_R - lr * G_R, with G the
coalesced gradient (repeated rows summed) — the same values as PyTorch, at O(|R| · dim) per
step.  ``weight_decay`` is then *lazy*: θ_R = θ_R - lr * (G_R + weight_decay * θ_R), only on
the rows of the batch (PyTorch raises for sparse gradients with weight decay; dense decay would
cost O(rows · dim) per step).  With momentum every row moves at every step (the velocity of a
row outlives its gradient), so the gradient is made dense and the dense rule runs: same values
as PyTorch's sparse momentum, but O(rows · dim) per step.
"""
from __future__ import annotations

from ..backend import xp
from ._sparse import is_sparse, sparse_rows
from .functional import sgd_
from .optimizer import Optimizer


def _sparse_sgd(p, grad, lr, weight_decay, maximize):
    """θ_R -= lr * (±G_R + weight_decay * θ_R) on the rows R of a row-sparse gradient, in place: the
    dense rule on the gathered rows."""
    rows, d = sparse_rows(grad, p.dtype)
    theta = p[rows]
    sgd_([theta], [d], [None], lr=lr, weight_decay=weight_decay, maximize=maximize)
    p[rows] = theta


def _densify(grad, like):
    """The dense array of a row-sparse gradient (rows summed)."""
    rows, vals = sparse_rows(grad, like.dtype)
    dense = xp.zeros_like(like)
    dense[rows] = vals
    return dense


def check_sgd(owner: str, lr, momentum, dampening, weight_decay, nesterov) -> None:
    """SGD's hyperparameters: lr, momentum and weight_decay >= 0; Nesterov needs momentum and no dampening."""
    if lr < 0.0:
        raise ValueError(f"{owner}: invalid learning rate {lr} (expected >= 0)")
    if momentum < 0.0:
        raise ValueError(f"{owner}: invalid momentum {momentum} (expected >= 0)")
    if weight_decay < 0.0:
        raise ValueError(f"{owner}: invalid weight_decay {weight_decay} (expected >= 0)")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"{owner}: Nesterov momentum requires momentum > 0 and dampening = 0, "
                         f"got momentum={momentum}, dampening={dampening}")


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)``."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False, foreach=None):
        check_sgd("SGD", lr, momentum, dampening, weight_decay, nesterov)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach)
        super().__init__(params, defaults)

    def _step_group(self, group):
        momentum = float(group["momentum"])
        lr, weight_decay, maximize = float(group["lr"]), float(group["weight_decay"]), bool(group["maximize"])
        params, grads, bufs = [], [], []
        for p, g in self._with_grads(group, allow_sparse=True):
            if is_sparse(g):
                if momentum == 0:
                    _sparse_sgd(p._data, g, lr, weight_decay, maximize)
                    continue
                g = _densify(g, p._data)
            params.append(p)
            grads.append(g)
            bufs.append(self.state[p].get("momentum_buffer") if momentum != 0 else None)
        sgd_([p._data for p in params], grads, bufs, lr=lr, weight_decay=weight_decay, momentum=momentum,
             dampening=float(group["dampening"]), nesterov=bool(group["nesterov"]), maximize=maximize)
        if momentum != 0:
            for p, buf in zip(params, bufs):
                self.state[p]["momentum_buffer"] = buf
