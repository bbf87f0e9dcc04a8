import shutil

import pytest

import lamina as L
from lamina import viz


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
