"""Function transforms with ``torch.func``'s conventions: grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, jacobian, hessian, hvp.

They compose: ``jacfwd(jacrev(f))`` is the Hessian by forward-over-reverse, and
``hvp(f, x, v)`` costs about one gradient. Forward mode (``jvp``, ``jacfwd``) needs one
pass per input direction, reverse mode (``vjp``, ``jacrev``, ``grad``) one pass per
output: pick forward when there are few inputs, reverse when there are few outputs.
"""
from __future__ import annotations

import numbers

from . import _mode
from .autograd.engine import grad as _autograd_grad
from .autograd.forward_ad import alias, dual_level
from .autograd.grad_mode import enable_grad
from .backend import xp
from .ops.shape import reshape, stack
from .tensor import Tensor


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor._make(xp.asarray(x, dtype=xp.float64 if isinstance(x, float) else None))


def _track(x: Tensor) -> Tensor:
    """A tensor that requires grad, connected to ``x`` (and carrying its tangent)."""
    x = _as_tensor(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"func: can only differentiate with respect to floating point tensors, got {x.dtype}")
    if x.requires_grad:
        return alias(x)
    t = Tensor._make(x._data, True)
    t._tangent = x._tangent
    return t


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"func: argnums {argnums} out of range for a function called with {n} arguments")
    return tuple(a % n for a in nums)


def _outer_tracking(args) -> bool:
    """True when an argument belongs to an enclosing graph (so results must stay differentiable)."""
    return any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _keep_tangent(src: Tensor, create_graph: bool) -> Tensor:
    if create_graph:
        return src
    out = Tensor._make(src._data)
    out._tangent = src._tangent
    return out


def _check_scalar(out) -> None:
    if not isinstance(out, Tensor) or out._data.size != 1:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise RuntimeError(f"grad: the function must return a scalar tensor, got {shape}")


def _filled_grads(gs, tracked: list, create: bool) -> tuple:
    """Each input's gradient (detached unless ``create``), zeros where the output does not depend on it."""
    return tuple(Tensor._make(xp.zeros_like(t._data)) if g is None else _keep_tangent(g, create)
                 for g, t in zip(gs, tracked))


