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

Full-batch gradient descent with a line search (``line_search='armijo' | 'strong_wolfe'``)
--------------------------------------------------------------------------------------------
Each ``step(closure)`` is one step θ ← θ + α d along d = -∇φ(θ), with α chosen by a line search
on φ(θ + α d) (ideally α = argmin_α φ(θ - α∇φ)) instead of a fixed lr; φ = L (−L if ``maximize``)
plus (weight_decay/2)‖θ‖², so d is the same coupled-decay direction as the fixed-step rule.
``lr`` is the first step length tried.  All parameters form one vector θ (one parameter group).

* ``'armijo'``: backtracking α = lr, lr/2, lr/4, … (at most 50 tries), the first with
  φ(θ + αd) ≤ φ(θ) + c1·α·∇φᵀd, c1 = 1e-4 (``line_search.backtracking``).  If none of them
  decreases φ enough, θ is left unchanged.
* ``'strong_wolfe'``: α with φ(θ + αd) ≤ φ(θ) + c1·α·∇φᵀd and |∇φ(θ + αd)ᵀd| ≤ c2|∇φᵀd|,
  c1 = 1e-4, c2 = 0.9 (``line_search.strong_wolfe``, at most 25 iterations; θ moves to its best
  point if the budget runs out).

The closure is evaluated several times per step (it must zero the grads, compute the loss,
call ``backward()`` and return it), so the loss should be the full-batch one.  The line search
replaces momentum, so ``momentum`` must be 0 (and then Nesterov is off); row-sparse gradients
are not supported.  ``step`` returns the loss at the starting θ.
"""
from __future__ import annotations

from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import xp
from ._flat import FlatParams
from ._sparse import is_sparse, sparse_rows
from .functional import _sgd_kernel, _sgd_options, sgd_
from .line_search import backtracking, strong_wolfe
from .optimizer import Optimizer

_LINE_SEARCHES = (None, "armijo", "strong_wolfe")


def _sparse_sgd(p, grad, lr, weight_decay, maximize):
    """θ_R -= lr * (±G_R + weight_decay * θ_R) on the rows R of a row-sparse gradient, in place. Without decay:
    θ -= ±lr·G as one sparse product into θ (repeated rows accumulate; nothing is gathered or coalesced);
    with decay: the dense rule on the gathered, coalesced rows (the decay counts each row once)."""
    if not weight_decay:
        grad.add_into(p, lr if maximize else -lr)
        return
    rows, d = sparse_rows(grad, p.dtype)  # d: a fresh array, so the kernel may write into it
    theta = p[rows]
    # the scratch t1 may be d itself unless the decay term needs both (no fresh array: a large one costs page faults)
    _sgd_kernel(theta, d, None, None, d, xp.empty_like(d) if weight_decay else d, first=False,
                **_sgd_options(lr, weight_decay, 0.0, 0.0, False, maximize, 0.0))
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


def _check_line_search(groups, line_search=None) -> None:
    """``line_search`` is None, 'armijo' or 'strong_wolfe'; with one it needs momentum 0 and one group."""
    if line_search not in _LINE_SEARCHES:
        raise ValueError(f"SGD: line_search must be None, 'armijo' or 'strong_wolfe', got {line_search!r}")
    searched = [g for g in groups if g.get("line_search") is not None]
    if not searched:
        return
    kind = searched[0]["line_search"]
    if len(groups) != 1:
        raise ValueError(f"SGD(line_search={kind!r}): the line search moves all parameters as one vector, so it "
                         f"needs a single parameter group, got {len(groups)}")
    group = groups[0]
    if group["line_search"] not in _LINE_SEARCHES:
        raise ValueError(f"SGD: line_search must be None, 'armijo' or 'strong_wolfe', got {group['line_search']!r}")
    if float(group["momentum"]) != 0.0:
        raise ValueError(f"SGD(line_search={kind!r}): momentum={group['momentum']} is not supported with a line "
                         "search (each step is θ ← θ − α∇L with α from the search); set momentum=0")


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
    line_search=None)``; ``line_search`` in (None, 'armijo', 'strong_wolfe'): full-batch descent, step(closure)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False, foreach=None, line_search=None):
        check_sgd("SGD", lr, momentum, dampening, weight_decay, nesterov)
        if line_search is not None and not lr > 0.0:
            raise ValueError(f"SGD(line_search={line_search!r}): lr is the first step tried and must be > 0, "
                             f"got {lr}")
        _check_line_search([], line_search)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, line_search=line_search)
        super().__init__(params, defaults)
        _check_line_search(self.param_groups)

    def step(self, closure=None):
        """One update; with ``line_search`` one line-searched gradient-descent step (closure required)."""
        if not any(g.get("line_search") is not None for g in self.param_groups):
            return super().step(closure)
        _check_line_search(self.param_groups)
        kind = self.param_groups[0]["line_search"]
        if closure is None:
            raise TypeError(f"SGD(line_search={kind!r}).step(closure): the line search re-evaluates the loss, so a "
                            "closure is required (it must zero the grads, compute the loss, call backward() and "
                            "return the loss)")
        return _line_search_step(self.param_groups[0], closure)

    def _step_group(self, group):
        momentum = float(group["momentum"])
        lr, weight_decay, maximize = float(group["lr"]), float(group["weight_decay"]), bool(group["maximize"])
        params, grads, bufs = self._dense_terms(group, momentum, lr, weight_decay, maximize)
        if not params:  # every gradient was row-sparse (applied already)
            return
        missing = [i for i, b in enumerate(bufs) if b is None] if momentum != 0 else []
        sgd_([p._data for p in params], grads, bufs, lr=lr, weight_decay=weight_decay, momentum=momentum,
             dampening=float(group["dampening"]), nesterov=bool(group["nesterov"]), maximize=maximize)
        for i in missing:  # sgd_ made the buffers it lacked (b = d at the first step)
            self.state[params[i]]["momentum_buffer"] = bufs[i]

    def _dense_terms(self, group, momentum: float, lr: float, weight_decay: float, maximize: bool):
        """(parameters, gradients, momentum buffers) of the dense update; a row-sparse gradient without momentum
        is applied here, on its rows only (with momentum it is made dense)."""
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
        return params, grads, bufs


def _line_search_step(group, closure):
    """θ ← θ + α d, d = -∇φ(θ), φ = ±L + (weight_decay/2)‖θ‖², α from the group's line search; returns the
    closure's loss at the starting θ."""
    flat = FlatParams(group["params"])
    sign = -1.0 if group["maximize"] else 1.0
    wd = float(group["weight_decay"])

    def phi(x):
        """(φ(x), ∇φ(x)) with the parameters set to x."""
        flat.set(x)
        with enable_grad():
            out = closure()
        f, g = sign * float(out), flat.grads()
        if sign < 0:
            g = -g
        if wd:
            f += 0.5 * wd * float(xp.dot(x, x))
            g = g + wd * x
        return out, f, g

    with no_grad():
        x0 = flat.get()
        first, f0, g0 = phi(x0)
        d = -g0
        if not float(xp.abs(d).max(initial=0.0)) > 0.0:   # stationary point: nothing to do
            flat.set(x0)
            return first
        t0 = float(group["lr"])
        if group["line_search"] == "armijo":
            res = backtracking(lambda x: phi(x)[1], x0, d, f0, g0, t=t0)
        else:
            res = strong_wolfe(lambda x: phi(x)[1:], x0, d, f0, g0, t=t0)
        flat.set(x0 + res.t * d if res.success or group["line_search"] == "strong_wolfe" else x0)
    return first
