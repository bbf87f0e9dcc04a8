"""``Conv2d`` and ``ConvTranspose2d`` layers.

Conv2d: y[n, o, h, w] = b[o] + Σ_{c,i,j} W[o, c, i, j]·x[n, c, s·h + d·i − p, s·w + d·j − p] (cross-correlation,
stride s, dilation d, padding p; the channels c run over the group of o). ConvTranspose2d is its adjoint in x.
Weights are initialised as PyTorch does (``init.default_``): kaiming_uniform_(a=√5), i.e. U(±1/√fan_in),
and the bias U(±1/√fan_in), with fan_in = weight.shape[1]·kh·kw, drawn from lamina's seeded generator.
"""
from __future__ import annotations

import numbers
from typing import Literal

from ...backend import check_device, xp
from ...errors import ShapeError
from ...ops.conv import _conv_pads, check_algorithm, conv2d, conv_transpose2d, pair
from ...tensor import Parameter, Tensor
from .. import init
from .linear import _weight_and_bias
from .module import Module

__all__ = ["Conv2d", "ConvTranspose2d"]

# padding_mode -> the array module's pad mode
_PAD_MODE: dict[str, Literal["reflect", "edge", "wrap"]] = {
    "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _mode_pad(x, pads, mode: str):
    """Pad H and W by reflection / replication / wrap-around: a gather with index arrays
    (differentiable through indexing: its gradient adds back onto the gathered pixels)."""
    h, w = x.shape[-2:]
    for n, (a, b) in zip((h, w), pads):
        if mode == "reflect" and max(a, b) >= n:
            raise ValueError(f"Conv2d: padding_mode='reflect' needs padding < input size, got padding {(a, b)} "
                             f"for size {n}")
        if mode == "circular" and max(a, b) > n:
            raise ValueError(f"Conv2d: padding_mode='circular' needs padding <= input size, got padding {(a, b)} "
                             f"for size {n}")
    ih = xp.pad(xp.arange(h), pads[0], mode=_PAD_MODE[mode])
    iw = xp.pad(xp.arange(w), pads[1], mode=_PAD_MODE[mode])
    lead = (slice(None),) * (x.ndim - 2)
    return x[lead + (ih[:, None], iw[None, :])]


def check_conv_arguments(name: str, in_channels, out_channels, groups, padding_mode, device) -> None:
    """The checks every convolution layer makes of its constructor's arguments."""
    check_device(device)
    for label, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}: {label} must be a positive int, got {v!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                         f"divisible by groups ({groups})")
    if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                         f"got {padding_mode!r}")


def conv_extra_repr(m: Module) -> str:
    """PyTorch's repr of a convolution's arguments: the channels, kernel and stride, then each other
    argument that differs from its default (zero padding, dilation 1, one group, a bias, zeros padding)."""
    k = len(m.kernel_size)
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding not in ((0,) * k, "valid"):
        s += f", padding={m.padding!r}" if isinstance(m.padding, str) else f", padding={m.padding}"
    defaults = [("output_padding", (0,) * k), ("dilation", (1,) * k), ("groups", 1)]
    s += "".join(f", {name}={getattr(m, name)}" for name, d in defaults if getattr(m, name, d) != d)
    if m.bias is None:
        s += ", bias=False"
    s += "".join(f", {name}={getattr(m, name)!r}" for name, d in [("padding_mode", "zeros"), ("algorithm", "auto")]
                 if getattr(m, name, d) != d)
    return s


class _ConvNd(Module):
    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, device, dtype, weight_shape, name):
        super().__init__()
        check_conv_arguments(name, in_channels, out_channels, groups, padding_mode, device)
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = pair(stride, "stride", name)
        self.dilation = pair(dilation, "dilation", name)
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding", name)
        self.padding_mode = padding_mode
        _weight_and_bias(self, weight_shape, self.out_channels, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_(self.weight, self.bias)

    def extra_repr(self) -> str:
        return conv_extra_repr(self)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W): weight (C_out, C_in/groups, kh, kw), bias (C_out,).

    ``padding`` is an int, a pair, 'valid' or 'same'; ``groups=C_in`` gives a depthwise convolution
    and kernel_size=1 a pointwise (1×1) one. ``padding_mode`` 'zeros' (default), 'reflect',
    'replicate' or 'circular'. ``algorithm`` (a lamina extension) 'auto' (default), 'direct' or 'fft':
    how ``F.conv2d`` computes it (the FFT for large kernels; same values up to rounding)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None,
                 *, algorithm: str = "auto"):
        self_algorithm = check_algorithm(algorithm, "Conv2d")
        k = pair(kernel_size, "kernel_size", "Conv2d")
        if padding == "same" and pair(stride, "stride", "Conv2d") != (1, 1):
            raise ValueError("Conv2d: padding='same' is not supported for strided convolutions "
                             f"(stride={stride}); give the padding explicitly")
        super().__init__(in_channels, out_channels, k, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype, (out_channels, in_channels // groups) + k, "Conv2d")
        self.algorithm = self_algorithm

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim in (3, 4) and input.shape[-3] != self.in_channels:
            raise ShapeError(f"Conv2d({self.in_channels}, {self.out_channels}): expected input with "
                             f"{self.in_channels} channels (shape (N, {self.in_channels}, H, W)), got shape "
                             f"{tuple(input.shape)}")
        if self.padding_mode == "zeros":
            return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                          algorithm=self.algorithm)
        pads = _conv_pads(self.padding, self.kernel_size, self.dilation, self.stride, "Conv2d")
        padded = _mode_pad(input, pads, self.padding_mode)
        return conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups,
                      algorithm=self.algorithm)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the gradient of a convolution in its input, "fractionally strided"):
    weight (C_in, C_out/groups, kh, kw); output H = (H_in − 1)·stride − 2·padding + dilation·(kh − 1)
    + output_padding + 1. ``forward(input, output_size=None)`` may pick output_padding from a target size.
    ``algorithm`` 'auto', 'direct' or 'fft' as for ``Conv2d``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None, *, algorithm: str = "auto"):
        self_algorithm = check_algorithm(algorithm, "ConvTranspose2d")
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only padding_mode='zeros' is supported (as in PyTorch), "
                             f"got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got {padding!r}")
        k = pair(kernel_size, "kernel_size", "ConvTranspose2d")
        self_output_padding = pair(output_padding, "output_padding", "ConvTranspose2d")
        super().__init__(in_channels, out_channels, k, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype, (in_channels, out_channels // groups) + k, "ConvTranspose2d")
        self.output_padding = self_output_padding
        self.algorithm = self_algorithm

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, int]:
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must give (H, W), got {output_size!r}")
        pads = []
        for d, n in enumerate(size):
            smallest = ((input.shape[-2 + d] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            if not smallest <= n < smallest + self.stride[d]:
                raise ValueError(f"ConvTranspose2d: requested output size {tuple(size)} is not reachable from "
                                 f"input {tuple(input.shape)}: dim {d} must be in [{smallest}, "
                                 f"{smallest + self.stride[d] - 1}]")
            pads.append(n - smallest)
        return tuple(pads)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        if input.ndim in (3, 4) and input.shape[-3] != self.in_channels:
            raise ShapeError(f"ConvTranspose2d({self.in_channels}, {self.out_channels}): expected input with "
                             f"{self.in_channels} channels (shape (N, {self.in_channels}, H, W)), got shape "
                             f"{tuple(input.shape)}")
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation,
                                algorithm=self.algorithm)
