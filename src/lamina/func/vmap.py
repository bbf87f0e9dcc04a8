"""``vmap(f)``: f applied to every sample of a batch at once, as ``torch.func.vmap``.

``vmap(f, in_dims, out_dims)(*args)`` equals stacking ``f(*sample_i)`` along ``out_dims``, where sample i
takes index i of each argument along its ``in_dims`` (None: the argument is shared by every sample).
Inside, ``f`` sees ``BatchedTensor`` s of one sample's shape; each op runs once on the whole batch by its
batching rule. vmaps nest (each is a level) and compose with grad, vjp, jvp and the jacobians.
"""
from __future__ import annotations

import functools
import numbers

from .. import _mode
from ..ops.shape import broadcast_to, cat, getitem, movedim, narrow, unsqueeze
from ..tensor import Tensor
from . import batching
from .batched import BatchedTensor, inner_of, levels_of, wrap

batching.install()

_RANDOMNESS = ("error", "different", "same")


# ----------------------------------------------------------------------------- pytrees of tuples, lists, dicts
def _leaves(tree) -> list:
    if isinstance(tree, (tuple, list)):
        return [leaf for sub in tree for leaf in _leaves(sub)]
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in _leaves(tree[key])]
    return [tree]


def _map(fn, tree, dims):
    """``fn(leaf, dim)`` over a tree, with ``dims`` an int/None for the whole subtree or a tree matching it."""
    if isinstance(tree, (tuple, list)):
        return _map_sequence(fn, tree, dims)
    if isinstance(tree, dict):
        return _map_dict(fn, tree, dims)
    if dims is not None and not isinstance(dims, numbers.Integral):
        raise ValueError(f"vmap: a dim must be an int or None, got {dims!r}")
    return fn(tree, dims)


def _map_sequence(fn, tree, dims):
    """``_map`` over a tuple or list (a namedtuple stays one), ``dims`` one per entry or one for all."""
    if isinstance(dims, (tuple, list)):
        if len(dims) != len(tree):
            raise ValueError(f"vmap: dims {dims} have {len(dims)} entries for a sequence of {len(tree)}")
        items = [_map(fn, t, d) for t, d in zip(tree, dims)]
    else:
        items = [_map(fn, t, dims) for t in tree]
    return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)


def _map_dict(fn, tree: dict, dims):
    """``_map`` over a dict, ``dims`` a dict with the same keys or one for all."""
    if isinstance(dims, dict):
        if set(dims) != set(tree):
            raise ValueError(f"vmap: dims keys {sorted(dims)} do not match the keys {sorted(tree)}")
        return {k: _map(fn, tree[k], dims[k]) for k in tree}
    return {k: _map(fn, tree[k], dims) for k in tree}


# ----------------------------------------------------------------------------- entering and leaving a level
def _size(args, in_dims) -> int:
    sizes = []

    def look(x, d):
        if d is None:
            return x
        if not isinstance(x, Tensor):
            raise ValueError(f"vmap: in_dim {d} given for an argument of type {type(x).__name__}, which is not a "
                             "tensor (use None for it)")
        if not -x.ndim <= d < max(x.ndim, 1) or x.ndim == 0:
            raise ValueError(f"vmap: in_dim {d} is out of range for an argument of shape {tuple(x.shape)}")
        sizes.append(x.shape[d])
        return x

    _map(look, args, in_dims)
    if not sizes:
        raise ValueError("vmap: no input is batched (every in_dim is None); at least one must be a tensor with "
                         "an int in_dim")
    if len(set(sizes)) != 1:
        raise ValueError(f"vmap: the batched inputs have different sizes along their in_dims: {sizes}")
    return sizes[0]


def _enter(level: int):
    def enter(x, d):
        if d is None:
            return x
        y = movedim(x, d, 0) if d % x.ndim else x  # the new level is the innermost: right after the others
        return wrap(inner_of(y), levels_of(y) + (level,))

    return enter


