"""The error of ``lamina.onnx.export``."""
from __future__ import annotations

__all__ = ["ExportError"]


class ExportError(ValueError):
    """A model, layer or op that ONNX cannot express (the message names it), or an export argument out of range."""
