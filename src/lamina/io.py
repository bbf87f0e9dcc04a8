"""Checkpoints: ``lamina.save(obj, path)`` / ``lamina.load(path)`` in the safetensors format.

A safetensors file is an 8-byte header length, a JSON header (names, dtypes, shapes, byte offsets and
a string-to-string ``__metadata__``), then raw little-endian tensor bytes. Loading parses data only:
no code runs (no pickle), so a checkpoint from anyone is safe to open.

``obj`` may be a state_dict or any nesting of dicts, lists and tuples holding tensors / NumPy arrays
and JSON-able values (str, int, float, bool, None, NumPy scalars) — e.g. model, optimizer, scheduler
and RNG state in one file. Tensors are stored under their dotted path ('model.0.weight'); the nesting
and the other values go, as JSON, in the metadata entry ``lamina.structure``. ``load`` rebuilds the
same object (tensors come back as lamina tensors, arrays as arrays, exactly). A safetensors file
written by another tool loads as a flat dict of name -> lamina tensor.

Files are written atomically: to a temporary file in the same folder, then renamed over the target,
so an interrupted save never leaves a half-written checkpoint.

Integrity: ``save`` stores ``lamina.sha256`` in the metadata, the SHA-256 of every other metadata entry
(as sorted JSON) and of each tensor's name, dtype, shape and bytes, in name order. ``load`` recomputes it
and raises :class:`CheckpointError` on a mismatch, so a flipped bit in the data, a renamed tensor or an
edited entry of the structure (an epoch, a nesting) is reported, never loaded. Files without the entry
(written by other tools, or by lamina before it stored checksums) load unchecked.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from ._atomic import atomic_write
from .serialization import CheckpointError, is_torch_zip, load_torch_zip
from .tensor import Parameter, Tensor

__all__ = ["save", "load", "CheckpointError"]

_FORMAT = "lamina"
_STRUCT_KEY = "lamina.structure"
_CHECKSUM_KEY = "lamina.sha256"
_RESERVED_METADATA = ("format", _STRUCT_KEY, _CHECKSUM_KEY)
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "U64": np.uint64,
           "I32": np.int32, "U32": np.uint32, "I16": np.int16, "U16": np.uint16, "I8": np.int8, "U8": np.uint8,
           "BOOL": np.bool_, "C64": np.complex64}
_SUPPORTED = {np.dtype(d) for d in _DTYPES.values()}


# ---------------------------------------------------------------------------- encoding
def _child(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


class _Encoder:
    def __init__(self) -> None:
        self.tensors: OrderedDict[str, np.ndarray] = OrderedDict()

    def _name(self, path: str) -> str:
        name, k = path or "tensor", 1
        while name in self.tensors:
            name = f"{path}#{k}"
            k += 1
        return name

    def _array(self, obj: Tensor | np.ndarray, path: str) -> dict:
        arr = obj._data if isinstance(obj, Tensor) else obj
        if arr.dtype not in _SUPPORTED:
            raise CheckpointError(f"lamina.save: the array at '{path}' has dtype {arr.dtype}, which safetensors "
                                  f"cannot store (supported: {', '.join(sorted(str(d) for d in _SUPPORTED))})")
        name = self._name(path)
        self.tensors[name] = np.asarray(arr, order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
        kind = "parameter" if isinstance(obj, Parameter) else "tensor" if isinstance(obj, Tensor) else "ndarray"
        entry: dict[str, str | bool] = {"T": name, "kind": kind}
        if isinstance(obj, Tensor) and obj.requires_grad:
            entry["requires_grad"] = True
        return entry

    def _dict(self, obj: dict, path: str) -> dict:
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (str, bool, int, float))):
                raise CheckpointError(f"lamina.save: dict key {k!r} at '{path}' must be a str, int, float, "
                                      f"bool or None, got {type(k).__name__}")
            items.append([k, self.encode(v, _child(path, k))])
        return {"D": items}

    def encode(self, obj, path: str):
        """The JSON structure of ``obj``; its arrays go to ``self.tensors`` under their dotted paths."""
        if isinstance(obj, (Tensor, np.ndarray)):
            return self._array(obj, path)
        if isinstance(obj, dict):
            return self._dict(obj, path)
        if isinstance(obj, (list, tuple)):
            tag = "L" if isinstance(obj, list) else "U"
            return {tag: [self.encode(v, _child(path, i)) for i, v in enumerate(obj)]}
        if obj is None or isinstance(obj, (str, bool, int, float)):
            return obj
        if isinstance(obj, np.generic):
            return {"S": obj.item(), "dtype": obj.dtype.str}
        raise CheckpointError(f"lamina.save: cannot store a value of type {type(obj).__name__} at '{path}' "
                              "(supported: tensors, NumPy arrays and scalars, dict, list, tuple, str, int, float, "
                              "bool, None)")


def _decode_array(node: dict, tensors: dict):
    arr = tensors[node["T"]]
    kind = node.get("kind", "tensor")
    if kind == "ndarray":
        return arr
    if kind == "parameter":
        return Parameter(Tensor._make(arr), requires_grad=node.get("requires_grad", True))
    t = Tensor._make(arr)
    if node.get("requires_grad"):
        t.requires_grad_(True)
    return t


# The entry tags of the structure, tried in this order: tensor, dict, list, tuple, NumPy scalar.
_DECODERS = {
    "T": _decode_array,
    "D": lambda node, tensors: OrderedDict((k, _decode(v, tensors)) for k, v in node["D"]),
    "L": lambda node, tensors: [_decode(v, tensors) for v in node["L"]],
    "U": lambda node, tensors: tuple(_decode(v, tensors) for v in node["U"]),
    "S": lambda node, tensors: np.dtype(node["dtype"]).type(node["S"]),
}


def _decode(node, tensors: dict):
    if not isinstance(node, dict):
        return node
    for tag, decode in _DECODERS.items():
        if tag in node:
            return decode(node, tensors)
    raise CheckpointError(f"lamina.load: unknown entry {sorted(node)} in the checkpoint structure")


# ---------------------------------------------------------------------------- checksum
def _checksum(tensors: dict[str, np.ndarray], meta: dict[str, str]) -> str:
    """Hex SHA-256 of the metadata but its checksum entry (sorted JSON), then of each tensor in name order:
    the JSON of [name, dtype, shape] and the tensor's C-order bytes."""
    h = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != _CHECKSUM_KEY}, sort_keys=True).encode())
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        h.update(json.dumps([name, arr.dtype.str, list(arr.shape)]).encode())
        h.update(arr.reshape(-1).view(np.uint8).data)
    return h.hexdigest()


