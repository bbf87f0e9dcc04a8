"""``DataParallel`` on the CPU: the wrapper PyTorch programs put around a model, with nothing to scatter.

PyTorch's ``DataParallel(module)`` splits each batch over GPUs, runs a replica of the module on each
and gathers the outputs. With no GPU (PyTorch's own behaviour then, and lamina's always) the wrapper
calls the module on the whole batch. It keeps the module as ``.module``, so its parameters and its
``state_dict`` keys are the module's prefixed by ``module.`` as in PyTorch, and a checkpoint saved
from the wrapper loads into ``wrapper.module`` after stripping that prefix.
"""
from __future__ import annotations

from typing import Any

from ..backend import check_device
from .modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``: ``forward`` is ``module(*args)``.

    Device ids name GPUs; lamina has none, so any device id but the CPU raises one clear error."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a Module to wrap, got {type(module).__name__}")
        for d in list(device_ids or []) + ([] if output_device is None else [output_device]):
            check_device(f"cuda:{d}" if isinstance(d, int) else d, "DataParallel")
        self.module = module
        self.dim = dim
        self.device_ids: list = []
        self.output_device = None

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
