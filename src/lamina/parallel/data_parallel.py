"""Map-reduce data parallelism: the master splits a batch
into shards, each worker computes the gradient of its shard, the master adds them up.

For a loss that is a mean over the samples, L = (1/N) Σ_i ℓ_i, and shards S_k of sizes n_k::

    ∇L = Σ_k (n_k / N) ∇L_k          L_k = (1/n_k) Σ_{i∈S_k} ℓ_i   (the shard's mean loss)

and for a summed loss ∇L = Σ_k ∇L_k.  So the combined gradient *is* the single-process
gradient of the whole batch (to rounding: the sum is taken in shard order, whatever order
the workers finish in).  One step::

    grads, loss = map(shard_gradient, shards) → weighted sum → p.grad → optimizer.step()

What travels to a worker: the model's structure (pickled once per model *without* its arrays,
or a picklable ``model_factory``), the state arrays, the shard, the loss function, a seed;
back: one gradient array per parameter, the shard loss and the buffers.  Layers whose output
depends on the whole batch are where shards differ from one process: BatchNorm normalises
each shard with its own statistics (as PyTorch's DistributedDataParallel does without
SyncBatchNorm); its running averages come back averaged over the shards (weighted by size).
Dropout draws per shard from a seed the master takes from lamina's global generator, so a
step is reproducible whatever executor runs it.
"""
from __future__ import annotations

import pickle
import uuid
import weakref
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..backend import rng
from ..tensor import Tensor
from ._worker import ModelSpec, pickle_structure, shard_gradient
from .executors import check_executor, local_executor, map_ordered

__all__ = ["data_parallel_step", "shard_batch", "DataParallel"]

_SPECS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # model -> (signature, factory id, spec)


