"""``lamina.nn.attention``: the names of ``torch.nn.attention`` that programs use to pick an attention kernel.

lamina has one implementation of ``scaled_dot_product_attention``, softmax(Q Kᵀ · s + B) V composed from
tensor ops (PyTorch's MATH backend), so ``sdpa_kernel`` accepts any backend list and changes nothing."""
from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """PyTorch's attention kernel names and values."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends: SDPBackend | list[SDPBackend], set_priority: bool = False) -> Iterator[None]:
    """A context in which PyTorch would restrict attention to ``backends``; lamina always computes it the same way."""
    chosen = [backends] if isinstance(backends, SDPBackend) else list(backends)
    if not all(isinstance(b, SDPBackend) for b in chosen):
        raise TypeError(f"sdpa_kernel: backends must be SDPBackend members, got {backends!r}")
    if not isinstance(set_priority, bool):
        raise TypeError(f"sdpa_kernel: set_priority must be a bool, got {set_priority!r}")
    yield
