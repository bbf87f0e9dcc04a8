"""``Optimizer``: the base class, with PyTorch's shape.

An optimizer holds ``param_groups`` (a list of dicts: ``'params'`` plus the
hyperparameters of that group, missing ones filled from ``defaults``) and
``state`` (a dict keyed by parameter tensor, one dict of buffers per parameter).

``step(closure=None)`` evaluates the closure (if any) with gradients on, then
updates every parameter that has a ``.grad``, in place on its array
(``p._data``) and without recording a graph.  Parameter dtypes are kept:
float32 parameters get float32 state and float32 arithmetic.

State buffers are backend arrays (NumPy); ``state_dict()`` packs everything in PyTorch's
layout, with parameters replaced by integer ids (their order across the groups)::

    {"state": {0: {"step": 3, "exp_avg": ndarray, ...}, ...},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}

Only arrays, numbers, strings, bools, None and tuples/lists of them appear, so
``lamina.save`` stores it without pickle.

The elementwise optimizers accept PyTorch's ``foreach=`` argument for compatibility;
lamina always runs its own block-wise engine (``_foreach``: in-place ufuncs over
cache-sized blocks, shared between ``lamina.optim.set_num_threads(n)`` threads).
"""
from __future__ import annotations

import copy
from collections import defaultdict

from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import xp
from ..sparse import RowSparseGrad
from ..tensor import Tensor, bump_version
from . import _foreach, _sparse


