"""The differentiable ops, one file per family; ``methods.bind()`` attaches them to ``Tensor``."""
from . import (
               activations,
               conv,
               convert,
               elementwise,
               layers,
               linalg,
               losses,
               methods,
               negative_sampling,
               pool,
               reduce,
               shape,
)

methods.bind()
