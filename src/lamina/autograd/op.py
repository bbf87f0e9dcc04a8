"""``Op``: one node of the define-by-run graph; the kinds of op; ``run``, which applies one.

An op has up to three rules, side by side:

* ``forward(*arrays) -> array`` computes on raw arrays (fast, no graph);
* ``backward(grad) -> tuple`` is the transposed-Jacobian-by-vector product x̄ = Jᵀ ȳ
  (for y = W x: W̄ = ȳ xᵀ and x̄ = Wᵀ ȳ), written with lamina tensor ops so that it is
  itself differentiable (grad of grad, Hessian-vector products);
* ``jvp(*tangents) -> Tensor`` is the forward-mode rule: the ε-part of
  f(x + εx') = f(x) + ε J x' (dual numbers, ε² = 0).

Most ops state their derivative once, by their kind, and get the other rule for free:

* ``Elementwise``: the Jacobian is diagonal; ``partial(i, v) = ∂f/∂xᵢ ∘ v`` gives
  both x̄ᵢ = partial(i, ȳ) and J t = Σᵢ partial(i, tᵢ). ``ElementwiseUnary`` names it
  ``derivative(v) = f'(x) ∘ v``.
* ``LinearMap``: f is linear in its inputs together (reshape, sum, indexing, cat), so
  J t = f(t): the forward-mode rule is the op itself applied to the tangents.
* ``Multilinear``: f is linear in each input separately (matmul, convolution), so
  J t = Σᵢ f(x₁, …, tᵢ, …, xₙ).

The op object is its own context: ``forward`` may keep what ``backward`` needs on
``self``; ``self.inputs`` holds the input tensors and ``self.output()`` the result.
Every concrete op class lands in ``Op.registry`` so the test suite can check them all.

Version counters: when a node is recorded it keeps ``versions``, the ``_version`` of each input
(one int each). Backward compares them with the inputs' current versions and refuses, with a
clear error, when an input whose values the rule reads (``reads_input(i)``) or an output the
producing rule reads (``reads_output``) was changed in place since the forward.

The few primitives the engine and ``run`` need themselves live here too:
``broadcast_to`` (tangents of broadcasting ops), ``sum_to`` (a gradient summed back over
broadcast dims), ``cast`` (a gradient brought to its input's dtype) and ``promote`` (two operands
brought to their result dtype by ``lamina._promote``'s rule, the one every op follows).
"""
from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from .. import _mode
from .._promote import float_result, result_type
from ..backend import fast_broadcast, float32, float64, get_default_dtype, xp
from ..tensor import INPLACE_EPOCH as _epoch
from ..tensor import Tensor, _HookHandle

_make = Tensor._make  # bound once: ``run`` and ``run1`` make every op's result with it

# attributes that belong to a node of the graph, not to the op's own parameters
_GRAPH_STATE = frozenset({"inputs", "needs", "versions", "out", "out_tangent", "hooks", "retained", "freed",
                          "watched", "inplace_base", "out_version"})


