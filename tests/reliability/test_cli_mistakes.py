"""Mistakes in flags and files, and failures of the machine (read-only folder, full disk): one line on stderr and
exit code 2, never a traceback, and nothing half-written left behind."""
import errno
import os
import shutil

import numpy as np
import pytest
from conftest import assert_one_line_error

TRAIN = ["train", "--epochs", "1", "--width", "4", "--quiet"]


@pytest.mark.parametrize("flags,message", [
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--width", "0"], "--width must be >= 1, got 0"),
    (["--model", "resnet", "--width", "1"], "width must be >= 2, got 1"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1), got 1.5"),
    (["--dropout", "nan"], "--dropout must be in [0, 1), got NaN"),
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--optimizer", "momentum", "--momentum", "-0.9"], "--momentum must be a finite number >= 0, got -0.9"),
    (["--weight-decay", "-0.0001"], "--weight-decay must be a finite number >= 0, got -0.0001"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got NaN"),
    (["--lr", "inf"], "--lr must be a finite number > 0, got Infinity"),
    (["--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
    (["--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--patience", "-1"], "--patience must be >= 0"),
    (["--model", "mlp", "--hidden", "64,0"], "--hidden must be comma-separated layer widths >= 1"),
    (["--out", ""], "--out must be a folder name, not empty"),
])
def test_a_train_flag_out_of_range_is_one_line(flags, message, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)  # (--out "" would mean the current folder)
    result = cli(*TRAIN, "--out", tmp_path / "runs", *flags)
    assert_one_line_error(result, message)
    assert "Errno" not in result.err
    assert not (tmp_path / "runs").exists()  # refused before a run folder is made


@pytest.mark.parametrize("argv,message", [
    (["xor", "--lr", "nan"], "--lr must be a finite number, got nan"),
    (["xor", "--lr", "-0.1"], "--lr must be > 0, got -0.1"),
    (["xor", "--hidden", "0"], "--hidden must be >= 1, got 0"),
    (["xor", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["xor", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["xor", "--lr", "1e300", "--epochs", "50"], "loss became nan at epoch 2"),
    (["tune", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["tune", "--workers", "100000"], "--workers must be <= "),
    (["word2vec", "corpus.txt", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["word2vec", "corpus.txt", "--lr", "inf"], "--lr must be a finite number, got inf"),
    (["word2vec", "corpus.txt", "--lr", "1e308", "--min-count", "1", "--dim", "4", "--epochs", "1", "--quiet"],
     "training diverged: the vectors hold NaN or infinite values"),
    (["word2vec", "corpus.txt", "--out", ""], "--out: give a file name"),
    (["word2vec", "corpus.txt", "--plot", "words.txt"], "--plot 'words.txt': the name must end in .png, .svg, .pdf"),
    (["word2vec", "corpus.txt", "--out", "corpus.txt"], "--out 'corpus.txt' is the input 'corpus.txt'"),
    (["graph", "--model", "mlp", "-o", "graph"], "-o 'graph': the name must end in .svg, .png, .pdf, .dot, .gv"),
    (["graph", "--model", "mlp", "-o", ""], "-o: give a file name"),
])
def test_other_commands_refuse_values_out_of_range(argv, message, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus.txt").write_text("a b c a b c a b a b d " * 20)
    before = (tmp_path / "corpus.txt").read_bytes()
    assert_one_line_error(cli(*argv), message)
    assert (tmp_path / "corpus.txt").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt"]  # nothing written


def test_train_out_naming_a_file_is_refused_and_the_file_kept(tmp_path, cli):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    assert_one_line_error(cli(*TRAIN, "--out", notes), "is a file; it must be the folder that holds the run folders")
    assert notes.read_text() == "mine"


@pytest.mark.parametrize("out", ["x.npy", "config.toml", "checkpoint.safetensors"])
def test_predict_out_naming_an_input_is_refused(out, finished_run, tmp_path, cli):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 1, 8, 8)))
    target = x if out == "x.npy" else run / out
    before = target.read_bytes()
    assert_one_line_error(cli("predict", run, x, "--out", target), "writing there would replace it")
    assert target.read_bytes() == before


def _read_only(monkeypatch, folder):
    """Writes under ``folder`` fail as on a read-only file system (EROFS; chmod does not stop root)."""
    real_open, real_mkdir = os.open, os.mkdir

    def inside(path) -> bool:
        return os.path.abspath(os.fsdecode(path)).startswith(str(folder))

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def guarded_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)


def test_a_read_only_output_folder_is_one_line(finished_run, inputs, tmp_path, monkeypatch, cli):
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    assert_one_line_error(cli("predict", finished_run, inputs, "--out", ro / "p.csv"),
                          f"{ro / 'p.csv'}: Read-only file system")
    assert_one_line_error(cli(*TRAIN, "--out", ro / "runs"), "Read-only file system")
    assert os.listdir(ro) == []


class _FullDisk:
    """A file object whose writes fail with ENOSPC, as on a full disk."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def test_a_full_disk_is_one_line_and_keeps_the_old_file(finished_run, inputs, tmp_path, monkeypatch, cli):
    out = tmp_path / "p.csv"
    out.write_text("old predictions\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k)))
    assert_one_line_error(cli("predict", finished_run, inputs, "--out", out), f"{out}: No space left on device")
    assert out.read_text() == "old predictions\n"
    assert_one_line_error(cli(*TRAIN, "--out", tmp_path / "runs"), "config.toml: No space left on device")
    assert sorted(os.listdir(tmp_path)) == ["p.csv", "runs", "x.npy"]
    (run,) = os.listdir(tmp_path / "runs")
    assert os.listdir(tmp_path / "runs" / run) == []  # no temporary file left


@pytest.mark.parametrize("old,new,message", [
    ("width = 4", "width = 8", "size mismatch for features.0.weight"),
    ('model = "cnn"', 'model = "mlp"', "Missing key(s) in state_dict"),
])
def test_evaluate_with_a_config_that_no_longer_fits_the_checkpoint(old, new, message, finished_run, tmp_path, cli):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    cfg = run / "config.toml"
    assert old in cfg.read_text()
    cfg.write_text(cfg.read_text().replace(old, new))
    for command in (["evaluate", run], ["predict", run, run / "x.npy"]):
        np.save(run / "x.npy", np.zeros((1, 64)))
        assert_one_line_error(cli(*command), "does not fit the model that config.toml describes", message)


def _save_text(path, text):
    path.write_text(text)


@pytest.mark.parametrize("name,write,message", [
    ("empty.npy", lambda p: np.save(p, np.zeros((0, 64))), "holds no samples (shape (0, 64))"),
    ("flat_empty.npy", lambda p: np.save(p, np.zeros(0)), "holds no samples (shape (0,))"),
    ("scalar.npy", lambda p: np.save(p, np.float32(3)), "holds a single number"),
    ("words.npy", lambda p: np.save(p, np.array(["a"] * 64)), "holds values of dtype <U1; predict needs numbers"),
    ("complex.npy", lambda p: np.save(p, np.ones((1, 64), np.complex64)), "holds values of dtype complex64"),
    ("objects.npy", lambda p: np.save(p, np.array([{}], dtype=object), allow_pickle=True),
     "holds Python objects, not numbers"),
    ("text.npy", lambda p: _save_text(p, "1,2,3\n"), "is not a .npy file"),
    ("truncated.npy", lambda p: p.write_bytes(b"\x93NUMPY\x01\x00"), "is not a readable .npy array"),
    ("nan.npy", lambda p: np.save(p, np.full((2, 64), np.nan)), "holds NaN or infinite values"),
    ("huge.npy", lambda p: np.save(p, np.full((1, 64), 1e300)), "holds NaN or infinite values (as float32)"),
    ("short.npy", lambda p: np.save(p, np.zeros((3, 10))), "each sample must have 64 values"),
    ("empty.csv", lambda p: _save_text(p, ""), "holds no samples"),
    ("words.csv", lambda p: _save_text(p, "a,b\n"), "every row must hold numbers"),
])
def test_predict_with_a_bad_input_file_is_one_line(name, write, message, finished_run, tmp_path, cli):
    path = tmp_path / name
    write(path)
    result = cli("predict", finished_run, path)
    assert_one_line_error(result, message)
    assert "allow_pickle" not in result.err and result.out == ""
