"""In-place ops inside a recorded graph: ``y.mul_(3)``, ``y += z``, ``out[:, 0] = v``, ``y.relu_()`` …

Outside a graph (grad mode off, or nothing requires grad) an in-place method writes into the
tensor's array and bumps ``_version`` (``tensor.py``). Inside one, the change is recorded as
PyTorch records it, by rebasing the tensor's history: the op runs out of place on ``src``, a
tensor standing for the old values (with the old producer), the result is written into the
tensor's own array, and the tensor's node becomes the op's node. So ``y.mul_(3)`` then
``y.sum().backward()`` gives ∂/∂x of 3·y(x).

Version counters keep the rules honest. The tensor's version goes up by one; ``src`` carries
that new version too, so the old producer, if its rule reads its own output (``exp``,
``sigmoid``), refuses at backward (the values it saved were overwritten). An op recorded
before the change that reads the tensor refuses as before; one that does not read it sends its
gradient to the history the tensor had then (``engine._at_version``). The node keeps
``inplace_base`` (the version it replaced) and ``out_version`` (the version its output has).
An in-place change of a leaf that requires grad is refused, as in PyTorch.
"""
from __future__ import annotations

from collections.abc import Callable

from .. import _mode
from .._promote import can_cast
from ..autograd.op import cast
from ..backend import xp
from ..tensor import INPLACE_EPOCH, Tensor
from . import elementwise as ew
from . import shape


def records(self: Tensor, *others) -> bool:
    """Whether an in-place change of ``self`` with operands ``others`` must be recorded: a gradient or a
    forward-mode tangent flows through one of them."""
    if _mode.grad_enabled and (self.requires_grad or True in [isinstance(o, Tensor) and o.requires_grad for o in others]):
        return True
    return bool(_mode.fw_level) and (
        self._tangent is not None or True in [isinstance(o, Tensor) and o._tangent is not None for o in others])


def _leaf_error(name: str) -> RuntimeError:
    return RuntimeError(
        f"{name}: a leaf tensor that requires grad is being used in an in-place operation; change it under "
        "lamina.no_grad() (as optimizers do), or change a copy (x.clone())"
    )


def rebase(self: Tensor, name: str, compute: Callable[[Tensor], Tensor], *others, cast_any: bool = False) -> Tensor:
    """``self ← compute(self)``, recorded in the graph (the tensor's history rebased on the op's node)."""
    _prepare_destination(self, name)
    base = self._version
    src = Tensor._make(self._data, self.requires_grad, self._node)
    src._version = base + 1  # the old producer's output is being overwritten
    src._tangent = self._tangent
    new = compute(src)
    new = _fit(self, name, new, cast_any)
    if new is src or True in [new is o for o in others]:
        new = shape.clone(new)  # the op returned an operand unchanged: give the change a node of its own
    node = new._node
    if node is not None:
        # a rule may read the old values (or the node does not take src directly): keep them from the write below
        if src.requires_grad and (node.inputs is None or node.inputs[0] is not src or node.reads_input(0)):
            src._data = src._data.copy()
    self._data[...] = new._data
    self._version = base + 1
    INPLACE_EPOCH[0] += 1
    self._tangent = new._tangent
    if node is not None:
        node.inplace_base, node.out_version = base, base + 1
        self._node, self.requires_grad = node, True
    return self


def _prepare_destination(self: Tensor, name: str) -> None:
    """Refuse an in-place change of a leaf that requires grad (while grad mode records) or of a view inside
    a graph; give a read-only array a writable copy."""
    node = self._node
    if node is None:
        if self.requires_grad and _mode.grad_enabled:
            raise _leaf_error(name)
    elif node.inputs is not None and node.inplace_base is None:  # an in-place node's input is self
        _refuse_view(self, node, name)
    if not self._data.flags.writeable:
        self._data = self._data.copy()


def _refuse_view(self: Tensor, node, name: str) -> None:
    """An op output that shares memory with the op's input (reshape, indexing, transpose …) cannot be changed
    in place inside a graph: the change would reach the base tensor behind its history's back."""
    for t in node.inputs:
        if xp.may_share_memory(t._data, self._data):
            raise RuntimeError(
                f"{name}: in-place change of a view ({node.name()}'s output shares memory with its input of shape "
                f"{tuple(t.shape)}) inside a graph is not supported; change a copy (.clone()) or compute out of place"
            )


