"""Second-order methods for small problems: Newton, Gauss-Newton, Levenberg-Marquardt.

All three work on the parameters concatenated into one vector θ (n numbers) and form
n×n matrices, so they are meant for models with up to a few thousand parameters,
trained full-batch.  Their closures only *compute* (no ``backward()``, no
``zero_grad()``): derivatives are taken by ``lamina.func`` on the closure itself.

``Newton(params, lr=1.0, damping=0.0)``
    ``closure()`` returns the scalar loss f(θ).  The Hessian is exact, by
    forward-over-reverse (``lamina.func.hessian`` = jacfwd(jacrev(f)): one forward pass
    with a tangent per coordinate, through the reverse pass).  Step:
    θ ← θ - lr·(H + λI)⁻¹∇f with λ = ``damping`` (the Levenberg term).  When H + λI is
    not positive definite (a saddle or a maximum nearby), λ is raised — doubling from
    max(λ, 1e-8·max|H_ii|) — until it is, so the step always goes downhill.  On a
    quadratic with lr=1, λ=0 one step lands on the minimum.

``GaussNewton(params, lr=1.0, damping=0.0, jacobian='auto')``
    ``closure()`` returns the residual vector r(θ) (any shape) of the least-squares
    loss ½‖r‖².  With J = ∂r/∂θ, the step δ minimises ‖Jδ + r‖² + λ‖δ‖² (solved by
    ``lstsq`` on the stacked system, never by forming (JᵀJ)⁻¹): H ≈ JᵀJ, no second
    derivatives of r.  J comes from ``lamina.func.jacfwd`` (one pass per parameter) or
    ``jacrev`` (one per residual); 'auto' picks the cheaper.

``LevenbergMarquardt(params, lambda_=1e-3, scaling='marquardt', max_tries=20, jacobian='auto')``
    Gauss-Newton with an adaptive damping: (JᵀJ + λD)δ = -Jᵀr, D = diag(JᵀJ)
    ('marquardt', scale invariant) or I ('levenberg').  A step is accepted when it lowers
    ½‖r‖²; the gain ratio ρ = actual / predicted decrease then sets λ ← λ·max(1/3,
    1-(2ρ-1)³) (Nielsen's rule); a rejected step multiplies λ by ν = 2, 4, 8, ... and
    retries (up to ``max_tries`` per ``step``).  Large λ is a short gradient-descent
    step, small λ is Gauss-Newton.

``step(closure)`` returns the loss at the starting point (Newton: f; the least-squares
methods: ½‖r‖² as a 0-d tensor).
"""
from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..backend import float64, xp
from ..func import grad_and_value, hessian, jacfwd, jacrev
from ..tensor import Tensor
from ._flat import FlatParams
from .optimizer import Optimizer

# _ONE_AT_A_TIME: the closure reads the parameters themselves, which FlatParams rebinds to slices of θ;
# a parameter cannot stand for a batch of θs, so the Jacobians go one basis vector at a time (chunk_size=1)
_TINY = 1e-15          # relative size of a predicted decrease treated as zero
_LAMBDA_MAX = 1e16     # cap on the LM damping (relative to the largest scale entry)


def _freed_hint(err: RuntimeError, where: str) -> RuntimeError:
    if "second time" in str(err):
        return RuntimeError(f"{where}: the closure must only compute and return its result, without calling "
                            f"backward() (derivatives are taken by lamina.func on the closure): {err}")
    return err


def _solve_spd(a: xp.ndarray, b: xp.ndarray, lam: float, scale: xp.ndarray):
    """Solve (a + lam·diag(scale)) x = b by Cholesky, raising lam until the matrix is positive definite.
    Returns (x, lam used)."""
    n = a.shape[0]
    floor = 1e-8 * max(float(xp.abs(xp.diag(a)).max(initial=0.0)), 1.0)
    for _ in range(200):
        m = a + lam * xp.diag(scale) if lam else a
        try:
            c = xp.linalg.cholesky(m)
        except xp.linalg.LinAlgError:
            lam = max(2.0 * lam, floor)
            continue
        z = xp.linalg.solve(c, b)
        return xp.linalg.solve(c.T, z), lam
    raise xp.linalg.LinAlgError(f"second-order step: could not make the {n}x{n} system positive definite "
                                f"(damping reached {lam:.3g}); is the loss finite?")


