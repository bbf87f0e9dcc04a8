"""``torch.autograd.functional``: vjp, jvp, jacobian, hessian, vhp, hvp of a function of tensors.

``inputs`` is a tensor or a tuple of tensors; each result has the structure of ``inputs`` (and, for
jacobian, of the outputs). Results are detached unless ``create_graph=True``, which keeps them
differentiable (with respect to inputs that require grad). ``strict=True`` refuses a function whose
output does not depend on an input (instead of returning zeros for it). ``vectorize`` is accepted:
the Jacobians are always computed by ``lamina.func`` (one batched pass over the basis, via vmap).

This module sits with the transforms (``lamina.func``), above the ops, although torch names it under
``autograd``.
"""
from __future__ import annotations

from .. import func as _func
from ..func.transforms import _track
from ..tensor import Tensor
from .engine import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tuple(name: str, x, what: str) -> tuple[bool, tuple]:
    """(whether ``x`` was a tuple, its tensors as a tuple), checking that they are tensors."""
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} {i} must be a Tensor, got {type(t).__name__}")
    return is_tuple, xs


def _shaped(is_tuple: bool, xs):
    return tuple(xs) if is_tuple else xs[0]


def _finish(ts, create_graph: bool):
    return tuple(t if create_graph else t.detach() for t in ts)


def _ones_like_single(name: str, outs: tuple, what: str) -> tuple:
    """The default v (ones), allowed only when every one of ``outs`` has a single element."""
    if any(o.numel() != 1 for o in outs):
        raise RuntimeError(f"{name}: v can be None only when the {what} has a single element, got shapes "
                           f"{[tuple(o.shape) for o in outs]}")
    return tuple(Tensor._make(o._data * 0 + 1) for o in outs)


def _vectors(name: str, v, outs: tuple, what: str) -> tuple:
    """The vectors ``v`` for ``outs`` (ones when None and each output has one element)."""
    if v is None:
        return _ones_like_single(name, outs, what)
    _, vs = _tuple(name, v, "v")
    if len(vs) != len(outs) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(vs, outs)):
        raise RuntimeError(f"{name}: v has shapes {[tuple(a.shape) for a in vs]}, expected "
                           f"{[tuple(o.shape) for o in outs]}")
    return vs


def _check_strict(name: str, gs) -> None:
    """In strict mode, refuse an input the outputs do not depend on (a None gradient)."""
    for i, g in enumerate(gs):
        if g is None:
            raise RuntimeError(f"{name}: the output of the function is independent of input {i}; this is not "
                               "allowed in strict mode")


def _reverse(name, outs, xs, vs, create_graph: bool, strict: bool) -> tuple:
    """Σₖ vₖᵀ ∂outₖ/∂x for each x (zeros where an output does not depend on x, unless ``strict``)."""
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    gs = _grad([o for o, _ in pairs], list(xs), [v for _, v in pairs], create_graph=create_graph,
               allow_unused=True) if pairs else (None,) * len(xs)
    if strict:
        _check_strict(name, gs)
    return tuple(Tensor._make(x._data * 0) if g is None else g for g, x in zip(gs, xs))


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ J): the vector-Jacobian product, by one backward pass."""
    in_tuple, xs = _tuple("vjp", inputs, "input")
    with enable_grad():
        ts = tuple(_track(x) for x in xs)
        out = func(*ts)
        out_tuple, outs = _tuple("vjp", out, "output")
        gs = _reverse("vjp", outs, ts, _vectors("vjp", v, outs, "output"), create_graph, strict)
    return _shaped(out_tuple, _finish(outs, create_graph)), _shaped(in_tuple, _finish(gs, create_graph))


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): the Jacobian-vector product, by one forward pass with dual numbers."""
    in_tuple, xs = _tuple("jvp", inputs, "input")
    vs = _vectors("jvp", v, xs, "input")
    out, jv = _func.jvp(func, xs, vs)
    out_tuple, outs = _tuple("jvp", out, "output")
    _, jvs = _tuple("jvp", jv, "output")
    if strict:
        _strict_check("jvp", func, xs)
    return _shaped(out_tuple, _finish(outs, create_graph)), _shaped(out_tuple, _finish(jvs, create_graph))


