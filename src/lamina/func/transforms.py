"""Function transforms with ``torch.func``'s conventions: grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, jacobian, hessian, hvp.

They compose with each other and with ``vmap``: ``jacfwd(jacrev(f))`` is the Hessian by
forward-over-reverse, ``vmap(grad(loss), in_dims=(None, 0, 0))`` gives per-sample gradients.
``jacrev`` is ``vmap`` of one vector-Jacobian product over the basis of output cotangents,
``jacfwd`` ``vmap`` of one Jacobian-vector product over the basis of input tangents: one
batched pass each. Pick forward when there are few inputs, reverse when there are few outputs.

Under vmap the transforms work on the physical tensors (the whole batch): an argument that is
differentiated is first made batched at every active vmap level, so its gradient is per sample.
"""
from __future__ import annotations

import numbers

from .. import _mode
from ..autograd.engine import grad as _autograd_grad
from ..autograd.forward_ad import alias, dual_level
from ..autograd.grad_mode import enable_grad
from ..backend import xp
from ..ops.shape import movedim, reshape
from ..tensor import Tensor
from .batched import inner_of, join_levels, levels_of, materialize, split_levels, union, wrap
from .vmap import _leaves, _map, vmap


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor._make(xp.asarray(x, dtype=xp.float64 if isinstance(x, float) else None))


def _active_levels() -> tuple:
    return tuple(range(1, len(_mode.vmap_sizes) + 1))


def _track(x) -> Tensor:
    """A tensor that requires grad, connected to ``x`` (and carrying its tangent); under vmap batched at every
    active level, so that its gradient is one per sample."""
    x = _as_tensor(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"func: can only differentiate with respect to floating point tensors, got {x.dtype}")
    levels = _active_levels()
    if levels:
        x = materialize(x, levels)
    inner = inner_of(x)
    if inner.requires_grad:
        return wrap(alias(inner), levels)
    t = Tensor._make(inner._data, True)
    t._tangent = inner._tangent
    return wrap(t, levels)


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


def _grads(gs, tracked, create: bool) -> tuple:
    """The gradients of the physical tracked tensors, zeros where None, viewed batched like them."""
    return tuple(wrap(Tensor._make(xp.zeros_like(inner_of(t)._data)) if g is None else _keep_tangent(g, create),
                      levels_of(t)) for g, t in zip(gs, tracked))


def _shown(out: Tensor, create: bool) -> Tensor:
    return out if create else wrap(_keep_tangent(inner_of(out), False), levels_of(out))


def _track_tree(arg, tracked: list):
    """``arg`` (a tensor, or a tuple/list/dict of them) with each tensor tracked; the tracked leaves are
    appended to ``tracked``."""
    def one(leaf, _):
        tracked.append(_track(leaf))
        return tracked[-1]

    return _map(one, arg, None)


def _like_tree(arg, leaves):
    """The tree of ``arg`` with its leaves replaced by ``leaves``, in order."""
    it = iter(leaves)
    return _map(lambda leaf, _: next(it), arg, None)


def _scalar_grads(out, tracked: list, create: bool) -> tuple:
    """The engine's gradients of the scalar ``out`` with respect to each tracked tensor (None: unused)."""
    if not isinstance(out, Tensor) or out.numel() != 1:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise RuntimeError(f"grad: the function must return a scalar tensor, got {shape}")
    root = inner_of(out)
    if not root.requires_grad:
        return (None,) * len(tracked)
    seed = None if root._data.size == 1 else Tensor._make(xp.ones_like(root._data))
    return _autograd_grad(root, [inner_of(t) for t in tracked], seed, create_graph=create, allow_unused=True)


