"""Checkpoints: safetensors round trips (exact), nested objects with JSON metadata, atomic writes,
clear errors for truncated / corrupt files, interoperability with plain safetensors files."""
import io
import os

import numpy as np
import pytest
import safetensors.numpy as stn

import lamina as L
import lamina.nn as nn
from lamina.io import CheckpointError, load, save


def model():
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))


def test_state_dict_round_trip_is_exact(tmp_path):
    m = model()
    m(L.randn(8, 3))  # update the BatchNorm statistics
    path = tmp_path / "m.safetensors"
    save(m.state_dict(), path)
    sd = load(path)
    assert list(sd) == list(m.state_dict())
    for k, v in m.state_dict().items():
        assert isinstance(sd[k], L.Tensor) and sd[k].dtype == v.dtype
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())
    m2 = model()
    m2.load_state_dict(sd)
    x = L.randn(4, 3)
    np.testing.assert_array_equal(m.eval()(x).numpy(), m2.eval()(x).numpy())
    # it is a plain safetensors file: other tools read it
    raw = stn.load_file(str(path))
    np.testing.assert_array_equal(raw["0.weight"], m[0].weight.numpy())
    assert not any(f.name.endswith(".tmp") for f in tmp_path.iterdir())  # no temp file left behind


def test_nested_training_state_round_trip(tmp_path):
    rng_state = np.random.default_rng(3).bit_generator.state  # 128-bit integers inside
    state = {
        "model": model().state_dict(),
        "optimizer": {"state": {0: {"momentum_buffer": L.randn(5, 3), "step": 7}, 1: {"step": 7}},
                      "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": False, "params": [0, 1],
                                        "name": None, "betas": (0.9, 0.999)}]},
        "epoch": 3, "best": float("inf"), "loss": 0.1 + 0.2, "rng": rng_state,
        "scalars": [np.float32(1.5), np.int64(7)], "mask": np.array([True, False]), "empty": np.zeros((0, 4)),
        "p": nn.Parameter(L.ones(2)), "scalar_tensor": L.tensor(2.5),
    }
    save(state, tmp_path / "ckpt.safetensors")
    back = load(tmp_path / "ckpt.safetensors")
    assert back["epoch"] == 3 and back["best"] == float("inf") and back["loss"] == 0.1 + 0.2
    assert back["rng"] == rng_state
    assert list(back["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    assert back["optimizer"]["state"][0]["step"] == 7
    np.testing.assert_array_equal(back["optimizer"]["state"][0]["momentum_buffer"].numpy(),
                                  state["optimizer"]["state"][0]["momentum_buffer"].numpy())
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["optimizer"]["param_groups"][0]["name"] is None
    assert back["scalars"][0] == np.float32(1.5) and back["scalars"][0].dtype == np.float32
    assert isinstance(back["mask"], np.ndarray) and back["mask"].tolist() == [True, False]
    assert back["empty"].shape == (0, 4)
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert back["scalar_tensor"].shape == () and back["scalar_tensor"].item() == 2.5
    back["mask"][0] = False  # loaded arrays are writable


def test_file_objects_and_foreign_safetensors(tmp_path):
    buf = io.BytesIO()
    save({"a": L.arange(3)}, buf)
    buf.seek(0)
    assert load(buf)["a"].tolist() == [0, 1, 2]
    stn.save_file({"w": np.ones((2, 2), np.float32), "b": np.zeros(2, np.float16)}, str(tmp_path / "other.st"))
    got = load(tmp_path / "other.st")
    assert set(got) == {"w", "b"} and got["b"].dtype == np.float16 and isinstance(got["w"], L.Tensor)


def test_truncated_and_corrupt_files_give_clear_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    save(model().state_dict(), path)
    data = path.read_bytes()
    for cut in (len(data) - 10, 100, 5, 0):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.safetensors.*(truncated|fewer than)"):
            load(bad)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="junk.safetensors.*not valid JSON"):
        load(junk)
    pickle_like = tmp_path / "torch.pt"
    pickle_like.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(CheckpointError, match="torch.pt"):
        load(pickle_like)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.safetensors")


def test_unsupported_values_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="builtin_function_or_method at 'a.f'"):
        save({"a": {"f": print}}, tmp_path / "x.safetensors")
    with pytest.raises(CheckpointError, match="dtype complex128"):
        save({"c": np.zeros(2, np.complex128)}, tmp_path / "x.safetensors")
    assert not os.path.exists(tmp_path / "x.safetensors")


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save({"w": L.ones(2)}, path)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save({"w": L.zeros(2)}, path)
    assert load(path)["w"].tolist() == [1.0, 1.0]  # the old checkpoint is intact
    assert [f.name for f in tmp_path.iterdir()] == ["m.safetensors"]


def test_top_level_names(tmp_path):
    assert L.save is save and L.load is load
    L.save({"w": L.ones(2)}, tmp_path / "a.safetensors")
    assert L.load(tmp_path / "a.safetensors")["w"].tolist() == [1.0, 1.0]
