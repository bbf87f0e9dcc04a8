import re
import shutil

import numpy as np
import pytest

import lamina as L
from lamina import nn, viz
from lamina.models import LeNet5, ResNet


def _graph():
    W = L.randn(3, 2, requires_grad=True)
    b = L.zeros(3, requires_grad=True)
    x = L.randn(4, 2)
    loss = ((x @ W.T + b).relu() ** 2).mean()
    return loss, {"fc.weight": W, "fc.bias": b}


def test_to_dot_names_ops_shapes_and_parameters():
    loss, params = _graph()
    dot = viz.to_dot(loss, params=params)
    assert dot.startswith("digraph")
    for s in ("fc.weight", "fc.bias", "MatMul", "Relu", "Mean", "(3, 2)", "(4, 3)"):
        assert s in dot


def test_render_dot_file(tmp_path):
    loss, params = _graph()
    p = viz.render(loss, str(tmp_path / "g.dot"), params=params)
    assert open(p).read().startswith("digraph")


def test_render_svg_or_explain_missing_graphviz(tmp_path, monkeypatch):
    loss, params = _graph()
    if shutil.which("dot"):
        viz.render(loss, str(tmp_path / "g.svg"), params=params)
        assert "<svg" in (tmp_path / "g.svg").read_text()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        viz.render(loss, str(tmp_path / "h.svg"))
    assert not (tmp_path / "h.svg").exists()


# ---------------------------------------------------------------------------- make_dot returns a graph object
def test_make_dot_returns_a_graph_with_source_and_render(tmp_path, monkeypatch):
    loss, params = _graph()
    g = viz.make_dot(loss, params=params)
    assert g.source == viz.to_dot(loss, params=params) == str(g)
    assert "fc.weight" in str(g) and str(g).startswith("digraph")
    monkeypatch.setattr(shutil, "which", lambda name: None)  # the DOT text needs no Graphviz
    path = g.render(str(tmp_path / "backward"), format="dot")
    assert path == str(tmp_path / "backward.dot") and open(path).read() == g.source
    assert g.render(str(tmp_path / "same.gv"), format="gv") == str(tmp_path / "same.gv")
    assert viz.render(g, str(tmp_path / "again.dot")) and (tmp_path / "again.dot").read_text() == g.source
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.render(str(tmp_path / "backward"), format="svg")
    with pytest.raises(ValueError, match="format must be one of"):
        g.render(str(tmp_path / "backward"), format="jpeg")


def test_make_dot_renders_svg_with_graphviz(tmp_path):
    if not shutil.which("dot"):
        pytest.skip("Graphviz 'dot' is not installed")
    loss, params = _graph()
    path = viz.make_dot(loss, params=params).render(str(tmp_path / "g"), format="svg")
    assert "<svg" in open(path).read()


# ---------------------------------------------------------------------------- draw_graph: the module graph
def _boxes(source):
    """{layer name: (class, input shapes, output shapes)} read back from the boxes' HTML labels."""
    rows = re.findall(r'BGCOLOR="#c8e6f5">([^<]+)<BR/><I>(\w+)</I></TD><TD>input</TD><TD>([^<]*)</TD></TR>'
                      r'<TR><TD>output</TD><TD>([^<]*)</TD>', source)
    return {name: (kind, i, o) for name, kind, i, o in rows}