def _verify(tensors: dict[str, np.ndarray], meta: dict[str, str], name: str) -> None:
    if _CHECKSUM_KEY in meta and _checksum(tensors, meta) != meta[_CHECKSUM_KEY]:
        raise CheckpointError(f"lamina.load: '{name}' is corrupt: its contents do not match the SHA-256 checksum "
                              "stored when it was saved (a changed byte: disk or copy error, or an edit)")


# ---------------------------------------------------------------------------- save
def _metadata(structure, extra: dict | None) -> dict[str, str]:
    if isinstance(structure, dict) and any(k == "__metadata__" for k, _ in structure.get("D", ())):
        raise CheckpointError("lamina.save: the key '__metadata__' is reserved by the safetensors format (it "
                              "names the header's metadata); rename it, or pass str entries as metadata=")
    meta = {"format": _FORMAT, _STRUCT_KEY: json.dumps(structure, allow_nan=True)}
    for k, v in (extra or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise CheckpointError(f"lamina.save: metadata must map str to str, got {k!r}: {type(v).__name__}")
        if k in _RESERVED_METADATA:
            raise CheckpointError(f"lamina.save: metadata key {k!r} is reserved (lamina writes "
                                  f"{', '.join(_RESERVED_METADATA)} itself)")
        meta[k] = v
    return meta


def save(obj, f, metadata: dict | None = None) -> None:
    """Write ``obj`` (a state_dict, or nested dicts/lists of tensors and JSON-able values) to ``f`` (a path or a
    binary file object) in the safetensors format, with a checksum. ``metadata``: extra str -> str entries for
    the header (not ``format``, ``lamina.structure`` or ``lamina.sha256``)."""
    enc = _Encoder()
    meta = _metadata(enc.encode(obj, ""), metadata)
    meta[_CHECKSUM_KEY] = _checksum(enc.tensors, meta)
    data = st_save(dict(enc.tensors), metadata=meta)
    if hasattr(f, "write"):
        f.write(data)
        return
    atomic_write(f, data, parents=False)


# ---------------------------------------------------------------------------- load
def _header_json(data: bytes, name: str) -> tuple[int, dict]:
    """The header's length and its parsed JSON object."""
    size = len(data)
    if size < 8:
        raise CheckpointError(f"lamina.load: '{name}' is not a valid checkpoint: it has {size} bytes, fewer than "
                              "the 8-byte header length every safetensors file starts with (truncated or empty file)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > size - 8:
        raise CheckpointError(f"lamina.load: '{name}' is truncated or not a safetensors file: its header claims "
                              f"{n} bytes but only {size - 8} follow")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"lamina.load: '{name}' is corrupt or not a safetensors file: its header is not "
                              f"valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"lamina.load: '{name}' is corrupt: the header is not a JSON object")
    return n, header


def _entry_end(key: str, info, name: str) -> int:
    """Check one tensor's header entry (dtype known, byte count = numel × itemsize); return its end offset."""
    try:
        start, stop = info["data_offsets"]
        dtype = info["dtype"]
        shape = info["shape"]
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"lamina.load: '{name}' is corrupt: bad header entry for tensor '{key}'") from None
    if dtype not in _DTYPES:
        raise CheckpointError(f"lamina.load: tensor '{key}' in '{name}' has dtype {dtype}, which NumPy cannot "
                              f"represent (readable: {', '.join(_DTYPES)})")
    if stop - start != math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize:
        raise CheckpointError(f"lamina.load: '{name}' is corrupt: tensor '{key}' of shape {tuple(shape)} and "
                              f"dtype {dtype} has {stop - start} bytes of data")
    return stop


def _header(data: bytes, name: str) -> dict:
    """Parse and check the safetensors header, with a clear error for truncated or foreign files."""
    n, header = _header_json(data, name)
    end = max((_entry_end(key, info, name) for key, info in header.items() if key != "__metadata__"), default=0)
    if 8 + n + end > len(data):
        raise CheckpointError(f"lamina.load: '{name}' is truncated: the header describes {8 + n + end} bytes of "
                              f"data but the file has {len(data)} (was the save interrupted or the copy incomplete?)")
    return header


def _read(f) -> tuple[bytes, str]:
    """The bytes of a path or a binary file object, and a name for messages."""
    if hasattr(f, "read"):
        return f.read(), getattr(f, "name", "<file object>")
    name = os.fspath(f)
    with open(name, "rb") as fh:
        return fh.read(), name


def _lamina_object(structure_json: str, tensors: dict, name: str):
    """Rebuild the object ``save`` stored from its JSON structure and the file's tensors."""
    try:
        structure = json.loads(structure_json)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"lamina.load: '{name}' is corrupt: its lamina structure is not valid JSON ({e})") \
            from None
    try:
        return _decode(structure, tensors)
    except KeyError as e:
        raise CheckpointError(f"lamina.load: '{name}' is corrupt: the structure names tensor {e} which the file "
                              "does not hold") from None


def load(f, map_location=None, weights_only: bool = True, mmap=None):
    """Read a checkpoint written by ``save`` (or any safetensors file) from a path or binary file object.

    Returns the saved object; tensors come back as lamina tensors with their dtypes. ``map_location``,
    ``weights_only`` and ``mmap`` are accepted for PyTorch compatibility (lamina always loads plain data).
    A zip file written by ``torch.save`` is read by ``serialization.load_torch_zip`` (tensors and plain
    values only: a pickle naming anything else is refused, never run)."""
    data, name = _read(f)
    if is_torch_zip(data):
        return load_torch_zip(data, name, map_location=map_location, weights_only=weights_only)
    header = _header(data, name)
    try:
        arrays = st_load(data)
    except SafetensorError as e:
        raise CheckpointError(f"lamina.load: cannot read '{name}': {e}") from None
    tensors = {k: np.array(v) for k, v in arrays.items()}  # writable copies, not views of the file bytes
    meta = header.get("__metadata__") or {}
    _verify(tensors, meta, name)
    if meta.get("format") == _FORMAT and _STRUCT_KEY in meta:
        return _lamina_object(meta[_STRUCT_KEY], tensors, name)
    order = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    return OrderedDict((k, Tensor._make(tensors[k])) for k in order)
