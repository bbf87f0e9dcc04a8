"""One PyTorch program, run twice: ``program(torch, init)`` with real PyTorch and with lamina as ``torch``.

A program is written once against the module it is given. ``init`` holds NumPy arrays only (the initial
weights, made by ``weights_for`` from the test's own RNG, and the data), so both runs start from the same
numbers; every random draw a program needs (dropout masks, noise) comes from ``init`` too. The program returns
what it recorded: a dict of per-step losses (lists of floats), tensors, state dicts, optimizer state dicts and
plain numbers, nested freely. ``compare`` runs both sides under the same default dtype and checks every
recorded number of lamina's run against PyTorch's (``rtol = atol`` = 1e-5 in float64, 1e-4 in float32),
naming the first entry and step that differ.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch as real_torch

import lamina

TOL = {"float64": 1e-5, "float32": 1e-4}


@contextmanager
def default_dtype(lib, dtype: str):
    """``lib.set_default_dtype(lib.<dtype>)`` for the block, the previous default restored after it."""
    old = lib.get_default_dtype()
    lib.set_default_dtype(getattr(lib, dtype))
    try:
        yield
    finally:
        lib.set_default_dtype(old)


def weights_for(build, rng: np.random.Generator, dtype: str = "float32"):
    """Initial weights for the model(s) ``build(torch)`` makes (a Module, or a dict of Modules): arrays of
    the shapes of real PyTorch's state dict, uniform in ±1/√fan_in (norm layers' scales near 1, their running
    statistics at 0 and 1, integer buffers as they are)."""
    with default_dtype(real_torch, dtype):
        built = build(real_torch)
    if isinstance(built, dict):
        return {name: _weights(m, rng, dtype) for name, m in built.items()}
    return _weights(built, rng, dtype)


def _weights(module, rng, dtype):
    out = {}
    for k, v in module.state_dict().items():
        shape = tuple(v.shape)
        if not v.is_floating_point():
            out[k] = v.numpy().copy()
        elif k.endswith("running_var"):
            out[k] = np.ones(shape, dtype)
        elif k.endswith("running_mean"):
            out[k] = np.zeros(shape, dtype)
        elif len(shape) == 1 and k.endswith("weight"):
            out[k] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(dtype)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
            bound = 1.0 / np.sqrt(max(fan_in, 1))
            out[k] = rng.uniform(-bound, bound, shape).astype(dtype)
    return out


def _flat(value, prefix: str, out: dict) -> None:
    """Recorded values as {path: float64 array}: dicts by key, lists of tensors or dicts by position, lists of
    numbers as one array, tensors through numpy."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, (list, tuple)) and value and not all(_is_number(v) for v in value):
        for i, v in enumerate(value):
            _flat(v, f"{prefix}[{i}]", out)
    elif hasattr(value, "detach"):
        out[prefix] = np.asarray(value.detach().numpy(), dtype=np.float64)
    elif isinstance(value, np.ndarray):  # lamina's optimizer state dicts hold arrays where torch's hold tensors
        out[prefix] = value.astype(np.float64)
    else:
        out[prefix] = np.asarray([_scalar(v) for v in value] if isinstance(value, (list, tuple)) else
                                 _scalar(value), dtype=np.float64)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, bool, np.number)) or (hasattr(v, "dim") and v.dim() == 0)


def _scalar(v) -> float:
    return float(v.item()) if hasattr(v, "item") else float(v)


def run(program, lib, init, dtype: str = "float32", **kwargs) -> dict:
    """What ``program(lib, init, **kwargs)`` records, flattened to {path: float64 array}."""
    threads = real_torch.get_num_threads()
    real_torch.set_num_threads(1)  # PyTorch's small kernels are fastest, and steadiest on a shared machine, on one
    try:
        with default_dtype(lib, dtype):
            recorded = program(lib, init, **kwargs)
    finally:
        real_torch.set_num_threads(threads)
    out: dict = {}
    _flat(recorded, "", out)
    return out


def compare(program, init, dtype: str = "float32", side_kwargs=None) -> dict:
    """Run ``program`` with PyTorch and with lamina; assert that they record the same numbers. ``side_kwargs``:
    a function of the side's name ("torch" or "lamina") giving extra keyword arguments (a directory of its
    own). Returns lamina's record."""
    extra = side_kwargs or (lambda side: {})
    ref = run(program, real_torch, init, dtype, **extra("torch"))
    got = run(program, lamina, init, dtype, **extra("lamina"))
    assert sorted(got) == sorted(ref), f"recorded entries differ: lamina {sorted(got)}, torch {sorted(ref)}"
    tol = TOL[dtype]
    for key in ref:
        r, g = ref[key], got[key]
        assert g.shape == r.shape, f"{key}: lamina recorded shape {g.shape}, torch {r.shape}"
        bad = ~np.isclose(g, r, rtol=tol, atol=tol, equal_nan=True)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise AssertionError(f"{key}: lamina differs from torch at {first or 'the value'} "
                                 f"(lamina {g[first]!r}, torch {r[first]!r}; {int(bad.sum())} of {bad.size} "
                                 f"entries beyond {tol:g})")
    return got
