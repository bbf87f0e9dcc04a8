"""``lamina.onnx``: export a model to ONNX, in the shape of ``torch.onnx.export``::

    lamina.onnx.export(model, x, "model.onnx", input_names=["input"], output_names=["output"],
                       dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})

The ``onnx`` package (``pip install lamina[onnx]``) is imported when ``export`` runs, not with lamina.
"""
from __future__ import annotations

from ._export import export
from .errors import ExportError

__all__ = ["export", "ExportError"]
