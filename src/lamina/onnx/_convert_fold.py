"""ONNX forms of unfold and fold: each is a grouped convolution with a one-hot kernel.

Unfold: Conv(x, E) with groups = C, where E (C·kh·kw, 1, kh, kw) has E[(c, i, j), 0, i, j] = 1, gives
(N, C·kh·kw, OH, OW), reshaped to (N, C·kh·kw, L). Fold is its adjoint: ConvTranspose with the same E
(groups = C) of the blocks reshaped to (N, C·kh·kw, OH, OW), output_padding making up the size the
strides leave over. The spatial sizes must be fixed (only the batch may be dynamic)."""
from __future__ import annotations

import numpy as np

from ..ops import fold
from ._convert import Ctx, Result, _conv_attrs, converts
from .errors import ExportError


def _one_hot_kernel(c: Ctx, channels: int, kh: int, kw: int) -> str:
    e = np.broadcast_to(np.eye(kh * kw).reshape(1, kh * kw, 1, kh, kw), (channels, kh * kw, 1, kh, kw))
    return c.g.const(e.reshape(channels * kh * kw, 1, kh, kw), dtype=c.dtype, base="unfold_kernel")


def _attrs(c: Ctx, what: str) -> dict:
    if any(s is not None for s in c.x.sym[1:]):
        raise ExportError(f"{c.label}: {what} is exported with fixed sizes only (the batch dim may be dynamic); "
                          f"got the input {c.x.describe()}")
    geo = c.op.geo
    attrs = _conv_attrs(geo.spec, geo.kernel)
    attrs["group"] = int(geo.chw[0])
    return attrs


@converts(fold.Unfold)
def _unfold(c: Ctx) -> Result:
    geo = c.op.geo
    kh, kw = geo.kernel
    y = c.g.add("Conv", [c.x.name, _one_hot_kernel(c, geo.chw[0], kh, kw)], **_attrs(c, "unfold"))
    k, n_blocks = c.shape[1], c.shape[2]
    return c.g.add("Reshape", [y, c.g.ints([0, k, n_blocks])]), (c.x.sym[0], None, None)


@converts(fold.Fold)
def _fold(c: Ctx) -> Result:
    geo = c.op.geo
    kh, kw = geo.kernel
    attrs = _attrs(c, "fold")
    blocks = c.g.add("Reshape", [c.x.name, c.g.ints([0, c.x.shape[1], *geo.out_hw])])
    extra = []
    for n, o, k, s, d, (p, _) in zip(geo.chw[1:], geo.out_hw, geo.kernel, geo.spec.stride, geo.spec.dilation,
                                     geo.spec.pads):
        extra.append(int(n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)))
    y = c.g.add("ConvTranspose", [blocks, _one_hot_kernel(c, geo.chw[0], kh, kw)],
                output_padding=extra if any(extra) else None, **attrs)
    return y, (c.x.sym[0], None, None, None)
