"""``gradcheck``: compare analytic derivatives with central finite differences.

For each input x_j that requires grad, the numerical Jacobian column is
(f(x + h e_j) - f(x - h e_j)) / 2h; reverse mode gives the rows (one vjp per
output element) and forward mode the columns (one jvp per input element).
Use float64 inputs: in float32 the differences are dominated by rounding.
"""
from __future__ import annotations

import warnings

from ..backend import xp
from ..tensor import Tensor
from . import forward_ad
from .engine import grad
from .grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(res):
    return list(res) if isinstance(res, (tuple, list)) else [res]


def _numerical(fn, inputs, idx, eps):
    """Columns of d(flattened outputs)/d(flattened inputs[idx])."""
    x = inputs[idx]
    flat = x._data.reshape(-1)
    cols = []
    with no_grad():
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = xp.concatenate([xp.asarray(o._data, dtype=xp.float64).ravel() for o in _outputs(fn(*inputs))])
            flat[j] = old - eps
            minus = xp.concatenate([xp.asarray(o._data, dtype=xp.float64).ravel() for o in _outputs(fn(*inputs))])
            flat[j] = old
            cols.append((plus - minus) / (2 * eps))
    return xp.stack(cols, axis=1) if cols else xp.zeros((0, 0))


def _analytic_reverse(fn, inputs: tuple, diff_idx: list) -> dict:
    """Jacobians of the flattened outputs by reverse mode, one vjp per output element: {input index: J}."""
    outs = _outputs(fn(*inputs))
    rows: dict[int, list] = {i: [] for i in diff_idx}
    for o in outs:
        for m in range(o._data.size):
            for i, row in zip(diff_idx, _vjp_row(o, m, inputs, diff_idx)):
                rows[i].append(row)
    n_out = sum(o._data.size for o in outs)
    return {i: xp.array(r).reshape(n_out, -1) for i, r in rows.items()}


def _vjp_row(o, m, inputs, diff_idx) -> list:
    """∂o_m/∂x_i (flattened, float64) for each checked input x_i; zeros where o does not depend on it."""
    if not o.requires_grad:
        return [xp.zeros(inputs[i]._data.size) for i in diff_idx]
    ct = xp.zeros(o.shape, dtype=o.dtype)
    ct.reshape(-1)[m] = 1
    gs = grad(o, [inputs[i] for i in diff_idx], Tensor._make(ct), retain_graph=True, allow_unused=True)
    return [xp.zeros(inputs[i]._data.size) if g is None else xp.asarray(g._data, xp.float64).ravel()
            for i, g in zip(diff_idx, gs)]


def _analytic_forward(fn, inputs, idx):
    """Columns J e_j, one forward-mode pass (dual numbers x + ε e_j) per element of inputs[idx]."""
    x = inputs[idx]
    cols = []
    for j in range(x._data.size):
        e = xp.zeros_like(x._data)
        e.reshape(-1)[j] = 1
        with forward_ad.dual_level():
            args = list(inputs)
            args[idx] = forward_ad.make_dual(x, Tensor._make(e))
            outs = _outputs(fn(*args))
            tans = [o._data * 0 if o._tangent is None else o._tangent._data for o in outs]
        cols.append(xp.concatenate([xp.asarray(t, xp.float64).ravel() for t in tans]))
    return xp.stack(cols, axis=1)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, check_forward_ad=False,
              check_backward_ad=True, nondet_tol=0.0):
    """True if reverse mode (and forward mode with ``check_forward_ad``) agree with finite differences.

    ``inputs`` is a tensor or a tuple of tensors; those with ``requires_grad`` are checked."""
    inputs = tuple(t if isinstance(t, Tensor) else Tensor._make(xp.asarray(t)) for t in _as_tuple(inputs))
    diff_idx = _checked_inputs(inputs)
    analytic = _analytic_reverse(fn, inputs, diff_idx) if check_backward_ad else {}
    for i in diff_idx:
        num = _numerical(fn, inputs, i, eps)
        checks = [("backward (reverse mode)", analytic[i])] if check_backward_ad else []
        if check_forward_ad:
            checks.append(("forward mode", _analytic_forward(fn, inputs, i)))
        for what, ana in checks:
            msg = _mismatch(what, ana, num, i, inputs[i], rtol, atol)
            if msg is None:
                continue
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def _checked_inputs(inputs) -> list:
    """Indices of the inputs that require grad (at least one), warning about those not in float64."""
    diff_idx = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i in diff_idx:
        if inputs[i].dtype != xp.float64:
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; finite differences will be "
                          "inaccurate", stacklevel=3)
    return diff_idx


def _mismatch(what, ana, num, i, x, rtol, atol):
    """None when the analytic Jacobian ``ana`` of input ``i`` matches ``num``; otherwise what differs, and where."""
    if ana.shape != num.shape:
        return (f"gradcheck: {what} Jacobian of input {i} (shape {tuple(x.shape)}) does not match finite "
                f"differences: shapes {tuple(ana.shape)} vs {tuple(num.shape)}")
    if xp.allclose(ana, num, rtol=rtol, atol=atol):
        return None
    err = xp.abs(ana - num)
    where = xp.unravel_index(xp.argmax(err), err.shape)
    return (f"gradcheck: {what} Jacobian of input {i} (shape {tuple(x.shape)}) does not match finite differences: "
            f"largest difference {err.max():.3g} at (output {where[0]}, input element {where[1]}); analytic "
            f"{ana[where]:.6g}, numerical {num[where]:.6g}")


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check second derivatives: gradcheck of x ↦ ∂⟨fn(x), u⟩/∂x with a fixed random u."""
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if t.requires_grad]
    outs = _outputs(fn(*inputs))
    rng = xp.random.default_rng(0)
    us = grad_outputs or [Tensor._make(rng.standard_normal(o.shape).astype(o.dtype)) for o in outs]
    us = _outputs(us)

    def first_grads(*xs):
        with enable_grad():  # finite differences call this under no_grad(); the first gradients need a graph
            res = _outputs(fn(*xs))
            gs = grad(res, [xs[i] for i in diff_idx], us, create_graph=True, allow_unused=True,
                      materialize_grads=True)
        return tuple(gs)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
