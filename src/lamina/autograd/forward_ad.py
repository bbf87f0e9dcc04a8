"""Forward mode by dual numbers: carry x + εx' with ε² = 0 through every op.

    with forward_ad.dual_level():
        x = forward_ad.make_dual(x0, v)        # x0 + εv
        y = f(x)
        value, jv = forward_ad.unpack_dual(y)  # f(x0), J v

Each op's ``jvp`` rule gives the ε part of its output. One forward pass gives J v
for one direction v: cheap when a function has few inputs and many outputs.
"""
from __future__ import annotations

import weakref
from collections import namedtuple

from .. import _mode
from ..backend import xp
from ..tensor import Tensor
from .op import Op, batched_api, is_batched, run1

# the dual tensors ``make_dual`` made while a level is active (weakly held): leaving the outermost
# level drops their tangents, so a later level does not see a tangent of an earlier one
_duals: list = []


class dual_level:
    """Turn on tangent propagation for the enclosed code. Tangents live only as long as the level:
    after the outermost ``with`` block ``unpack_dual(y).tangent`` is None (as in PyTorch)."""

    def __enter__(self):
        enter_dual_level()
        return self

    def __exit__(self, *exc):
        exit_dual_level()
        return False


def enter_dual_level():
    _mode.fw_level += 1
    _mode.special = True


def exit_dual_level():
    if _mode.fw_level <= 0:
        raise RuntimeError("exit_dual_level: no forward-mode dual level is active")
    _mode.fw_level -= 1
    _mode.update_special()
    if not _mode.fw_level and _duals:
        for ref in _duals:
            t = ref()
            if t is not None:
                t._tangent = None
        _duals.clear()


class Alias(Op):
    """The identity, as a graph node: a new tensor object over the same values."""

    def forward(self, x):
        return x

    def backward(self, g):
        return (g,)

    def jvp(self, t):
        return t


def alias(x: Tensor) -> Tensor:
    return run1(Alias(), x)


def make_dual(primal: Tensor, tangent: Tensor) -> Tensor:
    """The dual number primal + ε·tangent (gradients still flow to ``primal``)."""
    if not _mode.fw_level:
        raise RuntimeError("make_dual: call it inside `with lamina.autograd.forward_ad.dual_level():`")
    if not isinstance(tangent, Tensor):
        tangent = Tensor._make(xp.asarray(tangent, dtype=primal.dtype))
    if is_batched(primal) or is_batched(tangent):
        return batched_api["make_dual"](primal, tangent)
    if tangent.shape != primal.shape:
        raise RuntimeError(f"make_dual: tangent of shape {tuple(tangent.shape)} does not match primal of shape "
                           f"{tuple(primal.shape)}")
    if tangent.dtype != primal.dtype:
        tangent = tangent.to(primal.dtype)
    out = alias(primal) if primal.requires_grad else Tensor._make(primal._data)
    out._tangent = tangent
    _duals.append(weakref.ref(out))
    return out


UnpackedDual = namedtuple("UnpackedDual", ["primal", "tangent"])


def unpack_dual(t: Tensor) -> UnpackedDual:
    """(primal, tangent); the tangent is None outside every dual level (it belonged to a level now left)."""
    if is_batched(t):
        return UnpackedDual(*batched_api["unpack_dual"](t))
    p = Tensor._make(t._data, t.requires_grad, t._node)
    return UnpackedDual(p, t._tangent if _mode.fw_level else None)
