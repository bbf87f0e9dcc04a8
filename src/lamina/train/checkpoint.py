"""Training checkpoints: model, optimizer, scheduler, RNG states, history, every callback's state,
whether training stopped, and the epoch, in one safetensors file (``lamina.save``: written
atomically, loaded without executing code).

Stopping after epoch k and resuming from the checkpoint gives the same weights, bit for bit,
as a run that never stopped: the data order's generator and the global generator (dropout,
initialisation) are restored with everything else.

The same state gives the same bytes: the safetensors writer stores the header's metadata entries
in an order that changes from process to process, so ``save_checkpoint`` rewrites the header with
its metadata in sorted order (the JSON keeps its length, so no offset moves).  A resumed run's
checkpoint files then equal an uninterrupted run's byte for byte."""
from __future__ import annotations

import io
import json
import struct

from .._atomic import atomic_write
from ..io import load, save


def _sorted_metadata(data: bytes) -> bytes:
    """``data`` (a safetensors file) with the header's ``__metadata__`` entries in sorted key order."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.get("__metadata__")
    if not isinstance(meta, dict):
        return data
    header = {"__metadata__": dict(sorted(meta.items())), **{k: v for k, v in header.items() if k != "__metadata__"}}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(text) > n:               # cannot happen for the same entries; keep the writer's bytes then
        return data
    return data[:8] + text + b" " * (n - len(text)) + data[8 + n:]


def save_checkpoint(path: str, trainer, epoch: int | None = None) -> str:
    state = trainer.state_dict()
    if epoch is not None:
        state["epoch"] = int(epoch)
    buf = io.BytesIO()
    save(state, buf)
    atomic_write(path, _sorted_metadata(buf.getvalue()), parents=False)
    return path


def load_checkpoint(path: str) -> dict:
    return load(path)


def resume(trainer, path: str) -> int:
    """Load a checkpoint into ``trainer``; returns the epoch training continues from."""
    trainer.load_state_dict(load_checkpoint(path))
    return trainer.epoch
