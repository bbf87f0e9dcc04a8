"""Output paths (``predict --out``, ``word2vec --out``, ``graph -o``, ``lamina.save``): what is at the path is
treated as ``open(path, "w")`` would — a symlink is written through, a special file is refused, permissions
follow the umask or stay — and a killed save's temporary file is removed by the next save of that target."""
import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_one_line_error

import lamina as L
from lamina._atomic import atomic_write

SRC = os.path.dirname(os.path.dirname(L.__file__))  # the lamina under test, for the child processes


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    words = rng.choice(["cat", "dog", "red", "blue", "one", "two"], 400)
    path = tmp_path / "corpus.txt"
    path.write_text(" ".join(words), encoding="utf-8")
    return path


def _writers(finished_run, inputs, corpus):
    """Each output path of the CLI and the library: a function that writes to ``path`` and returns the CLI's
    exit code (0 for the library call)."""
    return {
        "predict --out": lambda cli, path: cli("predict", finished_run, inputs, "--out", path).code,
        "word2vec --out": lambda cli, path: cli("word2vec", corpus, "--dim", "4", "--epochs", "1", "--min-count", "1",
                                                "--quiet", "--out", path).code,
        "graph -o": lambda cli, path: cli("graph", "--model", "mlp", "-o", path).code,
        "lamina.save": lambda cli, path: L.save({"w": L.ones(2)}, path) or 0,
    }


WRITERS = ["predict --out", "word2vec --out", "graph -o", "lamina.save"]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_symlink_is_written_through_to_its_target(writer, finished_run, inputs, corpus, tmp_path, cli):
    target = tmp_path / "real" / "out.dot"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.dot"
    link.symlink_to(target)
    assert _writers(finished_run, inputs, corpus)[writer](cli, str(link)) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != b"old" and target.stat().st_size > 0
    assert sorted(os.listdir(target.parent)) == ["out.dot"]  # no temporary left beside the target


@pytest.mark.parametrize("kind", ["named pipe", "character device", "directory"])
@pytest.mark.parametrize("writer", WRITERS)
def test_a_special_file_is_refused_and_left_alone(writer, kind, finished_run, inputs, corpus, tmp_path, cli):
    if kind == "named pipe":
        path = tmp_path / "fifo.dot"
        os.mkfifo(path)
    elif kind == "character device":  # a link to /dev/null: the device itself is never written
        path = tmp_path / "null.dot"
        path.symlink_to("/dev/null")
    else:
        path = tmp_path / "folder.dot"
        path.mkdir()
    before = os.stat(path).st_mode
    if writer == "lamina.save":
        with pytest.raises(OSError, match=kind.split()[-1]):  # NotARegularFileError, IsADirectoryError
            L.save({"w": L.ones(2)}, path)
    else:
        assert _writers(finished_run, inputs, corpus)[writer](cli, str(path)) == 2
    assert os.stat(path).st_mode == before
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_the_refusal_is_one_line(finished_run, inputs, tmp_path, cli):
    os.mkfifo(tmp_path / "p.csv")
    assert_one_line_error(cli("predict", finished_run, inputs, "--out", tmp_path / "p.csv"),
                          "is a named pipe, not a regular file")


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", "x")
        kept = tmp_path / "kept.txt"
        kept.write_text("old")
        os.chmod(kept, 0o604)
        L.save({"w": L.ones(1)}, kept)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o604


# A process that saves to argv[1] and stops inside the write (its temporary file exists), until killed.
_STUCK_SAVER = """
import os, sys, time
import lamina as L
def stuck(fd):
    print("writing", flush=True)
    time.sleep(600)
os.fsync = stuck
L.save({"w": L.ones(1000)}, sys.argv[1])
"""


def _stuck_saver(target):
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-c", _STUCK_SAVER, str(target)], stdout=subprocess.PIPE, env=env,
                            text=True)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def test_the_next_save_removes_the_temporary_of_a_killed_save_but_not_of_a_running_one(tmp_path):
    target = tmp_path / "ckpt.safetensors"
    L.save({"w": L.zeros(3)}, target)
    proc = _stuck_saver(target)
    try:
        (temporary,) = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
        L.save({"w": L.ones(3)}, target)  # the writer is alive: its temporary stays
        assert temporary in os.listdir(tmp_path)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert temporary in os.listdir(tmp_path)  # what kill -9 leaves
    other = tmp_path / "other.safetensors"
    L.save({"w": L.ones(3)}, other)  # another target's save leaves it
    assert temporary in os.listdir(tmp_path)
    L.save({"w": L.full((3,), 2.0)}, target)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors", "other.safetensors"]
    assert L.load(target)["w"].tolist() == [2.0, 2.0, 2.0]


def test_repeated_killed_saves_never_pile_up(tmp_path):
    target = tmp_path / "m.safetensors"
    for _ in range(3):  # each save removes the temporary of the save killed before it
        proc = _stuck_saver(target)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(os.listdir(tmp_path)) == 1
    L.save({"w": L.ones(1)}, target)
    assert os.listdir(tmp_path) == ["m.safetensors"]