def _leave(level: int, size: int):
    def leave(o, d):
        if not isinstance(o, Tensor):
            raise ValueError(f"vmap: the function must return tensors (or tuples/lists/dicts of them), got "
                             f"{type(o).__name__}")
        own = levels_of(o)
        if level not in own:
            if d is None:
                return o
            o = unsqueeze(o, 0)
            return movedim(broadcast_to(o, (size,) + tuple(o.shape[1:])), 0, d % o.ndim)
        if d is None:
            raise ValueError("vmap: out_dims is None for an output that is batched (it differs between samples)")
        o = wrap(inner_of(o), own[:-1])  # the level's dim becomes the leading logical dim
        return movedim(o, 0, d % o.ndim) if d % o.ndim else o

    return leave


def _sample(i: int):
    def take(x, d):
        return x if d is None else getitem(x, (slice(None),) * (d % x.ndim) + (i,))

    return take


def _piece(start: int, n: int):
    def take(x, d):
        return x if d is None else narrow(x, d % x.ndim, start, n)

    return take


def _chunked(func, args, dims, out_dims, size: int, chunk: int, kwargs):
    """vmap in chunks of ``chunk`` samples, the pieces concatenated along ``out_dims``."""
    if chunk < 1:
        raise ValueError(f"vmap: chunk_size must be a positive int, got {chunk}")
    pieces = []
    for start in range(0, size, chunk):
        if chunk == 1:
            out = func(*_map(_sample(start), args, dims), **kwargs)
            pieces.append(_map(lambda o, d: o if d is None else unsqueeze(o, d % (o.ndim + 1)), out, out_dims))
        else:
            sub = _map(_piece(start, min(chunk, size - start)), args, dims)
            pieces.append(vmap(func, dims, out_dims)(*sub, **kwargs))
    leaf_dims = _leaves(_map(lambda o, d: d, pieces[0], out_dims))
    columns = [_leaves(p) for p in pieces]
    joined = iter([col[0] if d is None else cat(list(col), d)
                   for d, col in zip(leaf_dims, zip(*columns))])
    return _map(lambda o, d: next(joined), pieces[0], out_dims)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``vmap(f, in_dims=0, out_dims=0)``: the batched form of ``f`` (see the module docstring).

    ``in_dims``: an int or None for every argument, or a tuple with one entry per positional argument,
    each an int/None or a tree (tuple/list/dict) matching that argument. ``out_dims`` likewise for the
    outputs. ``randomness``: 'error' (a random draw inside is an error, the default), 'same' (one draw
    shared by all samples); 'different' (per-sample draws) is refused at the first draw. ``chunk_size``: run
    the batch in chunks of that many samples (``chunk_size=1``: one plain call per sample, no batching)."""
    if randomness not in _RANDOMNESS:
        raise ValueError(f"vmap: randomness must be one of {_RANDOMNESS}, got {randomness!r}")
    if not isinstance(in_dims, (numbers.Integral, tuple, type(None))):
        raise ValueError(f"vmap: in_dims must be an int, None or a tuple, got {type(in_dims).__name__}")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        dims = in_dims
        if isinstance(dims, tuple) and len(dims) != len(args):
            raise ValueError(f"vmap: in_dims {in_dims} has {len(dims)} entries for {len(args)} positional arguments")
        size = _size(args, dims)
        if chunk_size is not None and chunk_size < size:
            return _chunked(func, args, dims, out_dims, size, chunk_size, kwargs)
        level = len(_mode.vmap_sizes) + 1
        _mode.vmap_sizes = _mode.vmap_sizes + (size,)
        _mode.vmap_randomness = _mode.vmap_randomness + (randomness,)
        _mode.special = True
        try:
            out = func(*_map(_enter(level), args, dims), **kwargs)
            return _map(_leave(level, size), out, out_dims)
        finally:
            _mode.vmap_sizes = _mode.vmap_sizes[:-1]
            _mode.vmap_randomness = _mode.vmap_randomness[:-1]
            _mode.update_special()

    return wrapped


__all__ = ["vmap", "BatchedTensor", "_leaves"]