class Op:
    """Base class of every differentiable primitive."""

    registry: ClassVar[list[type[Op]]] = []
    abstract: ClassVar[bool] = True  # a kind of op, not an op: kept out of the registry

    # inputs: tuple of input tensors (None once the graph is freed);
    # needs: which inputs want a gradient; out / out_tangent: the result and its tangent;
    # hooks / retained: gradient hooks and retain_grad() of the output tensor.
    inputs: Any = None
    needs: tuple = ()
    out: Any = None
    out_tangent: Any = None
    hooks: list | None = None
    retained: Any = None
    freed = False
    # watched: the backward walk hands the node to ``_Walk.observe`` (it has hooks or a retained grad,
    # or its saved values were freed); set by add_hook, retain and release
    watched = False
    # versions: INPLACE_EPOCH when the node was recorded, if every input was then at version 0 (the common
    # case: one int); else each input's ``_version`` then, followed by the epoch (-1: always test). One
    # attribute, so a recorded node's instance dict stays small (a dict past five keys is resized)
    versions: int | tuple = (-1,)
    # reads_output: the rules read the op's own result (exp, tanh, softmax …), so an in-place change
    # of the output tensor before backward corrupts the gradient.
    reads_output: ClassVar[bool] = False
    reads_values: ClassVar[bool] = True  # False: the rules never read the inputs' values (x + y, −x, c·x)
    # an in-place change recorded in the graph (``ops/inplace.py``): the node replaced the history of a
    # tensor at version ``inplace_base``, and its output is that tensor at version ``out_version``
    inplace_base: int | None = None
    out_version: int = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("abstract", False):
            cls.abstract = False
            Op.registry.append(cls)

    def forward(self, *arrays):
        raise TypeError(f"{type(self).__name__} has no forward rule")

    def backward(self, grad):
        raise RuntimeError(f"{type(self).__name__} is not differentiable (no backward rule)")

    def jvp(self, *tangents):
        raise RuntimeError(f"{type(self).__name__} has no forward-mode (jvp) rule")

    def reads_input(self, i: int) -> bool:
        """Whether the backward rule reads the values of input ``i`` (its shape alone does not count).

        Any op may read them; a kind that knows better says so (a linear map never does; a
        multilinear op reads xᵢ only for the gradient of another input)."""
        return self.reads_values

    # -------------------------------------------------------------- helpers for the rules
    def output(self) -> Tensor:
        """The op's result as a tensor connected to this node (PyTorch's saved-output trick)."""
        recorded = self.inputs is not None and True in self.needs
        t = _make(self.out, recorded, self if recorded else None)
        t._tangent = self.out_tangent
        return t

    def fresh(self) -> Op:
        """The same op (same parameters), not yet applied: to apply it again, e.g. to tangents."""
        op = object.__new__(type(self))
        op.__dict__.update({k: v for k, v in self.__dict__.items() if k not in _GRAPH_STATE})
        return op

    def release(self) -> None:
        """Free saved buffers after backward (unless retain_graph=True)."""
        self.__dict__.clear()
        self.freed = True
        self.watched = True

    def retain(self, tensor: Tensor) -> None:
        self.retained = weakref.ref(tensor)
        self.watched = True

    def add_hook(self, hook) -> _HookHandle:
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(hook)
        self.watched = True
        return _HookHandle(self.hooks, hook)

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        """PyTorch's ``grad_fn.next_functions``: one ``(node, 0)`` per input — the op that made it, an
        ``AccumulateGrad`` (``.variable`` is the leaf) for a leaf that requires grad, else None."""
        from .accumulate import AccumulateGrad
        return tuple((x._node if x._node is not None else AccumulateGrad(x) if x.requires_grad else None, 0)
                     for x in (self.inputs or ()))

    def __repr__(self):
        return f"<{self.name()}>"


def _add(a, b):
    """a + b where None is a zero."""
    if a is None:
        return b
    return a if b is None else a + b


def sum_terms(*terms):
    """The sum of the terms that are not None (None is a zero tangent or gradient)."""
    out = None
    for t in terms:
        out = _add(out, t)
    return out


class Elementwise(Op):
    """y = f(x₁, …, xₙ) value by value: x̄ᵢ = ∂f/∂xᵢ ∘ ȳ and J t = Σᵢ ∂f/∂xᵢ ∘ tᵢ, both from ``partial``."""

    abstract = True

    def partial(self, i: int, v: Tensor) -> Tensor:
        """∂f/∂xᵢ ∘ v (v a cotangent or a tangent)."""
        raise TypeError(f"{type(self).__name__} does not state its partial derivatives")

    def backward(self, g):
        needs = self.needs
        if len(needs) == 2:  # the common binary case, without the generic loop
            return (self.partial(0, g) if needs[0] else None), (self.partial(1, g) if needs[1] else None)
        return tuple([self.partial(i, g) if need else None for i, need in enumerate(needs)])

    def jvp(self, *tangents):
        out = None
        for i, t in enumerate(tangents):
            if t is not None:
                out = _add(out, self.partial(i, t))
        return out


