"""``lamina.accelerator``: PyTorch's device-agnostic accelerator queries, answered for a CPU-only library.

Code written as ``dev = torch.accelerator.current_accelerator() if torch.accelerator.is_available()
else torch.device("cpu")`` picks the CPU here: no accelerator is ever available.
"""
from __future__ import annotations

from .backend import device


def is_available() -> bool:
    """False: lamina computes on the CPU only."""
    return False


def current_accelerator(check_available: bool = False) -> device | None:
    """None: there is no accelerator (PyTorch's answer on a CPU-only build)."""
    return None


def device_count() -> int:
    """0 accelerators."""
    return 0


def synchronize(device=None) -> None:
    """Nothing to wait for: every CPU computation is finished when its call returns."""
    return None


__all__ = ["is_available", "current_accelerator", "device_count", "synchronize"]
