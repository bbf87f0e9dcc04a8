"""lamina.load reads torch.save zip files safely, and safetensors files written with torch."""
import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn as tnn
from torch_twins import TorchLeNet5

import lamina
from lamina.models import LeNet5, ResNet
from lamina.serialization import UnsafeCheckpointError


# ----------------------------------------------------------------------------- torch twins of lamina models
class TorchBasicBlock(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet18(tnn.Module):
    """torchvision's ResNet-18 layout (conv1, bn1, layer1..4, fc) with a 3×3 'cifar' stem."""

    def __init__(self, width=8, num_classes=10):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(width)
        self.relu = tnn.ReLU()
        planes = width
        for i in range(4):
            out = width * 2 ** i
            setattr(self, f"layer{i + 1}", tnn.Sequential(TorchBasicBlock(planes, out, 1 if i == 0 else 2),
                                                          TorchBasicBlock(out, out, 1)))
            planes = out
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(planes, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _randomise_batchnorm(model, rng):
    """Non-trivial running statistics and affine parameters, so eval-mode outputs test them."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.copy_(torch.from_numpy(rng.normal(0, 0.1, m.num_features).astype(np.float32)))
                m.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, m.num_features).astype(np.float32)))
                m.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, m.num_features).astype(np.float32)))
                m.bias.copy_(torch.from_numpy(rng.normal(0, 0.1, m.num_features).astype(np.float32)))
                m.num_batches_tracked.fill_(7)


def _outputs_match(torch_model, lamina_model, x):
    torch_model.eval()
    lamina_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with lamina.no_grad():
        got = lamina_model(lamina.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_lenet_state_dict_saved_by_torch_loads_into_lamina_lenet5(tmp_path):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    tmodel = TorchLeNet5().float()
    path = tmp_path / "lenet.pt"
    torch.save(tmodel.state_dict(), path)
    state = lamina.load(str(path))
    assert isinstance(state, collections.OrderedDict)
    assert list(state) == list(LeNet5().state_dict())
    model = LeNet5()
    model.load_state_dict(state)
    _outputs_match(tmodel, model, rng.normal(size=(4, 1, 28, 28)).astype(np.float32))


def test_resnet18_state_dict_saved_by_torch_loads_into_lamina_resnet(tmp_path):
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    tmodel = TorchResNet18(width=8).float()
    _randomise_batchnorm(tmodel, rng)
    path = tmp_path / "resnet18.pt"
    torch.save(tmodel.state_dict(), path)
    model = ResNet((2, 2, 2, 2), num_classes=10, stem="cifar", width=8)
    state = lamina.load(path, map_location="cpu", weights_only=True)
    assert sorted(state) == sorted(model.state_dict())
    assert state["bn1.num_batches_tracked"].dtype == np.int64
    model.load_state_dict(state)
    _outputs_match(tmodel, model, rng.normal(size=(2, 3, 16, 16)).astype(np.float32))


def test_torch_views_dtypes_and_plain_values_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    base = torch.from_numpy(rng.normal(size=(4, 6)).astype(np.float32))
    obj = {"view": base[1:, ::2], "t": base.t(), "half": base.half(), "bf16": base.to(torch.bfloat16),
           "long": torch.arange(5), "flag": torch.tensor([True, False]), "param": tnn.Parameter(base[0]),
           "meta": {"epoch": 3, "lr": 0.1, "name": "run", "shape": torch.Size([2, 3]), "raw": b"\x00\xff",
                    "pair": (1, None), "list": [1.5, "x"]}}
    path = tmp_path / "mixed.pt"
    torch.save(obj, path)
    got = lamina.load(path)
    np.testing.assert_array_equal(got["view"].numpy(), base[1:, ::2].numpy())
    np.testing.assert_array_equal(got["t"].numpy(), base.t().numpy())
    assert got["half"].dtype == np.float16
    np.testing.assert_array_equal(got["half"].numpy(), base.half().numpy())
    assert got["bf16"].dtype == np.float32    # bfloat16 widened exactly
    np.testing.assert_array_equal(got["bf16"].numpy(), base.to(torch.bfloat16).float().numpy())
    np.testing.assert_array_equal(got["long"].numpy(), np.arange(5))
    np.testing.assert_array_equal(got["flag"].numpy(), [True, False])
    assert isinstance(got["param"], lamina.nn.Parameter) and got["param"].requires_grad
    assert got["meta"] == {"epoch": 3, "lr": 0.1, "name": "run", "shape": (2, 3), "raw": b"\x00\xff",
                           "pair": (1, None), "list": [1.5, "x"]}


class _Payload:
    """What a hostile checkpoint pickles: unpickling it calls os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _hostile_zip(path, marker):
    """A torch.save archive whose data.pkl would create ``marker`` when unpickled."""
    buf = io.BytesIO()
    torch.save({"weight": torch.ones(2)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        for entry in src.namelist():
            data = src.read(entry)
            if entry.endswith("data.pkl"):
                data = pickle.dumps({"weight": _Payload(marker)}, protocol=2)
            out.writestr(entry, data)


def test_a_hostile_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    _hostile_zip(path, marker)
    with pytest.raises(UnsafeCheckpointError, match=r"(posix|os)\.system.*never runs code"):
        lamina.load(path)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):    # what torch code catches for a weights_only refusal
        lamina.load(path)
    with pytest.raises(lamina.io.CheckpointError):  # what lamina code catches for any unreadable checkpoint
        lamina.load(path)
    assert not marker.exists()
    payload = zipfile.ZipFile(path).read(next(n for n in zipfile.ZipFile(path).namelist() if n.endswith("data.pkl")))
    pickle.loads(payload)                           # the payload is real: a plain unpickler runs it
    assert marker.exists()


def test_a_view_outside_its_storage_is_refused(tmp_path):
    buf = io.BytesIO()
    torch.save(torch.ones(3), buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    path = tmp_path / "oob.pt"
    with zipfile.ZipFile(path, "w") as out:
        for entry in src.namelist():
            data = src.read(entry)
            if entry.endswith("data.pkl"):    # sizes (3,) -> (3000,): a read past the 3 stored floats
                data = data.replace(b"K\x03\x85", b"M\xb8\x0b\x85", 1)
            out.writestr(entry, data)
    with pytest.raises(UnsafeCheckpointError, match="reaches element 2999 of a storage of 3"):
        lamina.load(path)


def test_torch_load_arguments_are_accepted_and_non_cpu_targets_refused(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.arange(3.0)}, path)
    for ml in (None, "cpu", torch.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        np.testing.assert_array_equal(lamina.load(path, map_location=ml)["w"].numpy(), [0, 1, 2])
    with open(path, "rb") as f:
        np.testing.assert_array_equal(lamina.load(f, weights_only=True)["w"].numpy(), [0, 1, 2])
    with pytest.raises(ValueError, match="CPU only"):
        lamina.load(path, map_location="cuda:0")
    with pytest.raises(ValueError, match="weights_only=False would execute"):
        lamina.load(path, weights_only=False)


def test_a_zip_that_is_not_a_torch_archive_is_refused(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(UnsafeCheckpointError, match="not a torch.save archive"):
        lamina.load(path)


def test_safetensors_written_by_torch_users_load(tmp_path):
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    tmodel = TorchLeNet5().float()
    path = tmp_path / "lenet.safetensors"
    safetensors.torch.save_file(tmodel.state_dict(), str(path), metadata={"format": "pt"})
    model = LeNet5()
    model.load_state_dict(lamina.load(path))
    _outputs_match(tmodel, model, rng.normal(size=(3, 1, 28, 28)).astype(np.float32))
    half = tmp_path / "half.safetensors"
    safetensors.torch.save_file({"h": torch.arange(4, dtype=torch.float16)}, str(half))
    got = lamina.load(half)["h"]
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got.numpy(), [0, 1, 2, 3])
