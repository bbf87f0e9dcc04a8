"""The differentiable ops. Importing this package attaches them to ``Tensor`` as methods."""
from . import elementwise, linalg, reduce, shape  # noqa: F401
