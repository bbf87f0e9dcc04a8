"""``Residual``: y = x + f(x) (the identity connection of ResNets), optionally with a shortcut
projection: y = shortcut(x) + f(x)."""
from __future__ import annotations

from ...errors import ShapeError
from .module import Module

__all__ = ["Residual"]


class Residual(Module):
    """Wraps a module f; ``shortcut`` (e.g. a Linear or a 1×1 conv) maps x when f changes its shape."""

    def __init__(self, fn: Module, shortcut: Module | None = None):
        super().__init__()
        self.fn = fn
        self.shortcut = shortcut

    def forward(self, input):
        fx = self.fn(input)
        skip = input if self.shortcut is None else self.shortcut(input)
        if tuple(fx.shape) != tuple(skip.shape):
            raise ShapeError(f"Residual: the wrapped module maps shape {tuple(input.shape)} to {tuple(fx.shape)}, "
                             f"but the skip connection has shape {tuple(skip.shape)}; they must match "
                             "(give a shortcut= module that projects x)")
        return skip + fx
