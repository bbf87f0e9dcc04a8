"""lamina._atomic: a write either replaces the whole file or leaves the old one, with no temporary file left."""
import os
import stat

import pytest
from matplotlib.figure import Figure

from lamina._atomic import atomic_open, atomic_savefig, atomic_write


def test_write_bytes_and_text_exactly(tmp_path):
    atomic_write(tmp_path / "a.bin", b"\x00\x01\r\n")
    atomic_write(tmp_path / "b.txt", "é\nline\r\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01\r\n"
    assert (tmp_path / "b.txt").read_bytes() == "é\nline\r\n".encode()  # UTF-8, newlines as written
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.txt"]


def test_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o644


def test_error_in_block_keeps_old_file_and_removes_temporary(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write(path, "old")
    with pytest.raises(RuntimeError, match="half way"):
        with atomic_open(path, "w", encoding="utf-8") as f:
            f.write("new, but")
            raise RuntimeError("half way")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_failing_rename_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.bin"
    atomic_write(path, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_missing_folder_is_created_or_refused(tmp_path):
    atomic_write(tmp_path / "new" / "deep" / "a.bin", b"x")
    assert (tmp_path / "new" / "deep" / "a.bin").read_bytes() == b"x"
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "a.bin", b"x", parents=False)
    assert not (tmp_path / "missing").exists()


def test_only_write_modes(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_open(tmp_path / "a.txt", "a"):
            pass


def test_savefig_takes_the_format_from_the_extension(tmp_path):
    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    atomic_savefig(fig, tmp_path / "f.svg")
    atomic_savefig(fig, tmp_path / "f.png", dpi=20)
    assert b"<svg" in (tmp_path / "f.svg").read_bytes()
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["f.png", "f.svg"]
