"""``lamina train --resume RUN_DIR``: a run interrupted after any epoch (the folder as a kill leaves it,
and one real SIGKILL of a training process) resumes to the folder an uninterrupted run writes, file for file.

The run: an MLP on 300 digits with momentum SGD at a high rate, early stopping (patience 4, best weights
restored), the plateau schedule and best-epoch checkpointing; it stops early at epoch 9 of 12, after the
plateau schedule has cut the rate, with its best epoch (4) not its last.  Compared byte for byte:
config.toml (but for ``out``, the parent folder, where two runs are written to different ones),
history.csv, checkpoint.safetensors, curves.png and confusion.png (matplotlib writes no timestamp into
a PNG), and metrics.json but for ``train_seconds`` (wall-clock time of the session).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import assert_one_line_error, run_cli, small_digits

import lamina.cli
import lamina.runs
import lamina.train
import lamina.train.callbacks

FLAGS = ["--model", "mlp", "--hidden", "16", "--epochs", "12", "--patience", "4", "--schedule", "plateau",
         "--optimizer", "momentum", "--lr", "0.5", "--batch-size", "32", "--dropout", "0.1", "--quiet"]
FILES = {"config.toml", "history.csv", "metrics.json", "checkpoint.safetensors", "curves.png", "confusion.png"}


def _files(run_dir, figures=True) -> dict:
    """Every file of a run folder (the figures only when ``figures``); metrics.json without train_seconds,
    config.toml without the parent folder it was written into."""
    out = {}
    for name in sorted(os.listdir(run_dir)):
        if name.endswith(".png") and not figures:
            continue
        data = open(os.path.join(run_dir, name), "rb").read()
        if name == "metrics.json":
            metrics = json.loads(data)
            metrics.pop("train_seconds")
            data = json.dumps(metrics, sort_keys=True).encode()
        if name == "config.toml":
            data = b"".join(line for line in data.splitlines(True) if not line.startswith(b"out = "))
        out[name] = data
    return out


def _only_run(out) -> str:
    (name,) = os.listdir(out)
    return os.path.join(out, name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run, and a copy of its folder taken right after each epoch's checkpoint was written
    (what a process killed from then until the next epoch's checkpoint leaves behind)."""
    out = tmp_path_factory.mktemp("reference")
    snaps = tmp_path_factory.mktemp("snapshots")
    real_save = lamina.train.callbacks.save_checkpoint

    def save_and_snapshot(path, trainer, epoch=None):
        real_save(path, trainer, epoch)
        if path.endswith("last.safetensors"):
            shutil.copytree(os.path.dirname(path), snaps / f"after-epoch-{epoch}")
        return path

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lamina.runs, "digits", small_digits)
        mp.setattr(lamina.train.callbacks, "save_checkpoint", save_and_snapshot)
        assert lamina.cli.main(["train", *FLAGS, "--out", str(out)]) == 0
    run_dir = _only_run(out)
    snapshots = sorted((str(p) for p in snaps.iterdir()), key=lambda p: int(p.rsplit("-", 1)[1]))
    return run_dir, snapshots


def test_the_reference_run_stops_early_after_a_plateau_cut(reference):
    run_dir, snapshots = reference
    files = _files(run_dir)
    assert set(files) == FILES
    metrics = json.loads(files["metrics.json"])
    rows = files["history.csv"].decode().splitlines()[1:]
    lrs = [float(r.split(",")[-1]) for r in rows]
    val = [float(r.split(",")[3]) for r in rows]
    assert metrics["epochs_run"] == len(snapshots) == len(rows) < 12       # early stopping ended it
    assert lrs[0] == 0.5 and lrs[-1] < 0.5                                  # the plateau schedule cut the rate
    assert val.index(min(val)) < len(val) - 1                               # the best epoch is not the last
    assert metrics["best_val_loss"] == min(val)


