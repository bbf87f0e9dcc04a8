"""Layers exported whole, as the ONNX node made for them, instead of as the ops their forward runs.

Eval-mode BatchNorm is BatchNormalization (its ops would hold the running averages as anonymous
constants); PReLU and Step compute a mask from the input's values outside the graph, which a trace of
their ops would bake in; Upsample is Resize; LocalResponseNorm across an odd number of channels is LRN;
a Conv2d with reflect / replicate / circular padding is Pad + Conv; MaxPool2d with ``return_indices``
is MaxPool's second output; the recurrent layers and cells are ONNX's RNN / GRU / LSTM nodes (``_recurrent``).
Each entry says for which settings it applies; the others are traced op by op.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import nn
from ..ops.conv import _conv_pads
from ..ops.pool import _pool_args, _spec
from . import _recurrent
from ._convert import Ctx, Result, onnx_dtype
from ._graph import fixed
from .errors import ExportError

# module class -> (does it apply to this module, converter)
LAYERS: dict[type, tuple[Callable[[nn.Module, int], bool], Callable[[Ctx], Result | list[Result]]]] = {}


def layer(*classes: type, applies: Callable[[nn.Module, int], bool] = lambda m, opset: True):
    def register(fn):
        for cls in classes:
            LAYERS[cls] = (applies, fn)
        return fn
    return register


def layer_converter(module: nn.Module, opset: int):
    """The converter of ``module`` when it is exported whole at ``opset`` (None: trace its ops)."""
    entry = LAYERS.get(type(module))
    if entry is None or not entry[0](module, opset):
        return None
    return entry[1]


def _evaluating_with_running_stats(m, opset: int) -> bool:
    return not m.training and m.track_running_stats and m.running_mean is not None and m.running_var is not None


@layer(nn.BatchNorm1d, nn.BatchNorm2d, applies=_evaluating_with_running_stats)
def _batch_norm(c: Ctx) -> Result:
    """y = (x − r_μ)/√(r_σ² + ε)·γ + β with the running averages (γ = 1, β = 0 without affine)."""
    m, g, x = c.op, c.g, c.x
    ones, zeros = np.ones(m.num_features, dtype=c.dtype), np.zeros(m.num_features, dtype=c.dtype)
    scale = c.cast(c.leaf(m.weight), c.dtype) if m.weight is not None else g.const(ones)
    bias = c.cast(c.leaf(m.bias), c.dtype) if m.bias is not None else g.const(zeros)
    mean, var = c.cast(c.leaf(m.running_mean), c.dtype), c.cast(c.leaf(m.running_var), c.dtype)
    return g.add("BatchNormalization", [x.name, scale, bias, mean, var], epsilon=float(m.eps)), x.sym


@layer(nn.LayerNorm, applies=lambda m, opset: opset >= 17)
def _layer_norm(c: Ctx) -> Result:
    """(x − μ)/√(σ² + ε)·γ + β over the last len(normalized_shape) dims: LayerNormalization (opset 17)."""
    m, g, x = c.op, c.g, c.x
    k = len(m.normalized_shape)
    ones = np.ones(m.normalized_shape, dtype=c.dtype)
    scale = c.cast(c.leaf(m.weight), c.dtype) if m.weight is not None else g.const(ones)
    ins = [x.name, scale] + ([c.cast(c.leaf(m.bias), c.dtype)] if m.bias is not None else [])
    return g.add("LayerNormalization", ins, axis=-k, epsilon=float(m.eps)), x.sym


@layer(nn.PReLU)
def _prelu(c: Ctx) -> Result:
    """x where x > 0, else a·x; one slope per channel is reshaped to (C, 1, …) to broadcast over dim 1."""
    m, g, x = c.op, c.g, c.x
    slope = c.cast(c.leaf(m.weight), c.dtype)
    if m.weight.numel() > 1:
        slope = g.add("Reshape", [slope, g.ints([m.weight.numel()] + [1] * (len(x.shape) - 2))])
    return g.add("PRelu", [x.name, slope]), x.sym


@layer(nn.Step)
def _step(c: Ctx) -> Result:
    """[x > 0] in the output's dtype."""
    g = c.g
    return g.add("Cast", [g.add("Greater", [c.x.name, g.scalar(0, c.x.dtype)])], to=onnx_dtype(c.dtype)), c.x.sym


_NEAREST = {"nearest": ("asymmetric", "floor"), "nearest-exact": ("half_pixel", "round_prefer_ceil")}


@layer(nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d, applies=lambda m, opset: m.mode != "area")
def _upsample(c: Ctx) -> Result:
    """Resize. By ``scale_factor`` s: the scales input (output ⌊n·s⌋, source o/s as the layer computes it);
    to a ``size``: the sizes input, batch and channels read from the input's Shape so they stay dynamic."""
    m, g, x = c.op, c.g, c.x
    out = c.shape[2:]
    scales = _resize_scales(c) if m.size is None and not m.recompute_scale_factor else None
    if scales is not None:
        ins = [x.name, "", scales]
        sym = (x.sym[0], None) + tuple(None if s is None else "" for s in x.sym[2:])
    else:
        lead = g.slice(g.add("Shape", [x.name]), [0], [2], [0])
        ins = [x.name, "", "", g.add("Concat", [lead, g.ints(out)], axis=0)]
        sym = (x.sym[0], x.sym[1]) + fixed(out)
    return g.add("Resize", ins, **_resize_mode(m)), sym


