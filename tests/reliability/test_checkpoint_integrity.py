"""Checkpoints carry a SHA-256 of their contents: a flipped bit in the data or the header, a renamed tensor or an
edited epoch is a clear error at load, never a silently different object; files without the checksum load."""
import json
import struct

import numpy as np
import pytest
import safetensors.numpy as stn

import lamina as L
import lamina.nn as nn
from lamina.io import CheckpointError


def _checkpoint(path):
    """A nested training checkpoint like ModelCheckpoint's: model, optimizer state, epoch, best score."""
    L.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    state = {"epoch": 3, "best": 0.25, "model": model.state_dict(),
             "optimizer": {"state": {0: {"step": 7, "exp_avg": L.ones(4, 3)}}, "param_groups": [{"lr": 0.01}]}}
    L.save(state, path)
    return state


def _split(raw: bytes):
    (n,) = struct.unpack("<Q", raw[:8])
    return n, raw[8:8 + n], raw[8 + n:]


def _same(a, b) -> bool:
    """Equal nested objects, tensors compared by dtype, shape and values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, L.Tensor):
        return a.dtype == b.dtype and np.array_equal(a.numpy(), b.numpy())
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_every_flipped_bit_of_the_data_is_an_error(tmp_path):
    path = tmp_path / "c.safetensors"
    _checkpoint(path)
    raw = path.read_bytes()
    n, _, data = _split(raw)
    rng = np.random.default_rng(0)
    for i in range(len(data)):
        flipped = bytearray(raw)
        flipped[8 + n + i] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match="do not match the SHA-256 checksum"):
            L.load(path)


def test_a_flipped_bit_of_the_header_never_loads_a_different_object(tmp_path):
    path = tmp_path / "c.safetensors"
    _checkpoint(path)
    raw = path.read_bytes()
    original = L.load(path)
    n, _, _ = _split(raw)
    rng = np.random.default_rng(1)
    loaded_intact = 0
    for i in range(n):  # one random bit of every header byte
        flipped = bytearray(raw)
        flipped[8 + i] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        try:
            back = L.load(path)
        except CheckpointError:
            continue
        assert _same(back, original), f"byte {i} of the header: a different object loaded silently"
        loaded_intact += 1
    assert loaded_intact < n // 20  # (flips inside JSON whitespace-free text almost always break something)


@pytest.mark.parametrize("edit", ["epoch", "tensor name", "format"])
def test_an_edited_header_is_an_error(edit, tmp_path):
    path = tmp_path / "c.safetensors"
    _checkpoint(path)
    n, header, data = _split(path.read_bytes())
    old, new = {"epoch": (b'[\\"epoch\\", 3]', b'[\\"epoch\\", 4]'), "tensor name": (b'"model.0.bias"', b'"model.0.bia_"'),
                "format": (b'"format":"lamina"', b'"format":"lamin_"')}[edit]
    assert header.count(old) >= 1, header
    edited = header.replace(old, new)
    path.write_bytes(struct.pack("<Q", len(edited)) + edited + data)
    with pytest.raises(CheckpointError, match="corrupt"):
        L.load(path)


def test_a_file_written_before_checksums_still_loads(tmp_path):
    """The layout of lamina's files without the checksum entry (what earlier versions wrote)."""
    structure = {"D": [["epoch", 2], ["w", {"T": "w", "kind": "tensor"}]]}
    path = tmp_path / "old.safetensors"
    stn.save_file({"w": np.arange(3, dtype=np.float32)}, str(path),
                  metadata={"format": "lamina", "lamina.structure": json.dumps(structure)})
    back = L.load(path)
    assert back["epoch"] == 2 and back["w"].tolist() == [0.0, 1.0, 2.0]


def test_foreign_files_and_their_metadata_load_unchecked(tmp_path):
    path = tmp_path / "foreign.safetensors"
    stn.save_file({"a": np.ones(2, np.float32)}, str(path), metadata={"source": "another tool"})
    assert L.load(path)["a"].tolist() == [1.0, 1.0]


def test_user_metadata_is_covered_by_the_checksum(tmp_path):
    path = tmp_path / "m.safetensors"
    L.save({"w": L.ones(2)}, path, metadata={"note": "run 7"})
    n, header, data = _split(path.read_bytes())
    edited = header.replace(b'"run 7"', b'"run 8"')
    path.write_bytes(struct.pack("<Q", n) + edited + data)
    with pytest.raises(CheckpointError, match="checksum"):
        L.load(path)


@pytest.mark.parametrize("obj", [{"__metadata__": L.ones(2)}, {"__metadata__": {"a": 1}, "w": L.ones(1)}])
def test_the_reserved_metadata_key_is_refused_at_save(obj, tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(CheckpointError, match="'__metadata__' is reserved"):
        L.save(obj, path)
    assert not path.exists()


@pytest.mark.parametrize("key", ["format", "lamina.structure", "lamina.sha256"])
def test_metadata_entries_lamina_writes_are_refused(key, tmp_path):
    with pytest.raises(CheckpointError, match=f"metadata key '{key}' is reserved"):
        L.save({"w": L.ones(1)}, tmp_path / "x.safetensors", metadata={key: "x"})
