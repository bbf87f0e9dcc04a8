"""`lamina export RUN OUT.onnx`: a run trained for one epoch through the CLI, exported, and run by onnxruntime with
other batch sizes; user mistakes end with one line on stderr and exit code 2."""
import os

import numpy as np
import onnx
import pytest
from onnx_helpers import lamina_forward, session

import lamina.runs
from lamina.cli import main
from lamina.datasets import digits


def _small_digits():
    X, y = digits()
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lamina.runs, "digits", _small_digits)
        assert main(["train", "--epochs", "1", "--width", "4", "--quiet", "--out", str(out)]) == 0
    (name,) = os.listdir(out)
    return os.path.join(out, name)


def test_export_a_trained_run_and_run_it_with_onnxruntime(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(lamina.runs, "digits", _small_digits)
    out = tmp_path / "model.onnx"
    assert main(["export", run_dir, str(out)]) == 0
    assert f"to {out}" in capsys.readouterr().out
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    _, model, data = lamina.runs.load_run(run_dir, note=lambda msg: None)
    sess = session(proto)
    for n in (5, 1):
        x = np.asarray(data.X_test[:n], dtype=np.float32)
        (got,) = sess.run(["output"], {"input": x})
        np.testing.assert_allclose(got, lamina_forward(model, x), rtol=1e-5, atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]


@pytest.mark.parametrize("argv,message", [
    (["{run}", "model.txt"], "OUT 'model.txt': the name must end in .onnx"),
    (["no_such_run", "model.onnx"], "run folder 'no_such_run' does not exist"),
    (["{run}", "model.onnx", "--opset", "5"], "opset_version must be an int from 13"),
    (["{run}", "{run}/config.toml"], "must end in .onnx"),
])
def test_mistakes_are_one_line_and_exit_2(argv, message, run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(lamina.runs, "digits", _small_digits)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["export"] + [a.replace("{run}", run_dir) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lamina export: error: ") and message in err, err
    assert not os.listdir(tmp_path)
