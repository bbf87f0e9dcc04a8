"""Padding layers over the last one (…1d) or two (…2d) dims, by ``F.pad``: zeros, a constant, reflection
(mirror without the edge), replication (repeat the edge) or circular (wrap around). ``padding`` is an int
(every side) or (left, right) / (left, right, top, bottom) as in PyTorch."""
from __future__ import annotations

import numbers

from ...ops.shape import pad
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d"]


class _Pad(Module):
    _sides = 2
    _mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        if isinstance(padding, numbers.Integral):
            padding = (int(padding),) * self._sides
        padding = tuple(padding)
        if len(padding) != self._sides:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {self._sides} ints, got {padding}")
        self.padding, self.value = padding, value

    def forward(self, input):
        return pad(input, self.padding, self._mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self._mode == "constant" and self.value else "")


class ConstantPad1d(_Pad):
    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    _sides = 4


class ZeroPad1d(_Pad):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    _sides = 4


class ReflectionPad1d(ZeroPad1d):
    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    _sides = 4


class ReplicationPad1d(ZeroPad1d):
    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    _sides = 4


class CircularPad1d(ZeroPad1d):
    _mode = "circular"


class CircularPad2d(CircularPad1d):
    _sides = 4
