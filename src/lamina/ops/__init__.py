"""The differentiable ops, one file per family; ``methods.bind()`` attaches them to ``Tensor``."""
from . import activations, conv, convert, elementwise, layers, linalg, losses, pool, reduce, shape  # noqa: F401
from . import methods

methods.bind()
