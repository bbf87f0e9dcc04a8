"""CUDA's switches (``torch.backends.cuda``): ``matmul.allow_tf32 = …`` is accepted; ``is_built()`` is False."""
from __future__ import annotations


class _MatmulSettings:
    """``torch.backends.cuda.matmul``: TF32 and reduced-precision switches, kept but without effect on the CPU."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulSettings()


def is_built() -> bool:
    """False: lamina is not built with CUDA."""
    return False