def _resize_scales(c: Ctx) -> str | None:
    """The scales input (1, 1, s…) of Resize, or None when ⌊n·s⌋ in float32 misses the layer's output size."""
    m, x, out = c.op, c.x, c.shape[2:]
    dims = len(x.shape) - 2
    sf = m.scale_factor if isinstance(m.scale_factor, (tuple, list)) else (m.scale_factor,) * dims
    f32 = np.asarray([1.0, 1.0] + [float(s) for s in sf], dtype=np.float32)
    if all(int(np.floor(n * s)) == o for n, s, o in zip(x.shape[2:], f32[2:], out)):
        return c.g.const(f32, base="scales")
    return None


def _resize_mode(m) -> dict:
    """Resize's mode attributes for the layer's mode (nearest, nearest-exact, or linear)."""
    if m.mode in _NEAREST:
        ctm, rounding = _NEAREST[m.mode]
        return dict(mode="nearest", coordinate_transformation_mode=ctm, nearest_mode=rounding)
    ctm = "align_corners" if m.align_corners else "pytorch_half_pixel"
    return dict(mode="linear", coordinate_transformation_mode=ctm)


@layer(nn.LocalResponseNorm, applies=lambda m, opset: m.region == "across_channels" and m.size % 2 == 1)
def _lrn(c: Ctx) -> Result:
    """b = a / (k + α/n · Σ_{n channels} a²)^β (for an odd n ONNX's window is the layer's, centred)."""
    m = c.op
    y = c.g.add("LRN", [c.x.name], size=int(m.size), alpha=float(m.alpha), beta=float(m.beta), bias=float(m.k))
    return y, c.x.sym


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@layer(nn.Conv2d, applies=lambda m, opset: m.padding_mode != "zeros")
def _conv_mode_padded(c: Ctx) -> Result:
    """Pad (reflect / edge / wrap) then an unpadded Conv."""
    m, g, x = c.op, c.g, c.x
    if len(x.shape) != 4:
        raise ExportError(f"{c.label}: padding_mode={m.padding_mode!r} is exported for 4-D (N, C, H, W) inputs, "
                          f"got shape {tuple(x.shape)}")
    if m.padding_mode == "circular" and g.opset < 19:
        raise ExportError(f"{c.label}: padding_mode='circular' needs Pad's 'wrap' mode, which came with ONNX opset "
                          f"19; export with opset_version=19 or later (asked for {g.opset})")
    (top, bottom), (left, right) = _conv_pads(m.padding, m.kernel_size, m.dilation, m.stride, "Conv2d")
    padded = g.add("Pad", [x.name, g.ints([0, 0, top, left, 0, 0, bottom, right])], mode=_PAD_MODES[m.padding_mode])
    ins = [padded, c.leaf(m.weight).name] + ([c.leaf(m.bias).name] if m.bias is not None else [])
    y = g.add("Conv", ins, kernel_shape=list(m.kernel_size), strides=list(m.stride), dilations=list(m.dilation),
              pads=[0, 0, 0, 0], group=int(m.groups))
    return y, (x.sym[0], None) + tuple(None if s is None else "" for s in x.sym[2:])


@layer(nn.Embedding, applies=lambda m, opset: m.max_norm is not None)
def _embedding_max_norm(c: Ctx) -> Result:
    raise ExportError(f"{c.label}: Embedding(max_norm={c.op.max_norm}) rescales the rows it looks up, in place, at "
                      "every call; ONNX has no such step. Renormalise the weight once and export with max_norm=None")


@layer(nn.MaxPool2d, applies=lambda m, opset: bool(m.return_indices))
def _max_pool_indices(c: Ctx) -> list[Result]:
    """(values, indices): MaxPool's Indices count over the whole (N, C, H, W) input, so mod H·W gives the
    layer's flat position h·W + w within its plane."""
    from ._convert import max_pool

    m, g, x = c.op, c.g, c.x
    if len(x.shape) != 4:
        raise ExportError(f"{c.label}: return_indices=True is exported for 4-D (N, C, H, W) inputs, got shape "
                          f"{tuple(x.shape)}")
    if any(s is not None for s in x.sym[2:]):
        raise ExportError(f"{c.label}: return_indices=True with dynamic H or W cannot be exported")
    k, s, p, d = _pool_args(m.kernel_size, m.stride, m.padding, m.dilation, "max_pool2d")
    values, flat = max_pool(c, x.name, _spec(x, k, s, p, d, m.ceil_mode, "max_pool2d"), indices=True)
    plane = g.add("Mod", [flat, g.const(np.int64(x.shape[2] * x.shape[3]))])
    sym = (x.sym[0], None, None, None)
    return [(values, sym), (plane, sym)]


layer(nn.RNN, nn.GRU, nn.LSTM)(_recurrent.recurrent)
layer(nn.RNNCell, nn.GRUCell, nn.LSTMCell)(_recurrent.cell)