def _param_list(params) -> list:
    """The parameters of a group as a list of floating-point leaf tensors."""
    if isinstance(params, Tensor):
        params = [params]
    elif isinstance(params, set):
        raise TypeError("add_param_group: params must be an ordered collection (a list), not a set")
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"add_param_group: parameter {i} is a {type(p).__name__}, expected a Tensor")
        if p._node is not None:
            raise ValueError(f"add_param_group: parameter {i} (shape {tuple(p.shape)}) is not a leaf tensor; "
                             "optimizers can only update leaves")
        if p.dtype.kind != "f":
            raise TypeError(f"add_param_group: parameter {i} has dtype {p.dtype}; expected a floating dtype")
    return params


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class.  Subclasses define ``_step_group(group)`` (and usually ``_init_state``)."""

    # hyperparameters shown by repr in this order; subclasses may leave it empty
    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, got a single Tensor "
                "(wrap it in a list: [tensor])"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (``{'params': [...], 'lr': ...}``); unspecified options
        take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = _param_list(group["params"])
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"add_param_group: parameter group didn't specify a value of required "
                                 f"optimization parameter {name!r}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("add_param_group: a parameter appears twice in the same group")
        if seen.intersection(ids):
            raise ValueError("add_param_group: some parameters appear in more than one parameter group")
        self.param_groups.append(group)
        self._after_add_group(group)

    def _after_add_group(self, group: dict) -> None:
        """Hook for optimizers that create state eagerly (Adagrad)."""

    # ------------------------------------------------------------------ gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: ``p.grad = None`` (default) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.__class__ is RowSparseGrad:  # PyTorch: a zeroed sparse grad has no rows
                    p.grad = p.grad.cleared()
                else:
                    g = p.grad
                    if not g._data.flags.writeable:
                        g._data = xp.zeros_like(g._data)
                    else:
                        g._data[...] = 0
                    g._node, g.requires_grad = None, False

    def step(self, closure=None):
        """One update of every parameter that has a gradient.  ``closure`` (optional) re-evaluates
        the model and returns the loss; it runs with gradients enabled before the update."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict) -> None:
        raise TypeError(f"{type(self).__name__} does not define _step_group(group): "
                        "Optimizer is a base class; subclass it to write an update rule")

    def _with_grads(self, group: dict, allow_sparse: bool = False):
        """(parameter, gradient array) for every parameter of ``group`` that has a gradient.

        A row-sparse gradient (``lamina.sparse.RowSparseGrad``) raises a clear error, unless
        ``allow_sparse``: then it is returned as is, for the optimizer's sparse update."""
        out = []
        for i, p in enumerate(group["params"]):
            g = p.grad
            if g is None:
                continue
            if g.__class__ is RowSparseGrad and not allow_sparse:
                gi = next(k for k, gr in enumerate(self.param_groups) if gr is group)
                raise _sparse.dense_only_error(type(self).__name__, gi, i, p)
            garr = g if g.__class__ is RowSparseGrad else self._dense_grad(p, g._data)
            if not p._data.flags.writeable:
                p._data = p._data.copy()
            bump_version(p)  # the step changes p in place (a graph that saved p must not be reused)
            out.append((p, garr))
        return out

    def _dense_grad(self, p: Tensor, garr):
        """The gradient array of ``p`` checked for shape and cast to its dtype."""
        if garr.shape != p._data.shape:
            raise RuntimeError(f"{type(self).__name__}.step: gradient of shape {tuple(garr.shape)} for a parameter "
                               f"of shape {p._data.shape}")
        return garr.astype(p._data.dtype) if garr.dtype != p._data.dtype else garr

    @staticmethod
    def _run(tasks, n_tmp: int) -> None:
        _foreach.run(tasks, n_tmp)

    # ------------------------------------------------------------------ (de)serialisation
    def _pack_state(self, state: dict) -> dict:
        """A copy of one parameter's state made of arrays and scalars (subclasses may reshape it)."""
        return {k: (v.copy() if isinstance(v, xp.ndarray) else copy.deepcopy(v)) for k, v in state.items()}

    def _unpack_state(self, packed: dict, param: Tensor) -> dict:
        """Inverse of ``_pack_state``; floating arrays are cast to the parameter's dtype (except 'step')."""
        out = {}
        for k, v in packed.items():
            if isinstance(v, Tensor):
                v = v._data
            if isinstance(v, xp.ndarray):
                v = xp.array(v, copy=True)
                if k != "step" and v.dtype.kind == "f":
                    v = v.astype(param.dtype, copy=False)
                if k == "step" and v.ndim == 0:
                    v = v.item()
            out[k] = v
        return out

    def state_dict(self) -> dict:
        """``{'state': {id: {...}}, 'param_groups': [{..., 'params': [ids]}]}`` (arrays are copies)."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: self._pack_state(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and buffers saved by ``state_dict`` (for the same parameter layout)."""
        saved = self._check_layout(state_dict)
        id_map = {pid: p for sg, g in zip(saved, self.param_groups) for pid, p in zip(sg["params"], g["params"])}
        new_state: dict = defaultdict(dict)
        for pid, s in state_dict["state"].items():
            p = id_map.get(int(pid))
            if p is not None:
                new_state[p] = self._load_param_state(int(pid), s, p)
        groups = []
        for sg, g in zip(saved, self.param_groups):
            ng = {k: copy.deepcopy(v) for k, v in sg.items() if k != "params"}
            ng["params"] = g["params"]
            groups.append(ng)
        self.param_groups = groups
        self.state = new_state

    def _check_layout(self, state_dict) -> list:
        """The saved parameter groups, after checking they match this optimizer's groups."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'")
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        for i, (sg, g) in enumerate(zip(saved, self.param_groups)):
            if len(sg["params"]) != len(g["params"]):
                raise ValueError(f"{name}.load_state_dict: group {i} has {len(sg['params'])} parameters in the "
                                 f"state dict but {len(g['params'])} in the optimizer")
        return saved

    def _load_param_state(self, key: int, packed: dict, p: Tensor) -> dict:
        """One parameter's unpacked state; its buffers must have the parameter's shape."""
        unpacked = self._unpack_state(packed, p)
        for k, v in unpacked.items():
            if isinstance(v, xp.ndarray) and v.shape != p.shape and k not in self._free_shape_keys:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state {k!r} of parameter {key} has shape "
                                 f"{tuple(v.shape)}, the parameter has shape {tuple(p.shape)}")
        return unpacked

    _free_shape_keys: tuple = ()   # state entries whose shape is not the parameter's (LBFGS history)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

