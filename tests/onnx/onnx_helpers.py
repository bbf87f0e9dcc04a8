"""Export a lamina model and run it with onnxruntime: the shared check of the ONNX tests."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

import lamina
import lamina.onnx

DYNAMIC = {"input": {0: "batch"}, "output": {0: "batch"}}


def session(proto) -> ort.InferenceSession:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def lamina_forward(model, x: np.ndarray) -> np.ndarray:
    with lamina.no_grad():
        return model(lamina.tensor(x)).numpy()


def assert_exports(model, make_input, batches=(3, 1), rtol=1e-5, atol=1e-5, opset_version=None, dynamic=True):
    """Export ``model`` traced on ``make_input(2)``, check the file, then compare onnxruntime with lamina on
    fresh inputs of each batch size in ``batches`` (the batch dim is dynamic). Returns the ModelProto."""
    model.eval()
    proto = lamina.onnx.export(model, lamina.tensor(make_input(2)), None, dynamic_axes=DYNAMIC if dynamic else None,
                               opset_version=opset_version)
    onnx.checker.check_model(proto, full_check=True)
    sess = session(proto)
    for b in batches:
        x = make_input(b)
        (got,) = sess.run(None, {"input": x})
        ref = lamina_forward(model, x)
        assert got.shape == ref.shape and got.dtype == ref.dtype, (got.shape, ref.shape, got.dtype, ref.dtype)
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)
    return proto


def normal(rng, *shape):
    """A function of the batch size giving float32 samples of ``shape``."""
    return lambda n: rng.standard_normal((n,) + shape).astype(np.float32)


def op_types(proto) -> list[str]:
    return [n.op_type for n in proto.graph.node]