class _SecondOrder(Optimizer):
    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} works on one parameter group (the concatenated θ)")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError(f"{type(self).__name__} works on one parameter group (the concatenated θ)")
        super().add_param_group(param_group)

    def _step_group(self, group):
        raise TypeError(f"{type(self).__name__}.step needs a closure: step(closure)")

    def _flat(self) -> FlatParams:
        return FlatParams(self.param_groups[0]["params"])

    def _state(self):
        return self.state[self.param_groups[0]["params"][0]]

    def _jacobian(self, flat: FlatParams, closure, x0: xp.ndarray, how: str):
        """(r, J) at θ = x0: the flat residual and its Jacobian (m × n) as float64 arrays (the closure runs
        in the parameters' dtype)."""
        name = type(self).__name__
        with flat.bound():
            f = flat.functional(closure)
            x = Tensor._make(x0.astype(flat.dtype))
            with no_grad():
                r = f(x)._data.reshape(-1).astype(float64)
            if how == "auto":
                how = "forward" if x0.size <= r.size else "reverse"
            if how not in ("forward", "reverse"):
                raise ValueError(f"{name}: jacobian must be 'auto', 'forward' or 'reverse', got {how!r}")

            def flat_f(z):
                return f(z).reshape(-1)

            try:
                jac = (jacfwd if how == "forward" else jacrev)(flat_f, chunk_size=1)(x)  # see _ONE_AT_A_TIME
            except RuntimeError as e:
                raise _freed_hint(e, name) from e
        return r, jac._data.reshape(r.size, x0.size).astype(float64)

    def _residual(self, flat: FlatParams, closure, x: xp.ndarray) -> xp.ndarray:
        flat.set(x)
        with no_grad():
            out = closure()
        return xp.asarray(out._data if isinstance(out, Tensor) else out, dtype=float64).reshape(-1)


class Newton(_SecondOrder):
    """``Newton(params, lr=1.0, damping=0.0)``: θ ← θ - lr·(∇²f + λI)⁻¹∇f with the exact Hessian."""

    def __init__(self, params, lr=1.0, damping=0.0):
        if lr <= 0.0:
            raise ValueError(f"Newton: invalid learning rate {lr} (expected > 0)")
        if damping < 0.0:
            raise ValueError(f"Newton: invalid damping {damping} (expected >= 0)")
        super().__init__(params, dict(lr=lr, damping=damping))

    def step(self, closure=None):
        if closure is None:
            raise TypeError("Newton.step(closure): closure() must return the scalar loss (without backward())")
        group = self.param_groups[0]
        flat = self._flat()
        x0 = flat.get()            # the parameters' dtype: the closure sees tensors like its own
        with flat.bound():
            f = flat.functional(closure)
            try:
                g, loss = grad_and_value(f)(Tensor._make(x0.copy()))
                h = hessian(f, chunk_size=1)(Tensor._make(x0.copy()))  # see _ONE_AT_A_TIME
            except RuntimeError as e:
                raise _freed_hint(e, "Newton") from e
        if loss._data.size != 1:
            raise RuntimeError(f"Newton: the closure must return a scalar loss, got shape {tuple(loss.shape)}")
        h = h._data.reshape(x0.size, x0.size).astype(float64)     # the algebra runs in float64
        h = 0.5 * (h + h.T)
        delta, lam = _solve_spd(h, -g._data.reshape(-1).astype(float64), float(group["damping"]),
                                xp.ones(x0.size))
        with no_grad():
            flat.set(x0 + float(group["lr"]) * delta)
        state = self._state()
        state["step"] = state.get("step", 0) + 1
        state["damping_used"] = lam
        return loss


