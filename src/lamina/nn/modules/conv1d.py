"""``Conv1d``: y[n, o, l] = b[o] + Σ_{c,k} W[o, c, k]·x[n, c, s·l + d·k − p] over (N, C_in, L); weight
(C_out, C_in/groups, k), bias (C_out,), initialised as PyTorch's (``init.default_``: U(±1/√fan_in))."""
from __future__ import annotations

from ...errors import ShapeError
from ...tensor import Parameter, Tensor
from .. import functional as F
from .. import init
from ..functional.pool1d import single
from .conv import _mode_pad, check_conv_arguments, conv_extra_repr
from .linear import _weight_and_bias
from .module import Module

__all__ = ["Conv1d"]


class Conv1d(Module):
    """1-D convolution; ``padding`` an int, 'valid' or 'same'; ``padding_mode`` 'zeros', 'reflect',
    'replicate' or 'circular'."""

    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        check_conv_arguments("Conv1d", in_channels, out_channels, groups, padding_mode, device)
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = (single(kernel_size, "kernel_size", "Conv1d"),)
        self.stride = (single(stride, "stride", "Conv1d"),)
        self.dilation = (single(dilation, "dilation", "Conv1d"),)
        self.padding = padding if isinstance(padding, str) else (single(padding, "padding", "Conv1d"),)
        if padding == "same" and self.stride != (1,):
            raise ValueError(f"Conv1d: padding='same' is not supported for strided convolutions (stride={stride})")
        self.padding_mode = padding_mode
        _weight_and_bias(self, (self.out_channels, self.in_channels // self.groups) + self.kernel_size,
                         self.out_channels, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_(self.weight, self.bias)

    def _pads(self) -> tuple:
        if self.padding == "valid":
            return (0, 0)
        if self.padding == "same":
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            return (total // 2, total - total // 2)
        return (self.padding[0], self.padding[0])

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim in (2, 3) and input.shape[-2] != self.in_channels:
            raise ShapeError(f"Conv1d({self.in_channels}, {self.out_channels}): expected input with "
                             f"{self.in_channels} channels (shape (N, {self.in_channels}, L)), got shape "
                             f"{tuple(input.shape)}")
        if self.padding_mode == "zeros":
            return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        padded = _mode_pad(input.unsqueeze(-2), ((0, 0), self._pads()), self.padding_mode).squeeze(-2)
        return F.conv1d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return conv_extra_repr(self)
