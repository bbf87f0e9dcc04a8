"""Apple's Metal backend (``torch.backends.mps``): not available in lamina, which computes on the CPU."""
from __future__ import annotations


def is_available() -> bool:
    """False: lamina computes on the CPU only."""
    return False


def is_built() -> bool:
    """False: lamina is not built with Metal."""
    return False