def grad_and_value(func, argnums=0, has_aux=False):
    """``grad_and_value(f)(*args) -> (gradient, value)`` for a scalar-valued ``f``; an argument may be a
    tuple/list/dict of tensors (its gradient has the same structure)."""

    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        create = _outer_tracking(_leaves(args)) or _mode.fw_level > 0
        args = list(args)
        per_arg: list = []
        with enable_grad():
            for i in nums:
                per_arg.append([])
                args[i] = _track_tree(args[i], per_arg[-1])
            tracked = [t for group in per_arg for t in group]
            res = func(*args, **kwargs)
            out, aux = res if has_aux else (res, None)
            gs = iter(_grads(_scalar_grads(out, tracked, create), tracked, create))
        trees = tuple(_like_tree(args[i], [next(gs) for _ in group]) for i, group in zip(nums, per_arg))
        g = trees[0] if isinstance(argnums, numbers.Integral) else trees
        value = _shown(out, create)
        return (g, (value, aux)) if has_aux else (g, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``grad(f)(x)`` is ∇f(x) for a scalar-valued ``f``; ``argnums`` picks the arguments."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g

    return wrapper


def _seed(o: Tensor, c: Tensor, levels: tuple):
    """(root, cotangent) for the engine: the physical output ``o`` (batched at the levels of ``levels`` its
    cotangent varies along) and ``c`` as its physical cotangent, batched only at levels newer than the vjp."""
    c_levels = levels_of(c)
    o = materialize(o, tuple(sorted(set(levels_of(o)) | (set(c_levels) & set(levels)))))
    newer = tuple(lv for lv in c_levels if lv not in levels)
    c = materialize(c, tuple(sorted(set(levels_of(o)) | set(newer))))
    return inner_of(o), split_levels(c, newer)


def vjp(func, *primals, has_aux=False):
    """``out, vjp_fn = vjp(f, *primals)``; ``vjp_fn(cotangent)`` returns a tuple (one per primal). ``vjp_fn``
    may be called under vmap (a batch of cotangents: one backward pass for all)."""
    create = _outer_tracking(primals) or _mode.fw_level > 0
    levels = _active_levels()
    with enable_grad():
        tracked = [_track(p) for p in primals]
        res = func(*tracked)
    out, aux = res if has_aux else (res, None)
    outs = out if isinstance(out, (tuple, list)) else (out,)

    def vjp_fn(*cotangents):
        pairs = _cotangent_pairs(outs, cotangents)
        newer = tuple(lv for lv in union([c for _, c in pairs]) if lv not in levels)
        gs = _pair_grads(pairs, tracked, levels, create)
        return tuple(_newer_grad(g, t, newer, create) for g, t in zip(gs, tracked))

    shown = out if create else (type(outs)(_shown(o, False) for o in outs) if isinstance(out, (tuple, list))
                                else _shown(out, False))
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def _cotangent_pairs(outs, cotangents) -> list:
    """(output, cotangent) for each output that requires grad; one cotangent per output, of its shape."""
    cts = cotangents[0] if len(cotangents) == 1 and isinstance(cotangents[0], (tuple, list)) else cotangents
    if len(cts) != len(outs):
        raise ValueError(f"vjp_fn: expected {len(outs)} cotangents, got {len(cts)}")
    pairs = [(o, _as_tensor(c)) for o, c in zip(outs, cts) if o.requires_grad]
    for o, c in pairs:
        if c.shape != o.shape:
            raise RuntimeError(f"vjp_fn: cotangent of shape {tuple(c.shape)} for an output of shape {tuple(o.shape)}")
    return pairs


def _pair_grads(pairs: list, tracked: list, levels: tuple, create: bool) -> tuple:
    """The engine's gradients of the tracked tensors for the (output, cotangent) pairs (None: unused)."""
    if not pairs:
        return (None,) * len(tracked)
    seeds = [_seed(o, c, levels) for o, c in pairs]
    with enable_grad():
        return _autograd_grad([r for r, _ in seeds], [inner_of(t) for t in tracked], [c for _, c in seeds],
                              retain_graph=True, create_graph=create, allow_unused=True)


def _newer_grad(g, t: Tensor, newer: tuple, create: bool) -> Tensor:
    """The gradient of tracked ``t`` from the engine (batched at the ``newer`` levels of its cotangents),
    viewed batched at all its levels."""
    inner = inner_of(t)
    if g is None:
        g = wrap(Tensor._make(xp.zeros_like(inner._data)), ())
        return materialize(wrap(g, levels_of(t)), tuple(sorted(levels_of(t) + newer))) if newer else wrap(g, levels_of(t))
    if levels_of(g):
        return join_levels(g, levels_of(t))
    return wrap(_keep_tangent(g, create), levels_of(t))


def jvp(func, primals, tangents, has_aux=False):
    """``out, jvp_out = jvp(f, primals, tangents)``: f and its directional derivative J·t, in one
    forward pass with dual numbers."""
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    if _mode.fw_level:  # inside another jvp: a tensor holds one tangent, so go by reverse mode
        return _jvp_by_vjp(func, primals, tangents, has_aux)
    with dual_level():
        res = func(*[_dual(p, t) for p, t in zip(primals, tangents)])
    out, aux = res if has_aux else (res, None)
    # results stay attached to a graph only when an input belongs to an enclosing one
    outer = _outer_tracking(primals) or _outer_tracking(tangents) or _mode.fw_level > 0
    result = _split_outputs(out, outer)
    return result + (aux,) if has_aux else result


def _jvp_by_vjp(func, primals, tangents, has_aux):
    """J·t as the vjp of the (linear) vjp: w ↦ Jᵀw is linear, so ⟨Jᵀw, t⟩ has gradient J t in w. Every step
    is an ordinary recorded op, so the result carries the tangents of an enclosing jvp (jvp inside jvp)."""
    _check_tangent_shapes(primals, tangents)
    res = vjp(func, *primals, has_aux=has_aux)
    out, fn = res[0], res[1]
    outs = out if isinstance(out, (tuple, list)) else (out,)
    with enable_grad():
        ws = [_track(Tensor._make(xp.zeros(tuple(o.shape), dtype=o.dtype))) for o in outs]
        jts = _vjp_of_vjp(fn(*ws), tangents, ws)
    jts = _grads(jts, ws, True)
    result = (out, jts if isinstance(out, (tuple, list)) else jts[0])
    return result + (res[2],) if has_aux else result


def _check_tangent_shapes(primals, tangents) -> None:
    for p, t in zip(primals, tangents):
        if _as_tensor(p).shape != _as_tensor(t).shape:
            raise RuntimeError(f"jvp: tangent of shape {tuple(t.shape)} for a primal of shape {tuple(p.shape)}")


def _vjp_of_vjp(gs, tangents, ws: list) -> tuple:
    """The engine's gradients in the cotangents ``ws`` of Σ ⟨gᵢ, tᵢ⟩, gᵢ = Jᵢᵀw (None where unused)."""
    pairs = [(g, materialize(_as_tensor(t), levels_of(g))) for g, t in zip(gs, tangents)]
    pairs = [(g, t) for g, t in pairs if g.requires_grad]
    if not pairs:
        return (None,) * len(ws)
    return _autograd_grad([inner_of(g) for g, _ in pairs], [inner_of(w) for w in ws],
                          [inner_of(t) for _, t in pairs], create_graph=True, allow_unused=True)


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _dual(p, t) -> Tensor:
    """The dual number p + εt (t cast to p's dtype), connected to p's graph when p requires grad; under vmap
    p and t are made batched at the same levels (the tangent lives on the physical tensor)."""
    p, t = _as_tensor(p), _as_tensor(t)
    if p.shape != t.shape:
        raise RuntimeError(f"jvp: tangent of shape {tuple(t.shape)} for a primal of shape {tuple(p.shape)}")
    levels = union([p, t])
    if levels:
        p, t = materialize(p, levels), materialize(t, levels)
    p, t = inner_of(p), inner_of(t)
    d = alias(p) if p.requires_grad else Tensor._make(p._data)
    d._tangent = t if t.dtype == p.dtype else t.to(p.dtype)
    return wrap(d, levels)


def _split_outputs(out, outer: bool) -> tuple:
    """(values, tangents) of jvp's result: a pair of tensors, or of tuples when ``func`` returned a sequence."""
    if isinstance(out, (tuple, list)):
        pts = [_primal_and_tangent(o, outer) for o in out]
        return tuple(p for p, _ in pts), tuple(t for _, t in pts)
    return _primal_and_tangent(out, outer)


def _primal_and_tangent(o: Tensor, outer: bool) -> tuple:
    """An output of jvp's function split into (value, tangent), detached unless ``outer`` tracks a graph."""
    levels, o = levels_of(o), inner_of(o)
    tan = o._tangent if o._tangent is not None else Tensor._make(xp.zeros_like(o._data))
    if not outer:
        return wrap(Tensor._make(o._data), levels), wrap(_keep_tangent(tan, False), levels)
    return wrap(Tensor._make(o._data, o.requires_grad, o._node), levels), wrap(tan, levels)


def _basis(shape, dtype) -> Tensor:
    """The n = prod(shape) unit tensors of ``shape``, stacked: shape (n,) + shape."""
    n = int(xp.prod(shape))
    return Tensor._make(xp.eye(n, dtype=dtype).reshape((n,) + tuple(shape)))


def _substitute(func, args, nums):
    """``func`` as a function of the arguments ``nums`` only (the others fixed to ``args``)."""
    def f_of(*xs):
        a = list(args)
        for i, x in zip(nums, xs):
            a[i] = x
        return func(*a)

    return f_of


def _unit_cotangents(outs: tuple) -> list:
    """The basis of the cotangents of all outputs together: for M = Σ outₖ.numel(), a tensor (M,) + outₖ.shape
    per output, row r the r-th unit cotangent."""
    sizes = [o.numel() for o in outs]
    eye = xp.eye(sum(sizes), dtype=outs[0].dtype)
    cuts = xp.cumsum([0] + sizes)
    return [Tensor._make(eye[:, cuts[k]:cuts[k + 1]].reshape((-1,) + tuple(o.shape))) for k, o in enumerate(outs)]


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """Jacobian by reverse mode: vmap of one vector-Jacobian product over the basis of output cotangents
    (one batched backward pass). Shape: output.shape + input.shape (a tuple per output and/or argument
    when ``func`` returns a tuple or ``argnums`` is one). ``has_aux``: ``func`` returns (output, aux) and
    the result is (jacobian, aux). ``chunk_size``: as vmap's (1: one vjp at a time)."""

    def wrapper(*args):
        nums = _argnums(argnums, len(args))
        res = vjp(_substitute(func, args, nums), *[args[i] for i in nums], has_aux=has_aux)
        out, fn = res[0], res[1]
        outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        xs = [_as_tensor(args[i]) for i in nums]
        per_out = _per_argnums(_cut_rows(_jacrev_rows(fn, outs, xs, chunk_size), outs, xs), argnums)
        jac = tuple(per_out) if isinstance(out, (tuple, list)) else per_out[0]
        return (jac, res[2]) if has_aux else jac

    return wrapper


def _jacrev_rows(fn, outs: tuple, xs: list, chunk_size) -> tuple:
    """Per argument x, the vjps of all unit cotangents of the outputs: (M,) + x.shape, M = Σ outₖ.numel()."""
    if sum(o.numel() for o in outs):
        return vmap(fn, chunk_size=chunk_size)(*_unit_cotangents(outs))
    return tuple(Tensor._make(xp.zeros((0,) + tuple(x.shape), dtype=x.dtype)) for x in xs)


def _cut_rows(rows: tuple, outs: tuple, xs: list) -> list:
    """The stacked vjp rows cut per output: for each output, a tuple of outₖ.shape + x.shape per argument."""
    jacs, start = [], 0
    for o in outs:
        m = o.numel()
        jacs.append(tuple(reshape(r[start:start + m], tuple(o.shape) + tuple(x.shape)) for r, x in zip(rows, xs)))
        start += m
    return jacs


def _per_argnums(jacs: list, argnums) -> list:
    """Each output's Jacobians: the tuple over arguments, or its one entry when ``argnums`` is an int."""
    return [j[0] if isinstance(argnums, numbers.Integral) else j for j in jacs]


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error", chunk_size=None):
    """Jacobian by forward mode: vmap of one Jacobian-vector product over the basis of input tangents
    (one batched forward pass per argument). Shape: output.shape + input.shape (a tuple per output and/or
    argument when ``func`` returns a tuple or ``argnums`` is one). ``has_aux``: as jacrev's;
    ``randomness`` and ``chunk_size``: as vmap's."""

    def wrapper(*args):
        if _mode.fw_level:  # inside a jvp (jacfwd of jacfwd): the same Jacobian by reverse mode, which nests
            return jacrev(func, argnums, has_aux=has_aux, chunk_size=chunk_size)(*args)
        nums = _argnums(argnums, len(args))
        per_arg, aux = [], None
        for i in nums:
            many, cols, aux = _jacfwd_columns(func, args, i, has_aux, randomness, chunk_size)
            per_arg.append((many, cols))
        many = per_arg[0][0]
        per_out = _per_argnums([tuple(j[k] for _, j in per_arg) for k in range(len(per_arg[0][1]))], argnums)
        jac = tuple(per_out) if many else per_out[0]
        return (jac, aux) if has_aux else jac

    return wrapper


def _jacfwd_columns(func, args, i: int, has_aux: bool, randomness, chunk_size) -> tuple:
    """(whether func returns a tuple, each output's Jacobian in argument i, the aux or None): one jvp per unit
    tangent of args[i], vmapped."""
    x = _as_tensor(args[i])
    f_i = _substitute(func, args, (i,))

    def column(e):
        res = jvp(f_i, (x,), (e,), has_aux=has_aux)
        return (res[1], res[2]) if has_aux else res[1]

    cols = vmap(column, randomness=randomness, chunk_size=chunk_size)(_basis(tuple(x.shape), x.dtype))
    aux = None
    if has_aux:  # the aux of every column is the same: the first one's
        cols, aux = cols[0], _map(lambda a, _: a[0], cols[1], None)
    many = isinstance(cols, tuple)
    return many, [reshape(movedim(c, 0, -1), tuple(c.shape[1:]) + tuple(x.shape))
                  for c in (cols if many else (cols,))], aux


def jacobian(func, x, mode: str = "reverse"):
    """The Jacobian of ``func`` at ``x`` (shape output.shape + x.shape) by ``mode`` 'reverse' or 'forward'."""
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    return (jacrev if mode == "reverse" else jacfwd)(func)(x)


def hessian(func, argnums=0, *, chunk_size=None):
    """The Hessian by forward-over-reverse: ``jacfwd(jacrev(f))``."""
    return jacfwd(jacrev(func, argnums, chunk_size=chunk_size), argnums, chunk_size=chunk_size)


def hvp(func, primals, tangents):
    """Hessian-vector product H·v of a scalar function, by forward-over-reverse (one jvp of grad)."""
    single = not isinstance(primals, (tuple, list))
    primals = (primals,) if single else tuple(primals)
    tangents = (tangents,) if single else tuple(tangents)
    argnums = 0 if single else tuple(range(len(primals)))
    _, out = jvp(grad(func, argnums), primals, tangents)
    return out
