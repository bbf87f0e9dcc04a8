"""cuDNN's switches (``torch.backends.cudnn``): settable, and without effect, since lamina has no cuDNN.

Every lamina kernel runs on the CPU and gives the same result for the same inputs, so
``deterministic = True`` already holds and ``benchmark`` chooses nothing.
"""
from __future__ import annotations

enabled: bool = True
deterministic: bool = False
benchmark: bool = False
benchmark_limit: int = 10
allow_tf32: bool = True


def is_available() -> bool:
    """False: lamina has no cuDNN."""
    return False


def version() -> int | None:
    """None: no cuDNN library is loaded."""
    return None