def _array(x, what: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._data
    try:
        return np.asarray(x)
    except Exception:
        raise TypeError(f"data_parallel_step: {what} must be an array or a Tensor, got {type(x).__name__}") from None


def shard_batch(n: int, n_shards: int) -> list[slice]:
    """``n_shards`` contiguous slices of ``range(n)`` whose sizes differ by at most one."""
    if isinstance(n_shards, bool) or not isinstance(n_shards, (int, np.integer)) or n_shards < 1:
        raise ValueError(f"data_parallel_step: n_shards must be an int >= 1, got {n_shards!r}")
    if n_shards > n:
        raise ValueError(f"data_parallel_step: n_shards={n_shards} is more than the batch size {n}")
    bounds = np.linspace(0, n, n_shards + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _spec_for(model, factory) -> ModelSpec:
    """The model's spec, built once per model (again if its parameters' names/shapes change)."""
    state = model.state_dict()
    signature = tuple((k, v.shape, str(v.dtype)) for k, v in state.items())
    cached = _SPECS.get(model)
    if cached is not None and cached[0] == signature and cached[1] == id(factory):
        return cached[2]
    token = uuid.uuid4().hex
    if factory is not None:
        if not callable(factory):
            raise TypeError(f"data_parallel_step: model_factory must be callable, got {type(factory).__name__}")
        spec = ModelSpec(token, factory=factory)
    else:
        try:
            spec = ModelSpec(token, structure=pickle_structure(model))
        except Exception as e:
            raise TypeError(f"data_parallel_step: the model {type(model).__name__} cannot be pickled ({e}); "
                            "pass model_factory=<a module-level function returning the model>") from None
    _SPECS[model] = (signature, id(factory), spec)
    return spec


def _check_picklable(executor, **objs) -> None:
    if not isinstance(executor, ProcessPoolExecutor):
        return
    for name, obj in objs.items():
        try:
            pickle.dumps(obj)
        except Exception as e:
            raise TypeError(f"data_parallel_step: a process pool needs a picklable {name} (a module-level "
                            f"function or an instance of a module-level class); {obj!r} is not: {e}") from None


def _batch_arrays(batch) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)`` as arrays with one sample count."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError("data_parallel_step: batch must be an (inputs, targets) pair")
    x, y = _array(batch[0], "inputs"), _array(batch[1], "targets")
    if len(x) != len(y):
        raise ValueError(f"data_parallel_step: inputs have {len(x)} samples but targets have {len(y)}")
    return x, y


def _reduction(loss_fn, reduction):
    r = reduction if reduction is not None else getattr(loss_fn, "reduction", "mean")
    if r not in ("mean", "sum"):
        raise ValueError(f"data_parallel_step: reduction must be 'mean' or 'sum' (how the shard losses add up), "
                         f"got {r!r}")
    return r


def data_parallel_step(model, loss_fn, batch, executor=None, n_shards: int = 2, optimizer=None, *,
                       model_factory=None, reduction: str | None = None, seed: int | None = None) -> float:
    """One map-reduce step on ``batch = (inputs, targets)``; returns the batch loss.

    * ``executor``: any ``concurrent.futures.Executor`` (only ``submit`` and ``as_completed`` are
      used): ``local_executor(n)`` (processes), a thread pool, Dask's ``client.get_executor()``,
      ``mpi4py.futures.MPIPoolExecutor()``; ``None`` runs the shards here one after another
      (gradient accumulation).
    * ``loss_fn(output, targets)``: a scalar loss, mean- or sum-reduced (``reduction``, default
      ``loss_fn.reduction`` or 'mean'); with a process pool it must be picklable.
    * ``model_factory``: a picklable callable returning a model of the same architecture; by
      default the model's own structure is pickled (once) and sent without its arrays.
    * Every parameter's ``.grad`` is *replaced* by the combined gradient (same dtype), floating
      buffers by the size-weighted average of the shards', then ``optimizer.step()`` if given.
    * ``seed``: the base of the per-shard seeds (default: drawn from lamina's global generator).
    """
    check_executor(executor, "data_parallel_step")
    if not callable(loss_fn):
        raise TypeError(f"data_parallel_step: loss_fn must be callable, got {type(loss_fn).__name__}")
    x, y = _batch_arrays(batch)
    red = _reduction(loss_fn, reduction)
    shards = shard_batch(len(x), n_shards)
    spec = _spec_for(model, model_factory)
    _check_picklable(executor, loss_fn=loss_fn, model_factory=model_factory)
    state = {k: v._data for k, v in model.state_dict().items()}
    if seed is None:
        seed = int(rng().integers(0, 2 ** 31 - 1))
    seeds = np.random.SeedSequence(int(seed)).generate_state(len(shards))
    args = [(spec, state, x[s], y[s], loss_fn, int(k_seed), bool(model.training)) for s, k_seed in zip(shards, seeds)]
    results = map_ordered(shard_gradient, args, executor, where="data_parallel_step", item="shard")
    n = len(x)
    weights = [r["n"] / n if red == "mean" else 1.0 for r in results]
    _write_grads(model, results, weights)
    _write_buffers(model, results, [r["n"] / n for r in results])
    if optimizer is not None:
        optimizer.step()
    return float(sum(w * r["loss"] for w, r in zip(weights, results)))


def _shard_grad(result: dict, name: str, shape: tuple) -> np.ndarray:
    """One worker's gradient of parameter ``name``, checked against the parameter's shape."""
    g = result["grads"].get(name)
    if g is None:
        raise RuntimeError(f"data_parallel_step: a worker returned no gradient for parameter {name!r}; "
                           "is model_factory building the same architecture?")
    if g.shape != shape:
        raise RuntimeError(f"data_parallel_step: a worker's gradient of {name!r} has shape {tuple(g.shape)}, "
                           f"the parameter has {shape}")
    return g


def _write_grads(model, results, weights) -> None:
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        grads = [_shard_grad(r, name, p._data.shape) for r in results]
        total = grads[0] * weights[0]
        for g, w in zip(grads[1:], weights[1:]):
            total = total + g * w
        p.grad = Tensor._make(total.astype(p._data.dtype, copy=False))


def _write_buffers(model, results, weights) -> None:
    state = model.state_dict()
    for name in results[0]["buffers"]:
        if name not in state:
            continue
        target = state[name]._data
        arrays = [r["buffers"][name] for r in results]
        if target.dtype.kind == "f":
            value = sum(w * a for w, a in zip(weights, arrays))
        else:
            value = arrays[0]     # counters (num_batches_tracked): the same in every shard
        if not target.flags.writeable:
            state[name]._data = target = target.copy()
        target[...] = value


class DataParallel:
    """``DataParallel(model, loss_fn, n_workers=2, executor=None, model_factory=None)``: data-parallel
    training steps with a pool kept open between them.

        with parallel.DataParallel(model, nn.CrossEntropyLoss(), n_workers=2) as dp:
            for x, y in loader:
                loss = dp.step((x, y), optimizer)

    Without ``executor`` it owns ``local_executor(n_workers)`` (processes) and shuts it down in
    ``close()``; each step splits the batch into ``n_shards`` (default ``n_workers``) shards.
    """

    def __init__(self, model, loss_fn, n_workers: int = 2, executor=None, model_factory=None,
                 n_shards: int | None = None, reduction: str | None = None):
        check_executor(executor, "DataParallel")
        self.model, self.loss_fn, self.model_factory, self.reduction = model, loss_fn, model_factory, reduction
        self._own = executor is None
        self.executor = local_executor(n_workers) if executor is None else executor
        self.n_shards = int(n_shards if n_shards is not None else n_workers)

    def step(self, batch, optimizer=None) -> float:
        """One data-parallel step (gradients into ``p.grad``, then ``optimizer.step()``); the batch loss."""
        if self.executor is None:
            raise RuntimeError("DataParallel.step: the pool was closed")
        return data_parallel_step(self.model, self.loss_fn, batch, self.executor, self.n_shards, optimizer,
                                  model_factory=self.model_factory, reduction=self.reduction)

    __call__ = step

    def close(self) -> None:
        if self._own and self.executor is not None:
            self.executor.shutdown(wait=True)
        self.executor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return (f"DataParallel({type(self.model).__name__}, n_shards={self.n_shards}, "
                f"executor={type(self.executor).__name__})")
