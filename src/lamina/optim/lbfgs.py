"""L-BFGS: a quasi-Newton method with a limited-memory approximation of the inverse Hessian.

BFGS builds an approximation H ≈ ∇²f⁻¹ from the pairs s = θ_{k+1} - θ_k,
y = ∇f_{k+1} - ∇f_k; L-BFGS keeps only the last ``history_size`` pairs and applies H
to a vector with the two-loop recursion (``two_loop``; O(m·n) memory and time instead of
O(n²)).
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

from ..backend import float64, xp
from ._closure import ClosureOptimizer
from .line_search import backtracking, strong_wolfe


class LBFGS(ClosureOptimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
    history_size=100, line_search_fn=None)``; ``line_search_fn`` in (None, 'strong_wolfe', 'backtracking')."""

    _free_shape_keys = ("d", "prev_flat_grad", "old_dirs", "old_stps", "ro")

    label = "L-BFGS"

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
                out[k] = xp.stack(rows) if rows else xp.zeros((0, n), dtype=self._flat().dtype)
        if "ro" in state:
            out["ro"] = xp.asarray(state["ro"], dtype=float64)
        return out

    def _unpack_state(self, packed, param):
        state = {}
        for k, v in packed.items():
            if k in ("old_dirs", "old_stps"):
                state[k] = [xp.array(r) for r in xp.asarray(v)]
            elif k == "ro":
                state[k] = [float(r) for r in xp.asarray(v).ravel()]
            elif isinstance(v, xp.ndarray) and v.ndim == 0:
                state[k] = v.item()
            elif isinstance(v, xp.ndarray):
                state[k] = xp.array(v)
            else:
                state[k] = v
        return state

    def _iterate(self, group, flat, evaluate, state, loss, flat_grad) -> None:
        """The iterations of one ``step``; the history (d, t, pairs, previous gradient and loss) lives in
        ``state``."""
        max_iter, max_eval, lr = group["max_iter"], group["max_eval"], float(group["lr"])
        current_evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            first = state["n_iter"] == 1
            d = state["d"] = _direction(state, flat_grad, group["history_size"])
            state["prev_flat_grad"], state["prev_loss"] = flat_grad.copy(), loss
            # the very first step is scaled to min(1, 1/‖∇f‖₁)·lr
            state["t"] = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr if first else lr
            if float(xp.dot(flat_grad, d)) > -group["tolerance_change"]:
                break
            loss, flat_grad, evals = self._move(group, flat, evaluate, state, loss, flat_grad,
                                                max_eval - current_evals, n_iter == max_iter)
            current_evals += evals
            state["func_evals"] += evals
            if n_iter == max_iter or current_evals >= max_eval or _converged(group, state, loss, flat_grad, evals):
                break

    def _move(self, group, flat, evaluate, state, loss, flat_grad, budget: int, last: bool):
        """θ ← θ + t·d, t from the line search if there is one; returns (loss, gradient, evaluations)
        at the new point (the old loss and gradient, 0 evaluations, after the last fixed step)."""
        d, t = state["d"], state["t"]
        if group["line_search_fn"] is None:
            flat.add(t, d)
            if last:
                return loss, flat_grad, 0
            _, loss, flat_grad = evaluate()
            return loss, flat_grad, 1
        x0 = flat.get()
        state["t"], loss, flat_grad, evals = self._line_search(group["line_search_fn"], flat, evaluate, x0, t, d,
                                                               loss, flat_grad, budget)
        flat.set(x0)
        flat.add(state["t"], d)
        return loss, flat_grad, evals

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
        if "x" not in last or not xp.array_equal(last["x"], x0 + res.t * d):
            fg(x0 + res.t * d)
            evals += 1
        return res.t, last["f"], last["g"], evals


def _converged(group, state, loss: float, flat_grad, evals: int) -> bool:
    """PyTorch's stopping rules after a move: max|∇f| ≤ tolerance_grad (when ∇f was re-evaluated),
    max|t·d| ≤ tolerance_change or |Δf| < tolerance_change."""
    tol_change = group["tolerance_change"]
    if evals and xp.abs(flat_grad).max() <= group["tolerance_grad"]:
        return True
    return bool(xp.abs(state["d"] * state["t"]).max() <= tol_change or abs(loss - state["prev_loss"]) < tol_change)


def _direction(state, flat_grad, history_size: int):
    """d = -H∇f: steepest descent at the very first iteration; afterwards the newest pair
    (s = t·d, y = ∇f - ∇f_prev) joins the history when sᵀy > 1e-10, then the two-loop recursion."""
    if state["n_iter"] == 1:
        state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
        return -flat_grad
    y = flat_grad - state["prev_flat_grad"]
    s = state["d"] * state["t"]
    ys = float(xp.dot(y, s))
    if ys > 1e-10:
        if len(state["old_dirs"]) == history_size:
            for key in ("old_dirs", "old_stps", "ro"):
                state[key].pop(0)
        state["old_dirs"].append(y)
        state["old_stps"].append(s)
        state["ro"].append(1.0 / ys)
        state["H_diag"] = ys / float(xp.dot(y, y))
    return two_loop(-flat_grad, state["old_dirs"], state["old_stps"], state["ro"], state["H_diag"])


def two_loop(q, ys, ss, rhos, h_diag: float):
    """H·q for the L-BFGS inverse-Hessian approximation built from the pairs (s_i, y_i), oldest first,
    with ρ_i = 1/(y_iᵀ s_i) and H0 = h_diag·I (Nocedal & Wright, algorithm 7.4); q is overwritten::

        for i = newest … oldest:  α_i = ρ_i s_iᵀq,  q ← q - α_i y_i
        r = h_diag·q
        for i = oldest … newest:  β_i = ρ_i y_iᵀr,  r ← r + (α_i - β_i) s_i
    """
    alphas = [0.0] * len(ys)
    for i in range(len(ys) - 1, -1, -1):
        alphas[i] = float(xp.dot(ss[i], q)) * rhos[i]
        q -= alphas[i] * ys[i]
    r = q * h_diag
    for i in range(len(ys)):
        beta = float(xp.dot(ys[i], r)) * rhos[i]
        r += (alphas[i] - beta) * ss[i]
    return r
