"""L1 and L2 penalties to add to a loss: L'(θ) = L(θ) + λR(θ).

    l1(params, lam) = λ·Σ|θ|         promotes sparsity: a few large weights, many exactly ~0
    l2(params, lam) = λ/2·Σθ²        keeps weights small and spread out

The L2 penalty has one definition throughout lamina: λ/2·‖θ‖², whose gradient is λθ, so
``l2(params, λ)`` in the loss gives the same update as ``SGD(..., weight_decay=λ)``
(PyTorch's coupled weight decay, d = g + λθ), and the same λ as the ``"l2"``
hyperparameter of ``lamina.tune.hypergradient`` and ``LogisticRegression(l2=λ)``.  Decay
applied in the optimizer instead of the loss: ``weight_decay=`` of every optimizer
(coupled) and ``AdamW`` (decoupled).

``params``: an iterable of tensors, or anything with ``.parameters()`` (a Module).
The result is a 0-d tensor in the graph, so ``(loss + l2(model, 1e-4)).backward()``
works.  Biases are often left out: pass only the weights you want penalised.
"""
from __future__ import annotations

from collections.abc import Callable

from ..tensor import Tensor

__all__ = ["l1", "l2"]


def _params(params, where: str) -> list[Tensor]:
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


def _check_lam(lam: float, where: str) -> float:
    lam = float(lam)
    if lam < 0:
        raise ValueError(f"{where}: the regularisation strength λ must be >= 0, got {lam}")
    return lam


def _penalty(params, lam: float, where: str, term: Callable[[Tensor], Tensor]) -> Tensor:
    """λ·Σ_p term(p) over the given parameters, in the graph."""
    lam = _check_lam(lam, where)
    first, *rest = _params(params, where)
    total = term(first)
    for p in rest:
        total = total + term(p)
    return total * lam


def l1(params, lam: float = 1.0) -> Tensor:
    """λ·Σ|θ| over all the given parameters."""
    return _penalty(params, lam, "l1", lambda p: p.abs().sum())


def l2(params, lam: float = 1.0) -> Tensor:
    """λ/2·Σθ² over all the given parameters: the gradient is λθ (= SGD's ``weight_decay=λ``)."""
    return _penalty(params, 0.5 * _check_lam(lam, "l2"), "l2", lambda p: (p * p).sum())
