"""BFGS: a quasi-Newton method with a dense approximation H ≈ ∇²f⁻¹ of the inverse Hessian.

The parameters are viewed as one flat vector θ (n numbers, every tensor flattened and
concatenated) and H is an n×n matrix, so BFGS is for small full-batch problems (a few
thousand parameters); ``LBFGS`` keeps only the last pairs instead.

Iteration k, with g_k = ∇f(θ_k)::

    d_k = -H_k g_k                                 (H_0 = I)
    θ_{k+1} = θ_k + t_k d_k                        t_k from the line search, or the trial step
    s = θ_{k+1} - θ_k,  y = g_{k+1} - g_k,  ρ = 1/(yᵀs)
    H_{k+1} = (I - ρ s yᵀ) H_k (I - ρ y sᵀ) + ρ s sᵀ

The update is applied in its expanded form, O(n²) per step (no n×n product)::

    H ← H - ρ (s (Hy)ᵀ + (Hy) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ

It keeps H symmetric positive definite when yᵀs > 0, which the strong Wolfe curvature
condition |∇f(θ + t d)ᵀd| ≤ c2 |∇f(θ)ᵀd| guarantees.  A pair with yᵀs ≤ ε‖y‖‖s‖
(ε the dtype's machine epsilon; possible with a fixed step or Armijo backtracking) is
skipped and H kept.

The trial step of the line search (or the fixed step without one), ``trial_step``:

* ``'lr'`` (default, as ``LBFGS``): t = lr, and t = min(1, 1/‖g‖₁)·lr at the very first
  iteration (where H = I, so d = -g has the gradient's scale).
* ``'quadratic'``: the minimiser of the quadratic through f(θ_{k-1}), f(θ_k) and the slope
  gᵀd (Nocedal & Wright eq. 3.60), capped at 1: t = lr·min(1, 1.01·2(f_k - f_{k-1})/(g_kᵀd_k)),
  with f_{-1} = f_0 + ‖g_0‖₂/2, so the first trial is t = lr·min(1, 1.01/‖g_0‖₂) (a first step
  ‖t d‖ = 1.01·lr long when ‖g_0‖₂ > 1.01), and t = lr when the formula is not positive.  This is the rule of
  ``scipy.optimize.minimize(method='BFGS')``: with lr=1, c1=1e-4, c2=0.9 the iterates are
  scipy's whenever both line searches accept their first trial step.

``step(closure)`` runs up to ``max_iter`` iterations; ``closure()`` must zero the gradients,
compute the loss, call ``backward()`` and return the loss (PyTorch's protocol).  The
stopping rules are ``LBFGS``'s: max|∇f| ≤ tolerance_grad, ∇fᵀd > -tolerance_change,
max|t·d| ≤ tolerance_change, |Δf| < tolerance_change, max_eval evaluations per ``step``.
Only one parameter group is supported.  H, d, the previous gradient and the pending pair
are state of the first parameter and round-trip through ``state_dict``.
"""
from __future__ import annotations

import math

from ..backend import xp
from ._closure import ClosureOptimizer
from .line_search import backtracking, strong_wolfe

_LINE_SEARCHES = (None, "strong_wolfe", "backtracking")
_TRIAL_STEPS = ("lr", "quadratic")


def bfgs_update(H, s, y) -> bool:
    """H ← (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ with ρ = 1/(yᵀs), in place on the symmetric n×n array H,
    in O(n²): H ← H - ρ (s (Hy)ᵀ + (Hy) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ.  Skipped (H unchanged, returns False)
    when yᵀs ≤ ε‖y‖‖s‖, which would make H indefinite."""
    ys = float(xp.dot(y, s))
    eps = float(xp.finfo(H.dtype).eps)
    if not math.isfinite(ys) or ys <= eps * float(xp.linalg.norm(y)) * float(xp.linalg.norm(s)):
        return False
    rho = 1.0 / ys
    hy = H @ y
    yhy = float(xp.dot(y, hy))
    H -= rho * (xp.outer(s, hy) + xp.outer(hy, s))
    H += (rho * rho * yhy + rho) * xp.outer(s, s)
    return True


