"""L1 and L2 penalties to add to a loss (seed 002: L'(θ) = L(θ) + λR(θ)).

    l1(params, lam) = λ·Σ|θ|     promotes sparsity: a few large weights, many exactly ~0
    l2(params, lam) = λ·Σθ²      keeps weights small and spread out

Both follow seed 002's R(θ) exactly: there is **no ½** in ``l2``, so its gradient is
2λθ — the same update as ``SGD(..., weight_decay=2λ)``.  Decay applied in the
optimizer instead of the loss: ``weight_decay=`` of every optimizer (coupled, PyTorch's
semantics) and ``AdamW`` (decoupled).

``params``: an iterable of tensors, or anything with ``.parameters()`` (a Module).
The result is a 0-d tensor in the graph, so ``(loss + l2(model, 1e-4)).backward()``
works.  Biases are often left out: pass only the weights you want penalised.
"""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["l1", "l2"]


def _params(params, where):
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if isinstance(params, Tensor):
        params = [params]
    out = list(params)
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, expected a Tensor")
    if not out:
        raise ValueError(f"{where}: got no parameters to penalise")
    return out


def _check_lam(lam, where):
    lam = float(lam)
    if lam < 0:
        raise ValueError(f"{where}: the regularisation strength λ must be >= 0, got {lam}")
    return lam


def l1(params, lam: float = 1.0) -> Tensor:
    """λ·Σ|θ| over all the given parameters."""
    lam = _check_lam(lam, "l1")
    total = None
    for p in _params(params, "l1"):
        term = p.abs().sum()
        total = term if total is None else total + term
    return total * lam


def l2(params, lam: float = 1.0) -> Tensor:
    """λ·Σθ² over all the given parameters (no ½: the gradient is 2λθ)."""
    lam = _check_lam(lam, "l2")
    total = None
    for p in _params(params, "l2"):
        term = (p * p).sum()
        total = term if total is None else total + term
    return total * lam
