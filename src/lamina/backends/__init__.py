"""``lamina.backends``: the switches PyTorch code sets for its GPU backends, for a CPU-only library.

``lamina.backends.cudnn.deterministic = True`` and ``benchmark = False`` are accepted and kept (lamina's
CPU kernels are deterministic whatever they say); ``cudnn.is_available()``, ``mps.is_available()``
and ``cuda.is_built()`` are False.
"""
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