def _fit(self: Tensor, name: str, new: Tensor, cast_any: bool) -> Tensor:
    """The result brought to ``self``'s dtype (refused across categories unless ``cast_any``); its shape must
    be ``self``'s (an in-place op does not broadcast its destination)."""
    if new.shape != self.shape:
        raise RuntimeError(f"{name}: output with shape {tuple(self.shape)} doesn't match the broadcast shape "
                           f"{tuple(new.shape)}")
    if new.dtype != self.dtype:
        if not cast_any and not can_cast(new.dtype, self.dtype):
            raise RuntimeError(f"{name}: result type {new.dtype} can't be cast to the desired output type {self.dtype}")
        new = cast(new, self.dtype)
    return new


# --------------------------------------------------------------------- the methods
_RAW = {name: Tensor.__dict__[name] for name in (
    "add_", "sub_", "mul_", "div_", "clamp_", "zero_", "fill_", "copy_", "__setitem__",
    "__iadd__", "__isub__", "__imul__", "__itruediv__")}


def add_(self, other, alpha=1):
    """self ← self + alpha · other."""
    if records(self, other):
        return rebase(self, "add_", lambda s: ew.add(s, other, alpha=alpha), other)
    return _RAW["add_"](self, other, alpha)


def sub_(self, other, alpha=1):
    """self ← self − alpha · other."""
    if records(self, other):
        return rebase(self, "sub_", lambda s: ew.sub(s, other, alpha=alpha), other)
    return _RAW["sub_"](self, other, alpha)


def mul_(self, other):
    """self ← self · other."""
    if records(self, other):
        return rebase(self, "mul_", lambda s: ew.mul(s, other), other)
    return _RAW["mul_"](self, other)


def div_(self, other):
    """self ← self / other."""
    if records(self, other):
        return rebase(self, "div_", lambda s: ew.div(s, other), other)
    return _RAW["div_"](self, other)


def clamp_(self, min=None, max=None):
    """self ← clamp(self, min, max)."""
    if records(self, min, max):
        return rebase(self, "clamp_", lambda s: ew.clamp(s, min, max), min, max)
    return _RAW["clamp_"](self, min, max)


def _filled(s: Tensor, value) -> Tensor:
    """``value`` everywhere in s's shape, as a recorded op on s (∂/∂s = 0, ∂/∂value = 1 per element)."""
    return ew.where(Tensor._make(xp.zeros(s.shape, dtype=bool)), s, value)


def zero_(self):
    """self ← 0 (the gradient to the old values is zero)."""
    if records(self):
        return rebase(self, "zero_", lambda s: _filled(s, 0))
    return _RAW["zero_"](self)


def fill_(self, value):
    """self ← value everywhere."""
    if records(self, value):
        return rebase(self, "fill_", lambda s: _filled(s, value), value)
    return _RAW["fill_"](self, value)


def copy_(self, src):
    """self ← src (broadcast to self's shape, cast to its dtype)."""
    if records(self, src):
        return rebase(self, "copy_", lambda s: _filled(s, src), src, cast_any=True)
    return _RAW["copy_"](self, src)


def setitem(self, index, value):
    """self[index] ← value (PyTorch's CopySlices: x̄ = ȳ with zeros at index, v̄ = ȳ[index])."""
    if records(self, value):
        v = value if isinstance(value, Tensor) else ew._const(value, self)
        rebase(self, "__setitem__", lambda s: shape.setitem(s, index, v), v)
        return
    _RAW["__setitem__"](self, index, value)


def _augmented(name: str, fn):
    raw = _RAW[name]

    def method(self, other):
        if records(self, other):
            return rebase(self, name, lambda s: fn(s, other), other)
        return raw(self, other)

    method.__name__ = name
    method.__doc__ = f"``self {name[3:-2]}= other`` in place (recorded inside a graph)."
    return method


def unary_inplace(name: str, fn):
    """The in-place form ``x.relu_()`` of a unary function: ``x ← fn(x)``."""
    def method(self) -> Tensor:
        if records(self):
            return rebase(self, name, fn)
        return self._assign(name, fn(self)._data)

    method.__name__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``: self ← {name[:-1]}(self)."
    return method


OVERRIDES = {
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "clamp_": clamp_, "clip_": clamp_, "zero_": zero_,
    "fill_": fill_, "copy_": copy_, "__setitem__": setitem,
    "__iadd__": _augmented("__iadd__", ew.add), "__isub__": _augmented("__isub__", ew.sub),
    "__imul__": _augmented("__imul__", ew.mul), "__itruediv__": _augmented("__itruediv__", ew.div),
}
"""Tensor's in-place methods, made graph-aware (``methods.bind`` attaches them; ``tensor.py`` declares them)."""
