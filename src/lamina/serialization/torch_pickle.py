"""Read the zip files that ``torch.save`` writes, without running any code they hold.

A ``torch.save`` file is a zip archive ``<name>/data.pkl`` (a pickle of the saved object),
``<name>/data/<key>`` (the raw bytes of each storage), ``<name>/byteorder`` and a few version
entries. A pickle is a small program: an ordinary unpickler imports and calls whatever the file
names, which is how a hostile checkpoint runs code. This reader follows PyTorch's
``weights_only=True`` contract instead: it builds only

* tensors (``torch._utils._rebuild_tensor_v2``) and parameters (``_rebuild_parameter``) over
  storages (``torch.FloatStorage``, ``torch.LongStorage``, ...), as lamina tensors;
* ``collections.OrderedDict`` / ``Counter``, ``torch.Size`` and bytes (``_codecs.encode``);
* plain values: dicts, lists, tuples, str, int, float, bool, None.

Any other global the pickle names (``os.system``, ``builtins.eval``, a class of the saving
program...) is refused with ``UnsafeCheckpointError`` before it is looked up, so nothing it
refers to is imported or called. A tensor's view (offset, sizes, strides) is checked to lie
inside its storage before it is read. bfloat16 storages become float32 (bfloat16 is the upper
half of a float32, so this is exact); everything loads on the CPU.
"""
from __future__ import annotations

import collections
import io
import math
import pickle
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Parameter, Tensor
from .errors import CheckpointError

__all__ = ["UnsafeCheckpointError", "is_torch_zip", "load_torch_zip"]

ZIP_MAGIC = b"PK\x03\x04"

# storage class name -> dtype of its elements ("bfloat16" is widened to float32 on load)
_STORAGES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
             "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
             "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
             "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128"}


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A torch checkpoint names something other than tensors, storages and plain values, or is malformed
    (a ``CheckpointError``, and the ``pickle.UnpicklingError`` that torch raises for a refused load)."""


class _StorageType:
    """What the pickle's ``torch.<X>Storage`` global stands for: the dtype of the storage's elements."""

    def __init__(self, name: str):
        self.name, self.dtype = name, _STORAGES[name]


def is_torch_zip(data: bytes) -> bool:
    """Whether ``data`` starts like a zip archive (``torch.save``'s format since PyTorch 1.6)."""
    return data[:4] == ZIP_MAGIC


def _bytes_from_latin1(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode(s, 'latin1')``: how protocol-2 pickles spell a bytes object."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeCheckpointError(f"_codecs.encode is allowed only as encode(str, 'latin1'), got "
                                    f"encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


def _torch_size(dims=()) -> tuple:
    return tuple(int(d) for d in dims)


def _check_view(name: str, numel: int, offset: int, size: tuple, stride: tuple) -> None:
    """Refuse a view that reads outside its storage (a crafted file could point anywhere in memory)."""
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size + stride):
        raise UnsafeCheckpointError(f"lamina.load: '{name}' is corrupt: tensor view with offset {offset}, "
                                    f"sizes {size}, strides {stride}")
    if math.prod(size) == 0:
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= numel:
        raise UnsafeCheckpointError(f"lamina.load: '{name}' is corrupt: a tensor view (offset {offset}, sizes "
                                    f"{size}, strides {stride}) reaches element {last} of a storage of {numel}")


def _widen_bfloat16(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


class _Reader(pickle.Unpickler):
    """An unpickler whose globals come from an allowlist and whose storages come from the zip."""

    def __init__(self, archive: zipfile.ZipFile, prefix: str, byteorder: str, name: str):
        super().__init__(io.BytesIO(archive.read(prefix + "data.pkl")))
        self.archive, self.prefix, self.byteorder, self.name = archive, prefix, byteorder, name
        self.storages: dict[str, tuple[np.ndarray, str]] = {}
        self.allowed: dict[tuple[str, str], Any] = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("collections", "Counter"): collections.Counter,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_tensor"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): self._rebuild_parameter,
            ("torch", "Size"): _torch_size,
            ("_codecs", "encode"): _bytes_from_latin1,
        }

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        found = self.allowed.get((module, name))
        if found is None:
            raise UnsafeCheckpointError(
                f"lamina.load: '{self.name}' asks to import {module}.{name}, which is not a tensor, storage, "
                "OrderedDict or plain value; lamina loads only those (the weights_only=True contract) and "
                "never runs code from a checkpoint. Nothing was imported or called.")
        return found

    def persistent_load(self, pid: Any) -> tuple[np.ndarray, str]:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise UnsafeCheckpointError(f"lamina.load: '{self.name}' holds an unknown persistent id {pid!r}")
        _, kind, key, _location, numel = pid
        key = str(key)
        if key not in self.storages:
            self.storages[key] = (self._read_storage(key, kind, int(numel)), kind.dtype)
        return self.storages[key]

    def _read_storage(self, key: str, kind: _StorageType, numel: int) -> np.ndarray:
        try:
            raw = self.archive.read(f"{self.prefix}data/{key}")
        except KeyError:
            raise UnsafeCheckpointError(f"lamina.load: '{self.name}' is corrupt: storage {key} is missing") from None
        dtype = np.dtype(np.uint16 if kind.dtype == "bfloat16" else kind.dtype)
        if len(raw) != numel * dtype.itemsize:
            raise UnsafeCheckpointError(f"lamina.load: '{self.name}' is corrupt: storage {key} ({kind.name}) "
                                        f"should hold {numel} elements but has {len(raw)} bytes")
        arr = np.frombuffer(raw, dtype=dtype.newbyteorder("<" if self.byteorder == "little" else ">"))
        return arr.astype(dtype.newbyteorder("="), copy=False)

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, *_hooks_and_metadata) -> Tensor:
        if not (isinstance(storage, tuple) and len(storage) == 2 and isinstance(storage[0], np.ndarray)):
            raise UnsafeCheckpointError(f"lamina.load: '{self.name}' rebuilds a tensor from {type(storage).__name__}, "
                                        "not from a storage")
        arr, dtype = storage
        size, stride = _torch_size(size), _torch_size(stride)
        _check_view(self.name, arr.size, int(offset), size, stride)
        item = arr.itemsize
        view = np.lib.stride_tricks.as_strided(arr[int(offset):], shape=size,
                                               strides=tuple(s * item for s in stride), writeable=False)
        out = np.array(view, copy=True)
        if dtype == "bfloat16":
            out = _widen_bfloat16(out)
        t = Tensor._make(out)
        if requires_grad:
            t.requires_grad_(True)
        return t

    @staticmethod
    def _rebuild_parameter(data, requires_grad=True, *_backward_hooks) -> Parameter:
        if not isinstance(data, Tensor):
            raise UnsafeCheckpointError(f"a parameter is rebuilt from {type(data).__name__}, not from a tensor")
        return Parameter(data, requires_grad=bool(requires_grad))


