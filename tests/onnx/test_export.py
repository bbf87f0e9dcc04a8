"""lamina.onnx.export: the models of lamina.models exported with a dynamic batch dim, checked by onnx's checker
and run by onnxruntime against lamina (float32, 1e-5), plus the export's arguments, files and errors."""
import io
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx_helpers import DYNAMIC, assert_exports, lamina_forward, normal, op_types, session

import lamina
import lamina.onnx
from lamina import models, nn
from lamina.autograd.function import Function
from lamina.nn import functional as F
from lamina.onnx import ExportError


def _randomize_batch_norms(model, rng):
    """Running averages and affine parameters away from their initial 0 / 1, so BatchNorm does something."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean._data[:] = rng.standard_normal(c)
            m.running_var._data[:] = rng.uniform(0.5, 2.0, c)
            if m.affine:
                m.weight._data[:] = rng.uniform(0.5, 1.5, c)
                m.bias._data[:] = rng.standard_normal(c) * 0.1
    return model


MODELS = {
    "mlp": (lambda: models.MLP([12, 16, 8, 5], dropout=0.2, batchnorm=True), (12,)),
    "lenet5": (lambda: models.LeNet5(), (1, 28, 28)),
    "small_cnn": (lambda: models.SmallCNN(10, 1, width=4), (1, 8, 8)),
    "resnet18": (lambda: models.resnet18(num_classes=7, width=4), (3, 16, 16)),
    "wide_resnet": (lambda: models.WideResNet(depth=10, widen_factor=2, base_width=4, dropout=0.3), (3, 16, 16)),
    "unet": (lambda: models.UNet(1, 3, base_width=4, depth=2), (1, 12, 12)),
    "unet_bilinear_odd": (lambda: models.UNet(2, 2, base_width=4, depth=2, up_mode="bilinear"), (2, 13, 11)),
}


@pytest.mark.parametrize("name", MODELS)
def test_model_exports_with_a_dynamic_batch(name):
    rng = np.random.default_rng(1)
    make, shape = MODELS[name]
    lamina.manual_seed(0)
    model = _randomize_batch_norms(make(), rng)
    proto = assert_exports(model, normal(rng, *shape), batches=(3, 1))
    inp, out = proto.graph.input[0], proto.graph.output[0]
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert out.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert all(d.dim_value == s for d, s in zip(inp.type.tensor_type.shape.dim[1:], shape))


def test_the_graphs_use_the_layers_onnx_nodes():
    rng = np.random.default_rng(2)
    lamina.manual_seed(0)
    resnet = models.resnet18(width=4)
    types = op_types(lamina.onnx.export(resnet, lamina.tensor(normal(rng, 3, 8, 8)(2)), None))
    assert types.count("Conv") == 20 and types.count("BatchNormalization") == 20 and types.count("Add") == 8
    assert types[-2:] == ["Flatten", "Gemm"] and "Sub" not in types  # eval BatchNorm is one node, not its ops
    unet = lamina.onnx.export(models.UNet(base_width=4), lamina.tensor(normal(rng, 1, 8, 8)(2)), None)
    assert {"ConvTranspose", "Concat", "MaxPool"} <= set(op_types(unet))


def test_parameters_are_initializers_named_as_in_the_state_dict():
    rng = np.random.default_rng(3)
    lamina.manual_seed(0)
    model = _randomize_batch_norms(models.SmallCNN(4, 1, width=4), rng)
    proto = lamina.onnx.export(model, lamina.tensor(normal(rng, 1, 8, 8)(2)), None)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    state = model.state_dict()
    used = [k for k in state if not k.endswith("num_batches_tracked")]
    for key in used:
        np.testing.assert_array_equal(inits[key], state[key].numpy())


def test_writes_the_file_atomically_and_to_file_objects(tmp_path):
    rng = np.random.default_rng(4)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    x = lamina.tensor(normal(rng, 3)(2))
    path = tmp_path / "sub" / "m.onnx"
    proto = lamina.onnx.export(model, x, path)
    assert onnx.load(str(path)) == proto
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.onnx"]  # no temporary left behind
    buf = io.BytesIO()
    lamina.onnx.export(model, x, buf)
    assert onnx.load_from_string(buf.getvalue()) == proto


def test_export_leaves_the_model_as_it_was():
    rng = np.random.default_rng(5)
    model = models.MLP([4, 6, 2], dropout=0.5, batchnorm=True)
    model[0].weight.requires_grad_(False)
    model.train()
    lamina.onnx.export(model, lamina.tensor(normal(rng, 4)(3)), None)
    assert all(m.training for m in model.modules())
    assert not model[0].weight.requires_grad and model[0].bias.requires_grad
    assert all(not m._forward_hooks for m in model.modules())
    assert int(model[1].num_batches_tracked.item()) == 0  # traced in eval mode: no running-average update


def test_names_several_inputs_and_outputs_and_keeps_named_dims():
    rng = np.random.default_rng(6)

    class TwoWay(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

        def forward(self, x, y):
            s = self.a(x) + self.b(y)
            return s, s.softmax(-1)

    model = TwoWay()
    x, y = normal(rng, 3)(2), normal(rng, 5)(2)
    proto = lamina.onnx.export(model, (lamina.tensor(x), lamina.tensor(y)), None, input_names=["x", "y"],
                               output_names=["score", "prob"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"},
                                                                              "score": {0: "n"}, "prob": [0]})
    assert [i.name for i in proto.graph.input] == ["x", "y"]
    assert [o.name for o in proto.graph.output] == ["score", "prob"]
    assert proto.graph.output[1].type.tensor_type.shape.dim[0].dim_param == "prob_dim0"
    x, y = normal(rng, 3)(4), normal(rng, 5)(4)
    got = session(proto).run(None, {"x": x, "y": y})
    with lamina.no_grad():
        ref = model(lamina.tensor(x), lamina.tensor(y))
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-5, atol=1e-6)


def test_reshapes_keep_the_batch_dynamic():
    """view(N, -1), reshape(-1, C) (the batch merged into a dim), reshape back with N read as an int, slicing,
    permutes and a functional interpolate: none of them writes the traced batch size into the file."""
    rng = np.random.default_rng(7)

    class Shapes(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 4, 1), nn.Linear(16, 3)

        def forward(self, x):
            y = self.conv(x)                                   # (N, 4, 2, 2)
            rows = y.reshape(-1, 4)                            # (N·4, 4)
            back = rows.reshape(x.shape[0], 16)                # N read as a Python int
            flat = y.view(y.shape[0], -1) + back
            z = lamina.cat([flat, flat.flip(1)], 1)[:, ::2]    # (N, 16)
            t = y.permute(0, 2, 3, 1)[:, -1, ..., None].sum((1, 2))
            u = F.interpolate(y, scale_factor=2, mode="bilinear").amax((2, 3))
            return self.fc(z).log_softmax(1) + t.mean(1, keepdim=True) + u[:, :3] + F.pad(y, (1, 1))[:, 1:, 0, :3].sum(-1)

    proto = assert_exports(Shapes(), normal(rng, 3, 2, 2), batches=(3, 1, 5))
    for node in proto.graph.node:
        if node.op_type == "Reshape":
            target = next(t for t in proto.graph.initializer if t.name == node.input[1])
            assert set(onnx.numpy_helper.to_array(target)[:1]) <= {0, -1}, node


def test_embedding_of_integer_inputs_with_dynamic_batch_and_length():
    rng = np.random.default_rng(8)

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc = nn.Embedding(11, 4, padding_idx=0), nn.Linear(4, 3)

        def forward(self, idx):
            return self.fc(self.emb(idx).mean(1))

    model = Bag()
    proto = lamina.onnx.export(model, lamina.tensor(rng.integers(0, 11, (2, 5))), None,
                               dynamic_axes={"input": {0: "batch", 1: "length"}, "output": {0: "batch"}})
    assert op_types(proto)[0] == "Gather"
    sess = session(proto)
    for shape in ((3, 7), (1, 2)):
        idx = rng.integers(0, 11, shape)
        (got,) = sess.run(None, {"input": idx})
        np.testing.assert_allclose(got, lamina_forward(model, idx), rtol=1e-5, atol=1e-6)


def test_import_lamina_does_not_import_onnx():
    code = "import sys, lamina; assert lamina.onnx.export; assert 'onnx' not in sys.modules, 'onnx imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- what cannot be exported
class _Doubled(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


class _Custom(nn.Module):
    def forward(self, x):
        return _Doubled.apply(x)


class _WithLoss(nn.Module):
    def forward(self, x):
        return F.cross_entropy(x, lamina.tensor([0, 1]))


class _StepOutsideTheGraph(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x) * F.step(x)  # F.step makes a constant from x's values


class _Detached(nn.Module):
    def forward(self, x):
        return lamina.tensor(x.numpy()) * 2


@pytest.mark.parametrize("model,kwargs,message", [
    (_WithLoss(), {}, "the op CrossEntropy"),
    (_Custom(), {}, "custom autograd Function _Doubled"),
    (nn.Embedding(10, 3, max_norm=1.0), {}, "Embedding(max_norm=1.0)"),
    (_StepOutsideTheGraph(), {"dynamic_axes": DYNAMIC}, "Mul op: an operand of shape (2, 3) (const) has the fixed "
                                                         "size 2 along dim 0, which is dynamic ('batch')"),
    (_Detached(), {}, "output 0 ('output') does not depend on the inputs"),
    (nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), {}, "needs Pad's 'wrap' mode, which came with ONNX "
                                                                 "opset 19"),
    (nn.ReLU(), {"opset_version": 9}, "opset_version must be an int from 13"),
    (nn.ReLU(), {"dynamic_axes": {"x": [0]}}, "dynamic_axes names 'x', which is neither an input nor an output"),
    (nn.ReLU(), {"dynamic_axes": {"input": {5: "b"}}}, "dynamic_axes['input'] axis 5 is out of range"),
    (nn.ReLU(), {"input_names": ["a", "b"]}, "input_names must be at most 1"),
])
def test_what_cannot_be_exported_fails_naming_it(model, kwargs, message):
    rng = np.random.default_rng(9)
    if isinstance(model, nn.Embedding):
        x = lamina.tensor(rng.integers(0, 10, (2, 4)))
    elif isinstance(model, nn.Conv2d):
        x = lamina.tensor(normal(rng, 2, 4, 4)(2))
    else:
        x = lamina.tensor(normal(rng, 3)(2))
    with pytest.raises(ExportError) as e:
        lamina.onnx.export(model, x, None, **kwargs)
    assert message in str(e.value)


def test_a_model_that_is_not_a_module_is_refused():
    with pytest.raises(ExportError, match="model must be a lamina.nn.Module"):
        lamina.onnx.export(lambda x: x, lamina.ones(2, 3), None)


def test_an_input_the_outputs_do_not_use_is_refused():
    class FirstOnly(nn.Module):
        def forward(self, x, y):
            return x * 2

    with pytest.raises(ExportError, match="input 'input_1' does not reach the outputs"):
        lamina.onnx.export(FirstOnly(), (lamina.ones(2, 3), lamina.ones(2, 3)), None)


def test_readme_export_snippet_runs(tmp_path, monkeypatch):
    readme = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
    code = re.search(r"### Export to ONNX\n\n```python\n(.*?)```", open(readme, encoding="utf-8").read(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    (got,) = session(onnx.load(str(tmp_path / "resnet18.onnx"))).run(None, {"input": np.zeros((3, 3, 32, 32),
                                                                                             np.float32)})
    assert got.shape == (3, 10)
