"""ONNX forms of the special functions declared with ``unary``: erf (ONNX Erf), erfc = 1 − erf and
sinc x = sin(πx)/(πx) with 1 at 0 (a Where over the quotient)."""
from __future__ import annotations

import math

from ..ops import special
from ._convert import Ctx, Result, converts


@converts(special.Erf)
def _erf(c: Ctx) -> Result:
    return c.g.add("Erf", [c.x.name]), c.x.sym


@converts(special.Erfc)
def _erfc(c: Ctx) -> Result:
    return c.g.add("Sub", [c.scalar(1), c.g.add("Erf", [c.x.name])]), c.x.sym


@converts(special.Sinc)
def _sinc(c: Ctx) -> Result:
    g = c.g
    px = g.add("Mul", [c.x.name, c.scalar(math.pi)])
    zero = g.add("Equal", [c.x.name, c.scalar(0)])
    return g.add("Where", [zero, c.scalar(1), g.add("Div", [g.add("Sin", [px]), px])]), c.x.sym
