"""The command line: train → run folder → evaluate / predict / graph, and one-line errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lamina.cli import main
from lamina.datasets import digits


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--epochs", "2", "--width", "8", "--quiet", "--out", str(out)]) == 0
    (run,) = [os.path.join(out, d) for d in os.listdir(out)]
    return run


def test_train_writes_a_complete_run_folder(run_dir):
    for f in ("config.toml", "history.csv", "curves.png", "confusion.png", "metrics.json", "checkpoint.safetensors"):
        assert os.path.getsize(os.path.join(run_dir, f)) > 0, f
    m = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert m["test_accuracy"] > 0.5 and m["epochs_run"] == 2
    assert not any(f.startswith(".tmp") for f in os.listdir(run_dir))


def test_evaluate_reproduces_the_test_accuracy(run_dir, capsys):
    assert main(["evaluate", run_dir]) == 0
    m = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert f"test accuracy {m['test_accuracy']:.4f}" in capsys.readouterr().out


def test_predict_from_npy_and_csv(run_dir, tmp_path, capsys):
    X, y = digits()
    np.save(tmp_path / "x.npy", X[:4] / 16.0)
    np.savetxt(tmp_path / "x.csv", X[:4] / 16.0, delimiter=",")
    assert main(["predict", run_dir, str(tmp_path / "x.npy")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "index,prediction,probability" and len(lines) == 5
    assert main(["predict", run_dir, str(tmp_path / "x.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert open(tmp_path / "p.csv").read().splitlines()[1:] == lines[1:]


def test_graph_writes_dot(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["graph", "--model", "mlp", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("digraph") and "0.weight" in text


@pytest.mark.parametrize("argv,message", [
    (["train", "--config", "nope.toml"], "config file 'nope.toml' does not exist"),
    (["evaluate", "no_such_run"], "run folder 'no_such_run' does not exist"),
    (["train", "--dataset", "fashion-mnist", "--data-root", "/nonexistent", "--quiet"], "missing train-images"),
    (["train", "--model", "lenet", "--quiet"], "LeNet-5 needs images of at least 12×12"),
])
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_unknown_config_key_and_corrupt_idx(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nepochz = 3\n")
    assert main(["train", "--config", str(cfg)]) == 2
    assert "unknown key 'epochz' (did you mean 'epochs'?)" in capsys.readouterr().err
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x03garbage")
    assert main(["train", "--dataset", "mnist", "--data-root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in err and len(err.strip().splitlines()) == 1


def test_nan_loss_stops_with_a_clear_error_and_no_checkpoint(tmp_path, capsys):
    argv = ["train", "--model", "mlp", "--optimizer", "sgd", "--lr", "1e8", "--dropout", "0", "--epochs", "2",
            "--schedule", "none", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "loss became nan" in capsys.readouterr().err
    (run,) = os.listdir(tmp_path)
    assert not any(f.endswith(".safetensors") for f in os.listdir(tmp_path / run))


def test_help_explains_each_command():
    for cmd in ("train", "evaluate", "predict", "graph", "xor"):
        out = subprocess.run([sys.executable, "-m", "lamina.cli", cmd, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: lamina" in out.stdout and len(out.stdout) > 200
