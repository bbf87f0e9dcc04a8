"""L-BFGS (seed 002: a quasi-Newton method with an approximation of the inverse Hessian).

BFGS builds an approximation H ≈ ∇²f⁻¹ from the pairs s = θ_{k+1} - θ_k,
y = ∇f_{k+1} - ∇f_k; L-BFGS keeps only the last ``history_size`` pairs and applies H
to a vector with the two-loop recursion (O(m·n) memory and time instead of O(n²)).
The initial matrix is H0 = (sᵀy / yᵀy)·I; a pair with sᵀy ≤ 1e-10 is skipped so H
stays positive definite.

``step(closure)`` runs up to ``max_iter`` iterations; ``closure()`` must zero the
gradients, compute the loss, call ``backward()`` and return the loss (PyTorch's
protocol).  Each iteration moves along d = -H∇f by ``lr`` (the first step is scaled
to min(1, 1/‖∇f‖₁)·lr), or by a step chosen with ``line_search_fn='strong_wolfe'``
(see ``line_search.strong_wolfe``) or lamina's ``'backtracking'`` (Armijo).  The
stopping rules and iterates are PyTorch's: max|∇f| ≤ tolerance_grad, ⟨∇f, d⟩ >
-tolerance_change, max|t·d| ≤ tolerance_change, |Δf| < tolerance_change, max_eval.
Only one parameter group is supported (the method works on the concatenated vector).
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ._flat import FlatParams
from .line_search import backtracking, strong_wolfe
from .optimizer import Optimizer


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
    history_size=100, line_search_fn=None)``; ``line_search_fn`` in (None, 'strong_wolfe', 'backtracking')."""

    _free_shape_keys = ("d", "prev_flat_grad", "old_dirs", "old_stps", "ro")

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if lr < 0.0:
            raise ValueError(f"LBFGS: invalid learning rate {lr} (expected >= 0)")
        if line_search_fn not in (None, "strong_wolfe", "backtracking"):
            raise ValueError(f"LBFGS: line_search_fn must be None, 'strong_wolfe' or 'backtracking', "
                             f"got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # the history lists are stored as 2-D arrays in state_dict
    def _pack_state(self, state):
        out = super()._pack_state({k: v for k, v in state.items() if k not in ("old_dirs", "old_stps", "ro")})
        for k in ("old_dirs", "old_stps"):
            if k in state:
                rows = state[k]
                n = self._flat().numel
                out[k] = np.stack(rows) if rows else np.zeros((0, n), dtype=self._flat().dtype)
        if "ro" in state:
            out["ro"] = np.asarray(state["ro"], dtype=np.float64)
        return out

    def _unpack_state(self, packed, param):
        state = {}
        for k, v in packed.items():
            if k in ("old_dirs", "old_stps"):
                state[k] = [np.array(r) for r in np.asarray(v)]
            elif k == "ro":
                state[k] = [float(r) for r in np.asarray(v).ravel()]
            elif isinstance(v, np.ndarray) and v.ndim == 0:
                state[k] = v.item()
            elif isinstance(v, np.ndarray):
                state[k] = np.array(v)
            else:
                state[k] = v
        return state

    def _flat(self) -> FlatParams:
        return FlatParams(self.param_groups[0]["params"])

    def _step_group(self, group):
        raise TypeError("LBFGS.step needs a closure: step(closure)")

    def step(self, closure=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call."""
        if closure is None:
            raise TypeError("LBFGS.step(closure): L-BFGS re-evaluates the function, so a closure is required "
                            "(it must zero the grads, compute the loss, call backward() and return the loss)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]
        flat = self._flat()

        def evaluate():
            with enable_grad():
                out = closure()
            return out, float(out), flat.grads()

        state = self.state[flat.params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with no_grad():
            orig_loss, loss, flat_grad = evaluate()
            current_evals = 1
            state["func_evals"] += 1
            if np.abs(flat_grad).max(initial=0.0) <= tol_grad:
                return orig_loss
            d, t = state.get("d"), state.get("t")
            old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
            h_diag = state.get("H_diag")
            prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                # ---- direction d = -H ∇f (two-loop recursion)
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
                else:
                    y = flat_grad - prev_flat_grad
                    s = d * t
                    ys = float(np.dot(y, s))
                    if ys > 1e-10:
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / float(np.dot(y, y))
                    d = self._two_loop(-flat_grad, old_dirs, old_stps, ro, h_diag)
                prev_flat_grad = flat_grad.copy()
                prev_loss = loss
                # ---- step length
                t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
                gtd = float(np.dot(flat_grad, d))
                if gtd > -tol_change:
                    break
                ls_evals = 0
                if line_search_fn is not None:
                    x0 = flat.get()
                    t, loss, flat_grad, ls_evals = self._line_search(
                        line_search_fn, flat, evaluate, x0, t, d, loss, flat_grad, max_eval - current_evals)
                    flat.set(x0)
                    flat.add(t, d)
                    opt_cond = np.abs(flat_grad).max() <= tol_grad
                else:
                    flat.add(t, d)
                    opt_cond = False
                    if n_iter != max_iter:
                        _, loss, flat_grad = evaluate()
                        opt_cond = np.abs(flat_grad).max() <= tol_grad
                        ls_evals = 1
                current_evals += ls_evals
                state["func_evals"] += ls_evals
                # ---- stopping rules
                if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                    break
                if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                    break
            state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                         prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _two_loop(q, old_dirs, old_stps, ro, h_diag):
        """H·q for the L-BFGS inverse-Hessian approximation (q is overwritten)."""
        al = [0.0] * len(old_dirs)
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = float(np.dot(old_stps[i], q)) * ro[i]
            q -= al[i] * old_dirs[i]
        r = q * h_diag
        for i in range(len(old_dirs)):
            be_i = float(np.dot(old_dirs[i], r)) * ro[i]
            r += (al[i] - be_i) * old_stps[i]
        return r

    @staticmethod
    def _line_search(kind, flat, evaluate, x0, t, d, loss, flat_grad, budget):
        """Run the line search from θ = x0; returns (t, loss, grad at x0 + t d, evaluations)."""
        last = {}

        def fg(x):
            flat.set(x)
            _, f, g = evaluate()
            last.update(x=x, f=f, g=g)
            return f, g

        if kind == "strong_wolfe":
            res = strong_wolfe(fg, x0, d, loss, flat_grad, t=t, max_ls=budget)
            return res.t, res.f, res.g, res.evals
        res = backtracking(lambda x: fg(x)[0], x0, d, loss, flat_grad, t=t, max_iter=max(budget, 1))
        evals = res.evals
        if "x" not in last or not np.array_equal(last["x"], x0 + res.t * d):
            fg(x0 + res.t * d)
            evals += 1
        return res.t, last["f"], last["g"], evals