class ElementwiseUnary(Elementwise):
    """y = f(x) value by value: x̄ = f'(x) ∘ ȳ and J t = f'(x) ∘ t, both from ``derivative``.

    ``domain`` is the interval of x where f is smooth; the op checker draws its inputs there."""

    abstract = True
    domain: ClassVar[tuple[float, float]] = (-2.0, 2.0)
    # False: f maps integers to integers (|x|, max(x, 0)); True: an integer or bool x is first
    # converted to the default dtype, as PyTorch does for exp, sqrt, sigmoid …
    floating: ClassVar[bool] = True

    def derivative(self, v: Tensor) -> Tensor:
        """f'(x) ∘ v."""
        raise TypeError(f"{type(self).__name__} does not state its derivative")

    def partial(self, i, v):
        return self.derivative(v)

    def backward(self, g):
        return (self.derivative(g),)

    def jvp(self, t):
        return self.derivative(t)


UNARY: dict[str, Callable[[Tensor], Tensor]] = {}
"""Every unary function declared by ``unary``, by name: the ops attach them as Tensor methods
(``x.sinh()``), ``lamina`` exports them (``lamina.sinh``) and the op checker tests each against
``torch.<name>`` on its op's ``domain``."""


def unary(cls: type[ElementwiseUnary], name: str | None = None) -> Callable[[Tensor], Tensor]:
    """The function ``f(x) = run1(cls(), x)`` of a unary op, registered under ``name`` (default: the class
    name in lower case). ``sinh = unary(Sinh)`` beside the class is all a new unary function needs."""
    name = name or cls.__name__.lower()

    if cls.floating:
        def function(x: Tensor) -> Tensor:
            d = x._data.dtype
            if d is not float32 and d is not float64 and d.kind not in "fc":  # the identity tests first: cheaper
                x = cast(x, get_default_dtype())
            return run1(cls(), x)
    else:
        def function(x: Tensor) -> Tensor:
            return run1(cls(), x)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = cls.__doc__
    UNARY[name] = function
    return function


def _zeros_like(x: Tensor) -> Tensor:
    return Tensor._make(xp.zeros_like(x._data))


class LinearMap(Op):
    """f is linear in all its inputs together, so J t = f(t): the op applied to the tangents."""

    abstract = True

    def reads_input(self, i):
        return False  # x̄ = Jᵀ ȳ with J fixed by the op's parameters, not by x

    def tangent_op(self) -> Op:
        """The linear map applied to tangents (the op itself; an affine op returns its linear part)."""
        return self.fresh()

    def jvp(self, *tangents):
        if len(tangents) == 1:
            return run1(self.tangent_op(), tangents[0])
        return run(self.tangent_op(), *[_zeros_like(x) if t is None else t for t, x in zip(tangents, self.inputs)])


class Multilinear(Op):
    """f is linear in each input separately (a product), so J t = Σᵢ f(x₁, …, tᵢ, …, xₙ)."""

    abstract = True

    def reads_input(self, i):
        # x̄ⱼ = ∂f/∂xⱼ(x₁, …, xₙ)ᵀ ȳ does not depend on xⱼ itself: xᵢ is read only for another input's gradient
        return True in (self.needs[:i] + self.needs[i + 1:])

    def jvp(self, *tangents):
        out = None
        for i, t in enumerate(tangents):
            if t is not None:
                args = list(self.inputs)
                args[i] = t
                out = _add(out, run(self.fresh(), *args))
        return out


# ----------------------------------------------------------------------------- applying an op
def _record(op: Op, inputs: tuple, out) -> None:
    op.inputs = inputs
    op.out = out