class GaussNewton(_SecondOrder):
    """``GaussNewton(params, lr=1.0, damping=0.0, jacobian='auto')`` for ½‖r(θ)‖²; closure returns r."""

    def __init__(self, params, lr=1.0, damping=0.0, jacobian="auto"):
        if lr <= 0.0:
            raise ValueError(f"GaussNewton: invalid learning rate {lr} (expected > 0)")
        if damping < 0.0:
            raise ValueError(f"GaussNewton: invalid damping {damping} (expected >= 0)")
        super().__init__(params, dict(lr=lr, damping=damping, jacobian=jacobian))

    def step(self, closure=None):
        if closure is None:
            raise TypeError("GaussNewton.step(closure): closure() must return the residual vector r(θ)")
        group = self.param_groups[0]
        flat = self._flat()
        x0 = flat.get().astype(float64)
        r, jac = self._jacobian(flat, closure, x0, group["jacobian"])
        lam = float(group["damping"])
        if lam > 0:   # min ‖Jδ + r‖² + λ‖δ‖²  ==  lstsq of [J; √λ I] δ = [-r; 0]
            a = xp.vstack([jac, xp.sqrt(lam) * xp.eye(x0.size)])
            b = xp.concatenate([-r, xp.zeros(x0.size)])
        else:
            a, b = jac, -r
        delta = xp.linalg.lstsq(a, b, rcond=None)[0]
        with no_grad():
            flat.set(x0 + float(group["lr"]) * delta)
        state = self._state()
        state["step"] = state.get("step", 0) + 1
        return Tensor._make(xp.asarray(0.5 * float(r @ r)))


class LevenbergMarquardt(_SecondOrder):
    """``LevenbergMarquardt(params, lambda_=1e-3, scaling='marquardt', max_tries=20, jacobian='auto')``."""

    def __init__(self, params, lambda_=1e-3, scaling="marquardt", max_tries=20, jacobian="auto"):
        if lambda_ < 0.0:
            raise ValueError(f"LevenbergMarquardt: invalid lambda_ {lambda_} (expected >= 0)")
        if scaling not in ("marquardt", "levenberg"):
            raise ValueError(f"LevenbergMarquardt: scaling must be 'marquardt' or 'levenberg', got {scaling!r}")
        super().__init__(params, dict(lambda_=lambda_, scaling=scaling, max_tries=max_tries, jacobian=jacobian))

    def step(self, closure=None):
        if closure is None:
            raise TypeError("LevenbergMarquardt.step(closure): closure() must return the residual vector r(θ)")
        group = self.param_groups[0]
        state = self._state()
        lam = float(state.get("lambda", group["lambda_"]))
        nu = float(state.get("nu", 2.0))
        flat = self._flat()
        x0 = flat.get().astype(float64)
        r, jac = self._jacobian(flat, closure, x0, group["jacobian"])
        cost = 0.5 * float(r @ r)
        a, g = jac.T @ jac, jac.T @ r
        if group["scaling"] == "marquardt":
            diag = xp.diag(a).copy()
            scale = xp.maximum(diag, 1e-12 * max(float(diag.max(initial=0.0)), 1.0))
        else:
            scale = xp.ones(x0.size)
        accepted = converged = False
        with no_grad():
            for _ in range(int(group["max_tries"])):
                delta, lam_used = _solve_spd(a, -g, lam, scale)
                lam = max(lam, lam_used)
                predicted = 0.5 * float(delta @ (lam * scale * delta - g))
                if not predicted > _TINY * max(cost, _TINY):
                    converged = True      # no decrease left to gain: at a minimum (to rounding)
                    break
                r_new = self._residual(flat, closure, x0 + delta)
                new_cost = 0.5 * float(r_new @ r_new)
                rho = (cost - new_cost) / predicted
                if xp.isfinite(new_cost) and rho > 0:
                    lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                    nu, accepted = 2.0, True
                    break
                lam = min(lam * nu if lam > 0 else 1e-3 * float(scale.max()), _LAMBDA_MAX * float(scale.max()))
                nu *= 2.0
            if not accepted:
                flat.set(x0)
        state["step"] = state.get("step", 0) + 1
        state["lambda"], state["nu"], state["accepted"], state["converged"] = lam, nu, accepted, converged
        return Tensor._make(xp.asarray(cost))