def _check_map_location(map_location: Any) -> None:
    """lamina computes on the CPU: accept what maps everything there (None, 'cpu', a cpu device, a dict)."""
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        if target is None or callable(target):   # a function is not called: storages stay on the CPU
            continue
        if not str(target).startswith("cpu"):
            raise ValueError(f"lamina.load: map_location={map_location!r}: lamina computes on the CPU only; "
                             "use map_location='cpu' or leave it out")


def load_torch_zip(data: bytes, name: str = "<bytes>", map_location: Any = None,
                   weights_only: bool | None = True) -> Any:
    """The object a ``torch.save`` zip file holds, with tensors as lamina tensors.

    ``map_location``: as ``torch.load``'s, as long as it maps to the CPU (storages are read into
    host memory whatever device they were saved from). ``weights_only=False`` is refused: lamina
    never executes a pickle, so the only load it offers is the safe one."""
    if weights_only is False:
        raise ValueError("lamina.load: weights_only=False would execute the checkpoint's pickle; lamina only "
                         "loads tensors, storages and plain values (weights_only=True)")
    _check_map_location(map_location)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise UnsafeCheckpointError(f"lamina.load: '{name}' starts like a zip file but is not one ({e})") from None
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise UnsafeCheckpointError(f"lamina.load: '{name}' is a zip file but not a torch.save archive "
                                        "(no <name>/data.pkl entry)")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = _read_text(archive, prefix + "byteorder", "little")
        if byteorder not in ("little", "big"):
            raise UnsafeCheckpointError(f"lamina.load: '{name}' has an unknown byte order {byteorder!r}")
        reader = _Reader(archive, prefix, byteorder, name)
        return _run(reader.load, name)


def _read_text(archive: zipfile.ZipFile, entry: str, default: str) -> str:
    try:
        return archive.read(entry).decode("ascii").strip()
    except KeyError:
        return default


def _run(load: Callable[[], Any], name: str) -> Any:
    try:
        return load()
    except UnsafeCheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise UnsafeCheckpointError(f"lamina.load: '{name}' is not a readable torch checkpoint: "
                                    f"{type(e).__name__}: {e}") from None
