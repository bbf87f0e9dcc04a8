"""The worker side of data parallelism: one shard in, its gradient out.

A worker receives a ``ModelSpec`` (how to build the model: a picklable factory, or the model's
structure pickled *without* its arrays), the state arrays (``state_dict``), its shard and the
loss function.  It keeps the model it built in a small per-thread cache keyed by the spec's
token, so later steps only copy new weights into it.  Nothing here writes files.
"""
from __future__ import annotations

import io
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..autograd import enable_grad
from ..backend import get_rng_state, manual_seed, set_rng_state
from ..tensor import Tensor

__all__ = ["ModelSpec", "shard_gradient", "pickle_structure"]

_CACHE_SIZE = 4
_local = threading.local()
# Each shard seeds lamina's global generator (dropout) for its forward pass and restores it after,
# so two threads of one process must not run a shard at the same time: with a thread pool (or
# Dask's processes=False) the shards of a process take turns here. (Grad mode is per thread.)
_GRAPH_LOCK = threading.Lock()


class _StructurePickler(pickle.Pickler):
    """Pickles a model but replaces the arrays listed in ``skip`` (by id) by (shape, dtype) tags."""

    def __init__(self, f, skip: dict):
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self.skip = skip

    def persistent_id(self, obj):
        if isinstance(obj, np.ndarray) and id(obj) in self.skip:
            return ("lamina-array", obj.shape, obj.dtype.str)
        return None


class _StructureUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        tag, shape, dtype = pid
        if tag != "lamina-array":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return np.empty(shape, dtype=np.dtype(dtype))


def pickle_structure(model) -> bytes:
    """The model without the values of its parameters and buffers (they travel as ``state``)."""
    skip = {id(t._data): True for t in model.state_dict(keep_vars=True).values()}
    buf = io.BytesIO()
    _StructurePickler(buf, skip).dump(model)
    return buf.getvalue()


@dataclass(frozen=True)
class ModelSpec:
    """How a worker builds its copy of the model: ``factory()`` or the pickled ``structure``."""

    token: str
    factory: Callable | None = None
    structure: bytes | None = None

    def build(self):
        if self.factory is not None:
            return self.factory()
        return _StructureUnpickler(io.BytesIO(self.structure)).load()


def _model_for(spec: ModelSpec):
    cache = getattr(_local, "models", None)
    if cache is None:
        cache = _local.models = OrderedDict()
    model = cache.get(spec.token)
    if model is None:
        model = spec.build()
        cache[spec.token] = model
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(spec.token)
    return model


def _as_tensor(a):
    return a if isinstance(a, Tensor) else Tensor._make(np.asarray(a))


def _seeded_loss(model, loss_fn, inputs, targets, seed: int) -> Tensor:
    """The scalar loss of the shard, its forward pass drawn from lamina's generator seeded with ``seed``."""
    saved = get_rng_state()     # in a thread of the master's process: leave its generator alone
    manual_seed(seed)
    try:
        loss = loss_fn(model(_as_tensor(inputs)), _as_tensor(targets))
    finally:
        set_rng_state(saved)
    if not isinstance(loss, Tensor) or loss._data.size != 1:
        raise RuntimeError("data_parallel_step: loss_fn must return a scalar Tensor, got "
                           f"{tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__} "
                           "(use reduction='mean' or 'sum')")
    return loss


def shard_gradient(spec: ModelSpec, state: dict, inputs, targets, loss_fn, seed: int,
                   training: bool) -> dict:
    """Loss and gradient of ``loss_fn(model(inputs), targets)`` at the weights ``state``.

    Returns ``{"loss": float, "n": shard size, "grads": {name: array}, "buffers": {name: array}}``
    (a parameter the loss does not use gets a zero gradient)."""
    with _GRAPH_LOCK, enable_grad():
        model = _model_for(spec)
        model.load_state_dict(state)
        model.train(training)
        for p in model.parameters():
            p.grad = None
        loss = _seeded_loss(model, loss_fn, inputs, targets, seed)
        loss.backward()
    grads = {n: (np.zeros_like(p._data) if p.grad is None else p.grad._data)
             for n, p in model.named_parameters() if p.requires_grad}
    names = {n for n, _ in model.named_parameters()}
    buffers = {n: t._data.copy() for n, t in model.state_dict().items() if n not in names}
    return {"loss": float(loss._data), "n": len(targets), "grads": grads, "buffers": buffers}
