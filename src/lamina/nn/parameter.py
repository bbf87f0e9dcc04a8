"""``lamina.nn.Parameter``: the core's Parameter (a tensor a Module registers as learnable)."""
from ..tensor import Parameter

__all__ = ["Parameter"]
