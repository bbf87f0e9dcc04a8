"""A generated sweep: every flag and positional argument of every subcommand (read from the argparse parser)
with values out of range — 0, -1, NaN, ±inf, huge, empty, of the wrong type — run in-process. Each run ends
with exit code 0 or 2, and a code 2 with one error line (argparse's usage line aside), never a traceback.

Training is cut short so the sweep stays fast: at most 2 epochs, 1 trial, 20 XOR steps, 300 digits."""
import argparse
import os

import numpy as np
import pytest
from conftest import run_cli, small_digits

import lamina.cli
import lamina.runs
import lamina.train
from lamina.cli import build_parser
from lamina.datasets import digits

INT_VALUES = ["0", "-1", "1000000000000", "", "abc", "1.5"]
FLOAT_VALUES = ["0", "-1", "nan", "inf", "-inf", "1e308", "", "abc"]
TEXT_VALUES = ["", "0", "-1", "nan", "abc", "x.csv"]
CHOICE_VALUES = ["", "nope"]

# a valid command line of each subcommand, small and fast: (positional arguments, options); {run} is a
# finished run folder, and the files named are made in the current folder
BASE = {
    "train": ([], ["--epochs", "1", "--width", "4", "--quiet", "--out", "runs"]),
    "evaluate": (["{run}"], []),
    "predict": (["{run}", "x.npy"], []),
    "graph": ([], ["--model", "mlp", "-o", "g.dot"]),
    "tune": ([], ["--trials", "1", "--epochs", "1", "--width", "4", "--quiet"]),
    "word2vec": (["corpus.txt"], ["--dim", "4", "--epochs", "1", "--min-count", "1", "--quiet", "--out", "v.txt"]),
    "xor": ([], ["--epochs", "20"]),
    "export": (["{run}", "model.onnx"], []),
}


def _subcommands() -> dict:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _values(action) -> list:
    if action.nargs == 0:
        return [None]  # a switch: given alone
    if action.choices:
        return CHOICE_VALUES
    return {int: INT_VALUES, float: FLOAT_VALUES}.get(action.type, TEXT_VALUES)


def _cases():
    for command, parser in _subcommands().items():
        positionals, options = BASE.get(command, ([], []))
        index = 0
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.option_strings:  # a positional argument: replace its base value
                for v in _values(action):
                    argv = list(positionals)
                    argv[index] = v
                    yield pytest.param(command, argv + options, id=f"{command} {action.dest}={v!r}")
                index += 1
                continue
            for v in _values(action):
                flag = [action.option_strings[-1]] + ([] if v is None else [v])
                yield pytest.param(command, positionals + options + flag,
                                   id=f"{command} {flag[0]}" + ("" if v is None else f"={v!r}"))


def test_every_subcommand_has_a_base_command_line():
    assert set(_subcommands()) == set(BASE)


def _capped(function, key: str, most: int):
    """``function`` with its keyword argument ``key`` cut to at most ``most``."""
    def wrapper(*args, **kwargs):
        kwargs[key] = min(kwargs[key], most)
        return function(*args, **kwargs)
    return wrapper


class _ShortWord2Vec(lamina.cli.Word2Vec):
    def fit(self, *args, **kwargs):
        return super().fit(*args, **{**kwargs, "epochs": 1})


@pytest.fixture(scope="module")
def world(tmp_path_factory, finished_run):
    """The files the base command lines name."""
    folder = tmp_path_factory.mktemp("sweep")
    X, _ = digits()
    np.save(folder / "x.npy", X[:3] / 16.0)
    rng = np.random.default_rng(0)
    (folder / "corpus.txt").write_text(" ".join(rng.choice(["cat", "dog", "red", "blue", "one", "two"], 300)))
    return folder


@pytest.fixture
def short_training(monkeypatch):
    real_objective, real_run_trials = lamina.cli.TrainObjective, lamina.cli._run_trials
    monkeypatch.setattr(lamina.runs, "digits", small_digits)
    monkeypatch.setattr(lamina.train, "fit", _capped(lamina.train.fit, "epochs", 2))
    monkeypatch.setattr(lamina.cli, "TrainObjective", lambda data, cfg, epochs, **kw: real_objective(
        data, cfg, min(epochs, 1), **kw))
    monkeypatch.setattr(lamina.cli, "_run_trials", lambda study, objective, todo, args: real_run_trials(
        study, objective, min(todo, 1), args))
    monkeypatch.setattr(lamina.cli, "Word2Vec", _ShortWord2Vec)
    monkeypatch.setattr(lamina.cli, "train_xor", _capped(lamina.cli.train_xor, "epochs", 20))


@pytest.mark.parametrize("command,argv", list(_cases()))
def test_an_out_of_range_value_ends_cleanly(command, argv, world, finished_run, short_training, tmp_path, monkeypatch,
                                            capsys):
    for name in ("x.npy", "corpus.txt"):
        os.symlink(world / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    result = run_cli([command] + [a.replace("{run}", finished_run) if a else a for a in argv], capsys)
    assert result.code in (0, 2), (result.code, result.err[-2000:])
    assert "Traceback" not in result.err
    if result.code == 2:
        lines = result.err.strip().splitlines()
        assert lines and lines[-1].startswith(f"lamina {command}: error: "), result.err
        assert len(lines) == 1 or lines[0].startswith("usage: "), result.err  # argparse prints its usage first