def grad_and_value(func, argnums=0, has_aux=False):
    """``grad_and_value(f)(*args) -> (gradient, value)`` for a scalar-valued ``f``."""

    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        create = _outer_tracking(args) or _mode.fw_level > 0
        args = list(args)
        tracked = []
        with enable_grad():
            for i in nums:
                args[i] = _track(args[i])
                tracked.append(args[i])
            res = func(*args, **kwargs)
            out, aux = res if has_aux else (res, None)
            _check_scalar(out)
            if out.requires_grad:
                gs = _autograd_grad(out, tracked, create_graph=create, allow_unused=True)
            else:
                gs = (None,) * len(tracked)
        gs = _filled_grads(gs, tracked, create)
        g = gs[0] if isinstance(argnums, numbers.Integral) else gs
        value = out if create else _keep_tangent(out, False)
        return (g, (value, aux)) if has_aux else (g, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``grad(f)(x)`` is ∇f(x) for a scalar-valued ``f``; ``argnums`` picks the arguments."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux=False):
    """``out, vjp_fn = vjp(f, *primals)``; ``vjp_fn(cotangent)`` returns a tuple (one per primal)."""
    create = _outer_tracking(primals) or _mode.fw_level > 0
    with enable_grad():
        tracked = [_track(p) for p in primals]
        res = func(*tracked)
    out, aux = res if has_aux else (res, None)
    outs = out if isinstance(out, (tuple, list)) else (out,)

    def vjp_fn(*cotangents):
        pairs = _cotangent_pairs(outs, cotangents)
        if not pairs:
            return tuple(Tensor._make(xp.zeros_like(t._data)) for t in tracked)
        with enable_grad():
            gs = _autograd_grad([o for o, _ in pairs], tracked, [c for _, c in pairs], retain_graph=True,
                                create_graph=create, allow_unused=True)
        return _filled_grads(gs, tracked, create)

    shown = out if create else (type(outs)(_keep_tangent(o, False) for o in outs) if isinstance(out, (tuple, list))
                                else _keep_tangent(out, False))
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def _cotangent_pairs(outs, cotangents) -> list[tuple[Tensor, Tensor]]:
    """(output, cotangent) for each output that requires grad; one cotangent per output, of its shape."""
    cts = cotangents[0] if len(cotangents) == 1 and isinstance(cotangents[0], (tuple, list)) else cotangents
    if len(cts) != len(outs):
        raise ValueError(f"vjp_fn: expected {len(outs)} cotangents, got {len(cts)}")
    pairs = [(o, _as_tensor(c)) for o, c in zip(outs, cts) if o.requires_grad]
    for o, c in pairs:
        if c.shape != o.shape:
            raise RuntimeError(f"vjp_fn: cotangent of shape {tuple(c.shape)} for an output of shape {tuple(o.shape)}")
    return pairs


def jvp(func, primals, tangents, has_aux=False):
    """``out, jvp_out = jvp(f, primals, tangents)``: f and its directional derivative J·t, in one
    forward pass with dual numbers."""
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    with dual_level():
        res = func(*[_dual(p, t) for p, t in zip(primals, tangents)])
    out, aux = res if has_aux else (res, None)
    # results stay attached to a graph only when an input belongs to an enclosing one
    outer = _outer_tracking(primals) or _outer_tracking(tangents) or _mode.fw_level > 0
    result = _split_outputs(out, outer)
    return result + (aux,) if has_aux else result


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _dual(p, t) -> Tensor:
    """The dual number p + εt (t cast to p's dtype), connected to p's graph when p requires grad."""
    p, t = _as_tensor(p), _as_tensor(t)
    if p.shape != t.shape:
        raise RuntimeError(f"jvp: tangent of shape {tuple(t.shape)} for a primal of shape {tuple(p.shape)}")
    d = alias(p) if p.requires_grad else Tensor._make(p._data)
    d._tangent = t if t.dtype == p.dtype else t.to(p.dtype)
    return d


def _split_outputs(out, outer: bool) -> tuple:
    """(values, tangents) of jvp's result: a pair of tensors, or of tuples when ``func`` returned a sequence."""
    if isinstance(out, (tuple, list)):
        pts = [_primal_and_tangent(o, outer) for o in out]
        return tuple(p for p, _ in pts), tuple(t for _, t in pts)
    return _primal_and_tangent(out, outer)


def _primal_and_tangent(o: Tensor, outer: bool) -> tuple:
    """An output of jvp's function split into (value, tangent), detached unless ``outer`` tracks a graph."""
    tan = o._tangent if o._tangent is not None else Tensor._make(xp.zeros_like(o._data))
    if not outer:
        return Tensor._make(o._data), _keep_tangent(tan, False)
    return Tensor._make(o._data, o.requires_grad, o._node), tan


def _basis(shape, dtype):
    n = int(xp.prod(shape))
    eye = xp.eye(n, dtype=dtype)
    return [Tensor._make(eye[i].reshape(shape)) for i in range(n)]


def jacrev(func, argnums=0):
    """Jacobian by reverse mode: one vector-Jacobian product per output element.
    Shape: output.shape + input.shape."""

    def wrapper(*args):
        nums = _argnums(argnums, len(args))
        fixed = list(args)

        def f_of(*xs):
            a = list(fixed)
            for i, x in zip(nums, xs):
                a[i] = x
            return func(*a)

        out, fn = vjp(f_of, *[args[i] for i in nums])
        rows = [fn(e) for e in _basis(out.shape, out.dtype)]
        jacs = []
        for k, i in enumerate(nums):
            x = _as_tensor(args[i])
            if rows:
                j = reshape(stack([r[k] for r in rows]), tuple(out.shape) + tuple(x.shape))
            else:
                j = Tensor._make(xp.zeros(tuple(out.shape) + tuple(x.shape), dtype=x.dtype))
            jacs.append(j)
        return jacs[0] if isinstance(argnums, numbers.Integral) else tuple(jacs)

    return wrapper


def jacfwd(func, argnums=0):
    """Jacobian by forward mode: one Jacobian-vector product per input element.
    Shape: output.shape + input.shape."""

    def wrapper(*args):
        nums = _argnums(argnums, len(args))
        jacs = []
        for i in nums:
            x = _as_tensor(args[i])
            cols = []
            for e in _basis(x.shape, x.dtype):
                tangents = [Tensor._make(xp.zeros_like(_as_tensor(a)._data)) for a in args]
                tangents[i] = e
                _, t = jvp(func, args, tangents)
                cols.append(t)
            out_shape = tuple(cols[0].shape)
            j = stack(cols, dim=-1)  # out.shape + (n_in,)
            jacs.append(reshape(j, out_shape + tuple(x.shape)))
        return jacs[0] if isinstance(argnums, numbers.Integral) else tuple(jacs)

    return wrapper


def jacobian(func, x, mode: str = "reverse"):
    """The Jacobian of ``func`` at ``x`` (shape output.shape + x.shape) by ``mode`` 'reverse' or 'forward'."""
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    return (jacrev if mode == "reverse" else jacfwd)(func)(x)


def hessian(func, argnums=0):
    """The Hessian by forward-over-reverse: ``jacfwd(jacrev(f))``."""
    return jacfwd(jacrev(func, argnums), argnums)


def hvp(func, primals, tangents):
    """Hessian-vector product H·v of a scalar function, by forward-over-reverse (one jvp of grad)."""
    single = not isinstance(primals, (tuple, list))
    primals = (primals,) if single else tuple(primals)
    tangents = (tangents,) if single else tuple(tangents)
    argnums = 0 if single else tuple(range(len(primals)))
    _, out = jvp(grad(func, argnums), primals, tangents)
    return out
