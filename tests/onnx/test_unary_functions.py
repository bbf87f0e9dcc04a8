"""Every unary function declared with ``unary`` exports to ONNX and runs in onnxruntime with lamina's values."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import lamina
from lamina import nn
from lamina.autograd.op import UNARY


class _Apply(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_function_exports_and_matches_onnxruntime(name, tmp_path):
    fn = UNARY[name]
    x = lamina.tensor(np.random.default_rng(0).uniform(0.3, 1.5, (2, 3)).astype(np.float32))
    path = tmp_path / f"{name}.onnx"
    lamina.onnx.export(_Apply(fn), x, str(path), dynamic_axes={"input": {0: "batch"}}, input_names=["input"])
    sess = ort.InferenceSession(str(path))
    out = sess.run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(out, fn(x).numpy(), rtol=1e-5, atol=1e-6)