def _strict_check(name, func, xs) -> None:
    with enable_grad():
        ts = tuple(_track(x) for x in xs)
        _, outs = _tuple(name, func(*ts), "output")
        _reverse(name, outs, ts, tuple(Tensor._make(o._data * 0 + 1) for o in outs), False, True)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """∂outᵢ/∂xⱼ, shape outᵢ.shape + xⱼ.shape, nested as (outputs, inputs) like the arguments."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("jacobian: strategy='forward-mode' is only implemented with vectorize=True "
                                  "(as in torch)")
    in_tuple, xs = _tuple("jacobian", inputs, "input")
    if strict:
        _strict_check("jacobian", func, xs)
    with enable_grad():
        out_tuple, outs = _tuple("jacobian", func(*xs), "output")
    transform = _func.jacrev if strategy == "reverse-mode" else _func.jacfwd
    rows = []
    for k in range(len(outs)):
        jac = transform(lambda *a, k=k: _tuple("jacobian", func(*a), "output")[1][k], tuple(range(len(xs))))(*xs)
        rows.append(_shaped(in_tuple, _finish(jac, create_graph)))
    return _shaped(out_tuple, rows)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """∂²f/∂xᵢ∂xⱼ of a scalar function, shape xᵢ.shape + xⱼ.shape, nested (inputs, inputs)."""
    if outer_jacobian_strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"hessian: outer_jacobian_strategy must be 'reverse-mode' or 'forward-mode', got "
                         f"{outer_jacobian_strategy!r}")
    in_tuple, xs = _tuple("hessian", inputs, "input")
    out = func(*xs)
    if not isinstance(out, Tensor) or out.numel() != 1:
        raise RuntimeError(f"hessian: the function must return a single-element tensor, got "
                           f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
    if strict:
        _strict_check("hessian", func, xs)
    n = tuple(range(len(xs)))
    h = _func.jacfwd(_func.grad(lambda *a: func(*a).reshape(()), n), n)(*xs)  # h[i][j] = ∂(∂f/∂xᵢ)/∂xⱼ
    rows = [_shaped(in_tuple, _finish(row, create_graph)) for row in h]
    return _shaped(in_tuple, rows)


def _scalar(name, func, ts):
    out = func(*ts)
    if not isinstance(out, Tensor) or out.numel() != 1:
        raise RuntimeError(f"{name}: the function must return a single-element tensor, got "
                           f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
    return out


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ H): by double backward (the gradient of ⟨∇f, v⟩)."""
    in_tuple, xs = _tuple("vhp", inputs, "input")
    vs = _vectors("vhp", v, xs, "input")
    with enable_grad():
        ts = tuple(_track(x) for x in xs)
        out = _scalar("vhp", func, ts)
        gs = _reverse("vhp", (out,), ts, (Tensor._make(out._data * 0 + 1),), True, strict)
        hv = _reverse("vhp", gs, ts, vs, create_graph, strict)
    return _finish((out,), create_graph)[0], _shaped(in_tuple, _finish(hv, create_graph))


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v): by forward-over-reverse (one jvp of the gradient)."""
    in_tuple, xs = _tuple("hvp", inputs, "input")
    vs = _vectors("hvp", v, xs, "input")
    out = _scalar("hvp", func, xs)
    if strict:
        _strict_check("hvp", func, xs)
    n = tuple(range(len(xs)))
    _, hv = _func.jvp(_func.grad(lambda *a: func(*a).reshape(()), n), xs, vs)
    return _finish((out,), create_graph)[0], _shaped(in_tuple, _finish(hv, create_graph))