def test_draw_graph_lenet5_shows_every_layer_with_its_shapes(tmp_path, monkeypatch):
    model = LeNet5()
    model.train()
    g = viz.draw_graph(model, input_size=(1, 1, 28, 28))
    boxes = _boxes(g.source)
    expected = {"features.0": ("Conv2d", "(1, 1, 28, 28)", "(1, 6, 28, 28)"),
                "features.2": ("MaxPool2d", "(1, 6, 28, 28)", "(1, 6, 14, 14)"),
                "features.3": ("Conv2d", "(1, 6, 14, 14)", "(1, 16, 10, 10)"),
                "features.5": ("MaxPool2d", "(1, 16, 10, 10)", "(1, 16, 5, 5)"),
                "classifier.0": ("Flatten", "(1, 16, 5, 5)", "(1, 400)"),
                "classifier.1": ("Linear", "(1, 400)", "(1, 120)"),
                "classifier.3": ("Linear", "(1, 120)", "(1, 84)"),
                "classifier.5": ("Linear", "(1, 84)", "(1, 10)")}
    for name, box in expected.items():
        assert boxes[name] == box, name
    assert boxes["features.1"][0] == "ReLU" and len(boxes) == 12  # every module, though forward fuses conv+ReLU
    assert [c.name for c in g.layers][:3] == ["features.0", "features.1", "features.2"]
    # a chain: input → features.0 → ... → classifier.5 → output
    keys = ["input"] + [c.key for c in g.layers] + ["output"]
    assert g.edges == list(zip(keys, keys[1:]))
    assert 'subgraph cluster_features { label="features"' in g.source and "output-tensor\\n(1, 10)" in g.source
    assert model.training and model.fuse_activations  # mode and switch restored
    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = g.render(str(tmp_path / "lenet"), format="dot")
    assert open(path).read() == g.source == str(g.visual_graph)


def test_draw_graph_of_a_residual_model_shows_the_skip_connection():
    model = ResNet((1, 1), width=8, stem="mnist")
    g = viz.draw_graph(model, input_size=(2, 1, 28, 28), depth=3)
    boxes = _boxes(g.source)
    assert boxes["conv1"] == ("Conv2d", "(2, 1, 28, 28)", "(2, 8, 28, 28)")
    assert boxes["layer2.0.conv1"] == ("Conv2d", "(2, 8, 28, 28)", "(2, 16, 14, 14)")
    assert boxes["layer2.0.downsample"] == ("Sequential", "(2, 8, 28, 28)", "(2, 16, 14, 14)")
    assert boxes["fc"] == ("Linear", "(2, 16)", "(2, 10)")
    key = {c.name: c.key for c in reversed(g.layers)}  # first call of each name
    adds = [k for k, label in g.ops.items() if label.startswith("Add")]
    assert len(adds) == 2
    into = {a: sorted(src for src, dst in g.edges if dst == a) for a in adds}
    # block 1: bn2 + the block's input (the stem's ReLU); block 2: bn2 + the downsampled input
    assert sorted([key["layer1.0.bn2"], key["relu"]]) in into.values()
    assert sorted([key["layer2.0.bn2"], key["layer2.0.downsample"]]) in into.values()
    assert 'subgraph cluster_layer2_0 { label="layer2.0"' in g.source


def test_draw_graph_depth_and_input_data():
    model = ResNet((1, 1), width=8, stem="mnist")
    shallow = viz.draw_graph(model, input_data=np.zeros((1, 1, 16, 16), dtype=np.float32), depth=1)
    assert [c.name for c in shallow.layers] == ["conv1", "bn1", "relu", "layer1", "layer2", "avgpool", "fc"]
    assert _boxes(shallow.source)["layer2"] == ("Sequential", "(1, 8, 16, 16)", "(1, 16, 8, 8)")
    assert "cluster" not in shallow.source
    mlp = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
    g = viz.draw_graph(mlp, input_size=(5, 4))
    assert _boxes(g.source) == {"0": ("Linear", "(5, 4)", "(5, 3)"), "1": ("Tanh", "(5, 3)", "(5, 3)")}
    with pytest.raises(ValueError, match="depth must be an int >= 1"):
        viz.draw_graph(mlp, input_size=(5, 4), depth=0)
    with pytest.raises(ValueError, match="exactly one"):
        viz.draw_graph(mlp)
    with pytest.raises(ValueError, match="positive sizes"):
        viz.draw_graph(mlp, input_size=(0, 4))
