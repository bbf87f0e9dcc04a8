"""``AccumulateGrad``: how ``grad_fn.next_functions`` shows a leaf tensor that requires grad.

The engine adds a leaf's gradient into ``leaf.grad`` itself (x.grad ← x.grad + x̄); this object
only names that step in the graph, as PyTorch's ``AccumulateGrad`` node does, with the leaf as
``.variable``.
"""
from __future__ import annotations

from ..tensor import Tensor


class AccumulateGrad:
    """The end of a graph walk at a leaf: ``variable`` is the leaf whose ``.grad`` collects x̄."""

    __slots__ = ("variable",)
    next_functions: tuple = ()

    def __init__(self, variable: Tensor):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return "<AccumulateGrad>"
