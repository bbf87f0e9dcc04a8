"""Shared pieces of the reliability suite: the CLI run in-process, a small finished run folder, fast training."""
import os
from types import SimpleNamespace

import numpy as np
import pytest

import lamina.runs
from lamina.cli import main
from lamina.datasets import digits


def run_cli(argv, capsys) -> SimpleNamespace:
    """``lamina ARGV`` in this process: exit code (argparse's SystemExit included), stdout, stderr."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return SimpleNamespace(code=code, out=captured.out, err=captured.err)


def assert_one_line_error(result, *fragments) -> None:
    """Exit code 2, one line on stderr holding each fragment, no traceback."""
    err = result.err.strip()
    assert result.code == 2, (result.code, result.err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture
def cli(capsys):
    return lambda *argv: run_cli(argv, capsys)


def small_digits():
    """300 of the 1797 UCI digits (every class present): training a CNN on them takes a few milliseconds."""
    X, y = digits()
    return X[:300], y[:300]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """A finished run folder (small CNN, 2 epochs on 300 digits) and its inputs, shared read-only."""
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lamina.runs, "digits", small_digits)
        assert main(["train", "--epochs", "2", "--width", "4", "--quiet", "--out", str(out)]) == 0
    (name,) = os.listdir(out)
    return os.path.join(out, name)


@pytest.fixture
def fast_digits(monkeypatch):
    monkeypatch.setattr(lamina.runs, "digits", small_digits)


@pytest.fixture
def inputs(tmp_path):
    """Four digits as a valid .npy input file of ``predict``."""
    X, _ = digits()
    path = tmp_path / "x.npy"
    np.save(path, X[:4] / 16.0)
    return path
