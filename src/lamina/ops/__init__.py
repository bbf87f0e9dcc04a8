"""The differentiable ops, one file per family; ``methods.bind()`` attaches them to ``Tensor``."""
from . import (activations, conv, convert, elementwise, layers, linalg, losses, negative_sampling, pool,  # noqa: F401
               reduce, shape)
from . import methods

methods.bind()
