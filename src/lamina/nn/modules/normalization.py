"""Normalisation layers: BatchNorm1d / BatchNorm2d, LayerNorm, LocalResponseNorm across or within
channels. Formulas in ``lamina.nn.functional.normalization``."""
from __future__ import annotations

from ...backend import as_dtype, check_device, get_default_dtype, int64, xp
from ...errors import ShapeError
from ...tensor import Parameter, Tensor
from ...tensor import ones as _ones
from ...tensor import zeros as _zeros
from .. import functional as F
from .. import init
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "LocalResponseNorm"]


class _BatchNorm(Module):
    """Batch statistics while training, running averages (momentum 0.1) in eval; learnable γ (weight), β (bias).

    ``momentum=None`` uses the cumulative average over all batches seen (1/num_batches_tracked)."""

    _dims: tuple[int, ...] = ()
    _shape_doc = ""
    weight: Parameter | None
    bias: Parameter | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device)
        dt = as_dtype(dtype) or get_default_dtype()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_ones(self.num_features, dtype=dt))
            self.bias = Parameter(_zeros(self.num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _zeros(self.num_features, dtype=dt))
            self.register_buffer("running_var", _ones(self.num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", Tensor._make(xp.zeros((), dtype=int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            for buf, value in ((self.running_mean, 0), (self.running_var, 1), (self.num_batches_tracked, 0)):
                if buf is not None:
                    init.constant_(buf, value)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine and self.weight is not None and self.bias is not None:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in self._dims:
            raise ShapeError(f"{self._get_name()}: expected a {' or '.join(f'{d}-D' for d in self._dims)} input "
                             f"{self._shape_doc}, got shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ShapeError(f"{self._get_name()}({self.num_features}): input has {input.shape[1]} channels on dim 1 "
                             f"(shape {tuple(input.shape)}), expected {self.num_features}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        track = self.track_running_stats
        factor = self._update_factor()
        # batch statistics while training, and always when there are no running averages
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, self.training or not track, factor, self.eps)

    def _update_factor(self) -> float:
        """m in r ← (1 − m)·r + m·stat: ``momentum``, or 1/num_batches_tracked (a cumulative average) when
        momentum is None. Counts the batch when training with running statistics."""
        n = self.num_batches_tracked
        if self.training and self.track_running_stats and n is not None:
            n._data += 1
            if self.momentum is None:
                return 1.0 / float(n._data)
        return 0.0 if self.momentum is None else self.momentum

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) inputs, statistics per feature C."""

    _dims = (2, 3)
    _shape_doc = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) inputs, statistics per channel over N, H, W."""

    _dims = (4,)
    _shape_doc = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last dims ``normalized_shape``; elementwise affine γ, β."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        dt = as_dtype(dtype) or get_default_dtype()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_ones(*shape, dtype=dt))
            if bias:
                self.bias = Parameter(_zeros(*shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Local response normalisation, b = a / (k + α/n · Σ_window a²)^β.

    ``region='across_channels'`` (default, PyTorch's LocalResponseNorm, as in AlexNet): the
    window is ``size`` neighbouring channels at the same pixel. ``region='within_channel'`` (Caffe's
    WITHIN_CHANNEL): the window is a size×size square of the same channel, with α/size² in place of α/n."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0,
                 region: str = "across_channels"):
        super().__init__()
        if region not in ("across_channels", "within_channel"):
            raise ValueError(f"LocalResponseNorm: region must be 'across_channels' or 'within_channel', got {region!r}")
        if int(size) < 1:
            raise ValueError(f"LocalResponseNorm: size must be >= 1, got {size}")
        self.size, self.alpha, self.beta, self.k, self.region = int(size), alpha, beta, k, region

    def forward(self, input: Tensor) -> Tensor:
        if self.region == "across_channels":
            return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)
        return F.local_response_norm_within_channel(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        r = "" if self.region == "across_channels" else f", region='{self.region}'"
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}{r}"