def _tangent(op: Op, inputs: tuple, out, recorded: bool):
    """The forward-mode tangent of ``out`` (None when no input carries one)."""
    tangents = [t._tangent for t in inputs]
    if all(tg is None for tg in tangents):
        return None
    if not recorded:
        _record(op, inputs, out)
        op.needs = (False,) * len(inputs)
    _mode.fw_level -= 1  # the tangent computation carries no tangent of its own
    try:
        tan = op.jvp(*tangents)
    finally:
        _mode.fw_level += 1
    if tan is not None and tan.shape != out.shape:
        tan = broadcast_to(tan, out.shape)
    op.out_tangent = tan
    return tan


batch_hook: Callable[[Op, tuple], Tensor | None] | None = None
"""Set by ``lamina.func`` (vmap): applies an op to batched tensors by the op's batching rule (None when no
input is batched). ``run`` asks it only while a vmap level is active."""


raw_hook: Callable[..., Tensor | None] | None = None
"""Set by ``lamina.func`` (vmap): ``raw_hook(fn, *args)`` applies a raw elementwise array function (a
comparison, isnan …, no gradient) to batched tensors, or returns None when no argument is batched."""


batched_api: dict[str, Callable] = {}
"""Functions of ``lamina.func`` that code below it calls on batched tensors (``make_dual``, ``unpack_dual``)."""


def is_batched(x) -> bool:
    """Whether ``x`` is a batched tensor (under vmap)."""
    return getattr(x, "_levels", None) is not None


