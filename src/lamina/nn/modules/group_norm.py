"""``GroupNorm`` and ``InstanceNorm1d`` / ``InstanceNorm2d``, formulas in ``lamina.nn.functional.group_norm``.

Parameters and buffers are named and initialised as PyTorch's (weight = 1, bias = 0; running_mean,
running_var, num_batches_tracked with ``track_running_stats``), so torch state_dicts load."""
from __future__ import annotations

import warnings

from ...backend import as_dtype, check_device, get_default_dtype
from ...errors import ShapeError
from ...tensor import Parameter, Tensor
from ...tensor import ones as _ones
from ...tensor import zeros as _zeros
from .. import functional as F
from .. import init
from .module import Module
from .normalization import _BatchNorm

__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d"]


class GroupNorm(Module):
    """Normalise each of ``num_groups`` groups of channels of every sample; per-channel affine γ, β."""

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None):
        super().__init__()
        check_device(device)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        dt = as_dtype(dtype) or get_default_dtype()
        self.num_groups, self.num_channels, self.eps, self.affine = int(num_groups), int(num_channels), eps, affine
        if affine:
            self.weight = Parameter(_ones(self.num_channels, dtype=dt))
            self.bias = Parameter(_zeros(self.num_channels, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None and self.bias is not None:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected an input (N, "
                             f"{self.num_channels}, ...), got shape {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_BatchNorm):
    """Instance statistics while training or without running averages; the running averages in eval."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._dims:
            raise ShapeError(f"{self._get_name()}: expected a {' or '.join(f'{d}-D' for d in self._dims)} input "
                             f"{self._shape_doc}, got shape {tuple(input.shape)}")
        unbatched = input.ndim == self._dims[0]
        x = input.unsqueeze(0) if unbatched else input
        if x.shape[1] != self.num_features:
            if self.affine or self.track_running_stats:
                raise ShapeError(f"{self._get_name()}({self.num_features}): input has {x.shape[1]} channels "
                                 f"(shape {tuple(input.shape)}), expected {self.num_features}")
            warnings.warn(f"{self._get_name()}({self.num_features}) got an input with {x.shape[1]} channels; "
                          "without affine or running stats num_features is not used", stacklevel=2)
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)  # as torch
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L) or unbatched (C, L) inputs: every (sample, channel) over L."""

    _dims = (2, 3)
    _shape_doc = "(C, L) or (N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) or unbatched (C, H, W) inputs: every (sample, channel) over H, W."""

    _dims = (3, 4)
    _shape_doc = "(C, H, W) or (N, C, H, W)"