class BFGS(ClosureOptimizer):
    """``BFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
    line_search_fn=None, c1=1e-4, c2=0.9, trial_step='lr')``; ``line_search_fn`` in (None, 'strong_wolfe',
    'backtracking'), ``trial_step`` in ('lr', 'quadratic')."""

    _free_shape_keys = ("H", "d", "s", "prev_flat_grad")

    label = "BFGS"

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 line_search_fn=None, c1=1e-4, c2=0.9, trial_step="lr"):
        if not lr > 0.0:
            raise ValueError(f"BFGS: invalid learning rate {lr} (expected > 0)")
        if line_search_fn not in _LINE_SEARCHES:
            raise ValueError(f"BFGS: line_search_fn must be None, 'strong_wolfe' or 'backtracking', "
                             f"got {line_search_fn!r}")
        if trial_step not in _TRIAL_STEPS:
            raise ValueError(f"BFGS: trial_step must be 'lr' or 'quadratic', got {trial_step!r}")
        if not 0.0 < c1 < c2 < 1.0:
            raise ValueError(f"BFGS: the Wolfe constants need 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
        if int(max_iter) < 1:
            raise ValueError(f"BFGS: max_iter must be >= 1, got {max_iter}")
        if tolerance_grad < 0 or tolerance_change < 0:
            raise ValueError(f"BFGS: tolerances must be >= 0, got tolerance_grad={tolerance_grad}, "
                             f"tolerance_change={tolerance_change}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, line_search_fn=line_search_fn, c1=c1, c2=c2,
                        trial_step=trial_step)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("BFGS doesn't support per-parameter options (parameter groups): it works on the "
                             "concatenated vector of all parameters")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("BFGS doesn't support per-parameter options (parameter groups): it works on the "
                             "concatenated vector of all parameters")
        super().add_param_group(param_group)

    def _unpack_state(self, packed, param):
        """Arrays copied (floating ones in the flat dtype), 0-d arrays back to Python numbers."""
        dtype = self._flat().dtype
        state = {}
        for k, v in packed.items():
            if hasattr(v, "_data"):   # a Tensor
                v = v._data
            if isinstance(v, xp.ndarray) and v.ndim == 0:
                state[k] = v.item()
            elif isinstance(v, xp.ndarray):
                state[k] = xp.array(v, dtype=dtype if v.dtype.kind == "f" else v.dtype, copy=True)
            else:
                state[k] = v
        return state

    def _load_param_state(self, key, packed, p):
        state = super()._load_param_state(key, packed, p)
        n = self._flat().numel
        H = state.get("H")
        if H is not None and H.shape != (n, n):
            raise ValueError(f"BFGS.load_state_dict: state 'H' has shape {tuple(H.shape)}, expected ({n}, {n}) for the "
                             f"{n} parameters of this optimizer")
        return state

    def _iterate(self, group, flat, evaluate, state, loss, flat_grad) -> None:
        max_iter, max_eval, tol_change = int(group["max_iter"]), int(group["max_eval"]), group["tolerance_change"]
        current_evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            d = self._direction(state, flat, flat_grad)
            gtd = float(xp.dot(flat_grad, d))
            if not gtd < -tol_change:
                break
            t = self._trial(group, state, loss, flat_grad, gtd)
            state["prev_flat_grad"], state["prev_loss"] = flat_grad.copy(), loss
            loss, flat_grad, t, evals = self._move(group, flat, evaluate, d, t, loss, flat_grad,
                                                   max_eval - current_evals, n_iter == max_iter)
            state["t"] = t
            state["s"] = t * d
            current_evals += evals
            state["func_evals"] += evals
            if n_iter == max_iter or current_evals >= max_eval:
                break
            if evals and xp.abs(flat_grad).max() <= group["tolerance_grad"]:
                break
            if xp.abs(state["s"]).max() <= tol_change or abs(loss - state["prev_loss"]) < tol_change:
                break

    @staticmethod
    def _direction(state, flat, flat_grad):
        """d = -H g, after folding the pending pair (s, y = g - g_prev) of the last move into H."""
        if "H" not in state:
            state["H"] = xp.eye(flat.numel, dtype=flat.dtype)
        s = state.pop("s", None)
        if s is not None:
            bfgs_update(state["H"], s, flat_grad - state["prev_flat_grad"])
        d = state["d"] = -(state["H"] @ flat_grad)
        return d

    @staticmethod
    def _trial(group, state, loss: float, flat_grad, gtd: float) -> float:
        """The first step length tried (the step itself without a line search)."""
        lr = float(group["lr"])
        first = state["n_iter"] == 1
        if group["trial_step"] == "lr":
            return min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr if first else lr
        prev = loss + float(xp.linalg.norm(flat_grad)) / 2.0 if first else state["prev_loss"]
        t = min(1.0, 1.01 * 2.0 * (loss - prev) / gtd)
        return lr * t if t > 0 else lr

    @staticmethod
    def _move(group, flat, evaluate, d, t, loss, flat_grad, budget: int, last: bool):
        """θ ← θ + t·d with t from the line search (or t itself); returns (loss, gradient, t, evaluations) at
        the new point (the old loss and gradient and 0 evaluations after the last fixed step)."""
        kind = group["line_search_fn"]
        if kind is None:
            flat.add(t, d)
            if last:
                return loss, flat_grad, t, 0
            _, loss, flat_grad = evaluate()
            return loss, flat_grad, t, 1
        x0 = flat.get()
        seen: dict = {}

        def fg(x):
            flat.set(x)
            _, f, g = evaluate()
            seen.update(x=x, f=f, g=g)
            return f, g

        c1, c2 = float(group["c1"]), float(group["c2"])
        if kind == "strong_wolfe":
            res = strong_wolfe(fg, x0, d, loss, flat_grad, t=t, c1=c1, c2=c2, max_ls=max(min(25, budget), 1))
            t, loss, flat_grad, evals = res.t, res.f, res.g, res.evals
        else:
            res = backtracking(lambda x: fg(x)[0], x0, d, loss, flat_grad, t=t, c1=c1, max_iter=max(budget, 1))
            t, evals = res.t, res.evals
            if not xp.array_equal(seen["x"], x0 + t * d):
                fg(x0 + t * d)
                evals += 1
            loss, flat_grad = seen["f"], seen["g"]
        flat.set(x0 + t * d)
        return loss, flat_grad, t, evals