def per_sample_if_batched(position: int, name: str):
    """Decorator for a function that reads the *values* of its argument ``position`` / ``name`` (indices,
    class targets): under vmap, when that argument is batched, the function runs sample by sample (a batched
    tensor's own array is only a stand-in of its shape)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if _mode.vmap_sizes:
                arg = args[position] if len(args) > position else kwargs.get(name)
                if is_batched(arg):
                    if name in kwargs:
                        args, kwargs = (*args, kwargs[name]), {k: v for k, v in kwargs.items() if k != name}
                    return batched_api["per_sample"](lambda *a: fn(*a, **kwargs), args)
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def apply_raw(fn, *args) -> Tensor | None:
    """``fn`` on the arrays of ``args`` when a vmap level is active and an argument is batched, else None."""
    if _mode.vmap_sizes and raw_hook is not None:
        return raw_hook(fn, *args)
    return None


def run(op: Op, *inputs: Tensor) -> Tensor:
    """Apply ``op`` to tensors: compute forward, then record the graph (and, under a forward-mode or vmap level,
    the tangent or the batching rule: ``_run_special``)."""
    if _mode.special:
        return _run_special(op, inputs)
    if len(inputs) != 2:
        return _run_n(op, inputs)
    a, b = inputs  # the common binary case, without the generic list handling
    out = op.forward(a._data, b._data)
    if _mode.grad_enabled and (a.requires_grad or b.requires_grad):
        res = _make(out, True, op)
        op.needs = (a.requires_grad, b.requires_grad)
        # each input's version, then INPLACE_EPOCH now: the engine tests the versions only when some tensor was
        # changed in place after this record, or always (-1) when an input changed in place before it was used
        # has a producer whose saved output it overwrote
        op.versions = _versions2(a, b) if a._version or b._version else _epoch[0]
        op.inputs = inputs
        op.out = out
        return res
    return _make(out)


def _versions2(a: Tensor, b: Tensor) -> tuple:
    """The saved versions of a binary node when an input was changed in place: both versions, then the
    epoch (or -1, always test, when a changed input has a producer whose saved output it overwrote)."""
    dirty = (a._version and a._node is not None) or (b._version and b._node is not None)
    return (a._version, b._version, -1 if dirty else _epoch[0])


def _versions_n(inputs: tuple, versions: list) -> tuple:
    """``_versions2`` for any number of inputs."""
    dirty = True in [v != 0 and t._node is not None for t, v in zip(inputs, versions)]
    return (*versions, -1 if dirty else _epoch[0])


def _run_n(op: Op, inputs: tuple) -> Tensor:
    """``run`` for one or three and more inputs."""
    if len(inputs) == 3:
        return _run3(op, *inputs)
    out = op.forward(*[t._data for t in inputs])
    needs = tuple([t.requires_grad for t in inputs])
    if _mode.grad_enabled and True in needs:
        res = _make(out, True, op)
        op.needs = needs
        versions = [t._version for t in inputs]
        op.versions = _versions_n(inputs, versions) if any(versions) else _epoch[0]
        op.inputs = inputs
        op.out = out
        return res
    return _make(out)


def _run3(op: Op, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """``run`` for three inputs (a linear layer or convolution with its bias), without the list handling."""
    out = op.forward(a._data, b._data, c._data)
    if _mode.grad_enabled and (a.requires_grad or b.requires_grad or c.requires_grad):
        res = _make(out, True, op)
        op.needs = (a.requires_grad, b.requires_grad, c.requires_grad)
        op.versions = (_versions_n((a, b, c), [a._version, b._version, c._version])
                       if a._version or b._version or c._version else _epoch[0])
        op.inputs = (a, b, c)
        op.out = out
        return res
    return _make(out)


def run1(op: Op, x: Tensor) -> Tensor:
    """``run`` specialised for one input (the common case; keeps per-op overhead low)."""
    if _mode.special:
        return _run_special(op, (x,))
    out = op.forward(x._data)
    if _mode.grad_enabled and x.requires_grad:
        res = _make(out, True, op)
        op.inputs = (x,)
        op.needs = (True,)
        op.versions = (x._version, -1 if x._node is not None else _epoch[0]) if x._version else _epoch[0]
        op.out = out
        return res
    return _make(out)


def _run_special(op: Op, inputs: tuple) -> Tensor:
    """``run`` under a vmap level (the op's batching rule when an input is batched) or a forward-mode level
    (the plain ``run``, then the output's tangent from the op's jvp)."""
    if _mode.vmap_sizes and batch_hook is not None:
        batched = batch_hook(op, inputs)
        if batched is not None:
            return batched
    _mode.special = False  # the plain path, once
    try:
        res = run1(op, inputs[0]) if len(inputs) == 1 else run(op, *inputs)
    finally:
        _mode.special = True
    if _mode.fw_level:
        res._tangent = _tangent(op, inputs, res._data, res._node is not None)
    return res


# ----------------------------------------------------------------------------- the engine's primitives
class BroadcastTo(LinearMap):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return fast_broadcast(x, self.shape)

    def backward(self, g):
        return (sum_to(g, self.in_shape),)


class SumTo(LinearMap):
    """Sum a broadcast gradient back to ``shape`` (the adjoint of broadcasting)."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(self.shape) if s == 1 and x.shape[i + lead] != 1
        )
        out = x.sum(axis=axes) if axes else x
        return out.reshape(self.shape)

    def backward(self, g):
        return (broadcast_to(g, self.in_shape),)


class Cast(LinearMap):
    """A change of floating dtype; the gradient goes back in the input's dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return (cast(g, self.src),)


def broadcast_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    if x._data.shape == shape:
        return x
    return run1(BroadcastTo(shape), x)


def sum_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    if x._data.shape == shape:
        return x
    return run1(SumTo(shape), x)


def cast(x: Tensor, dtype) -> Tensor:
    dtype = xp.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind not in "fc":  # integers and booleans carry no gradient
        batched = apply_raw(lambda a: a.astype(dtype), x)
        return Tensor._make(x._data.astype(dtype)) if batched is None else batched
    return run1(Cast(dtype), x)


def promote(a: Tensor, b: Tensor, floating: bool = False) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` cast to their result dtype (``lamina._promote.result_type``; with ``floating``,
    an integer result becomes the default dtype), only where the array library would compute
    another dtype. Same dtypes cost one comparison."""
    da, db = a._data.dtype, b._data.dtype
    if da is db and (not floating or da.kind in "fc"):
        return a, b
    d = result_type(a, b)
    if floating:
        d = float_result(d)
    if xp.result_type(da, db) == d:
        return a, b
    return cast(a, d), cast(b, d)