def test_resume_after_every_epoch_gives_the_uninterrupted_folder(reference, fast_digits, capsys, tmp_path,
                                                                 monkeypatch):
    """The figures (drawn from history.csv and the best checkpoint, both compared each time) are drawn and
    compared after two of the epochs only: matplotlib takes most of a resumed run's time."""
    run_dir, snapshots = reference
    expected = _files(run_dir)
    draw = {0, len(snapshots) // 2}
    real_plot, real_confusion = lamina.train.History.plot, lamina.train.plot_confusion_matrix
    for k, snap in enumerate(snapshots):
        figures = k in draw
        monkeypatch.setattr(lamina.train.History, "plot", real_plot if figures else lambda *a, **kw: None)
        monkeypatch.setattr(lamina.train, "plot_confusion_matrix", real_confusion if figures else
                            lambda *a, **kw: None)
        folder = tmp_path / os.path.basename(snap)
        shutil.copytree(snap, folder)
        result = run_cli(["train", "--resume", str(folder), "--quiet"], capsys)
        assert result.code == 0, result.err
        got = _files(folder)
        want = {n: v for n, v in expected.items() if figures or not n.endswith(".png")}
        assert got.keys() == want.keys(), snap
        for name in want:
            assert got[name] == want[name], (snap, name)


def test_resume_after_a_sigkill(reference, fast_digits, capsys, tmp_path):
    """A real training process, killed with SIGKILL as soon as its first checkpoint is on disk."""
    run_dir, _ = reference
    out = tmp_path / "runs"
    src = os.path.join(os.path.dirname(lamina.__file__), os.pardir)
    script = ("import sys, lamina.runs, lamina.cli; from lamina.datasets import digits; "
              "lamina.runs.digits = lambda: tuple(a[:300] for a in digits()); "
              f"sys.exit(lamina.cli.main(['train', *{FLAGS!r}, '--out', {str(out)!r}]))")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and any(os.path.exists(os.path.join(out, d, "last.safetensors")) for d in os.listdir(out)):
                break
            time.sleep(0.005)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    folder = _only_run(out)
    assert not os.path.exists(os.path.join(folder, "metrics.json"))       # it was killed mid-run
    result = run_cli(["train", "--resume", folder, "--quiet"], capsys)
    assert result.code == 0, result.err
    assert _files(folder) == _files(run_dir)


def test_resume_refuses_other_settings_and_finished_runs(reference, fast_digits, capsys, tmp_path):
    run_dir, snapshots = reference
    folder = tmp_path / "interrupted"
    shutil.copytree(snapshots[1], folder)
    differ = run_cli(["train", "--resume", str(folder), "--epochs", "20", "--lr", "0.1", "--quiet"], capsys)
    assert_one_line_error(differ, "differ from the run's config.toml", "epochs = 20 (the run has 12)",
                          "lr = 0.1 (the run has 0.5)")
    config = tmp_path / "other.toml"
    config.write_text(open(os.path.join(folder, "config.toml")).read().replace("seed = 0", "seed = 3"))
    assert_one_line_error(run_cli(["train", "--resume", str(folder), "--config", str(config)], capsys),
                          "seed = 3 (the run has 0)")
    assert_one_line_error(run_cli(["train", "--resume", run_dir, "--quiet"], capsys), "the run is finished")
    assert_one_line_error(run_cli(["train", "--resume", str(tmp_path / "nope")], capsys), "no such run folder")
    os.remove(folder / "config.toml")
    assert_one_line_error(run_cli(["train", "--resume", str(folder)], capsys), "config.toml is missing")


def test_resume_with_the_same_settings_given_again(reference, fast_digits, capsys, tmp_path, monkeypatch):
    run_dir, snapshots = reference
    monkeypatch.setattr(lamina.train.History, "plot", lambda *a, **kw: None)
    monkeypatch.setattr(lamina.train, "plot_confusion_matrix", lambda *a, **kw: None)
    folder = tmp_path / "interrupted"
    shutil.copytree(snapshots[-3], folder)
    same = run_cli(["train", "--resume", str(folder), *FLAGS, "--out", os.path.dirname(run_dir)], capsys)
    assert same.code == 0, same.err
    assert _files(folder) == _files(run_dir, figures=False)
