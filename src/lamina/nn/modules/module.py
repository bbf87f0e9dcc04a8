"""``Module``: the base class of every layer and model, with PyTorch's behaviour.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; ``register_buffer`` adds
non-learnable state (BatchNorm's running averages). From these three tables come ``parameters()``,
``state_dict()``, ``train()``/``eval()``, ``to(dtype)`` and the printed tree. Calling a module runs
its forward pre-hooks, ``forward`` and forward hooks.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from ...backend import as_dtype, check_device, cpu_only_message, float16, float32, float64, xp
from ...tensor import Parameter, Tensor
from .._array import _array_of, _writable_array

__all__ = ["Module", "RemovableHandle"]


class IncompatibleKeys(NamedTuple):
    """What load_state_dict returns: the keys the module has and the state_dict lacks, and the other way round."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, table: dict):
        self._table = table
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()


class _KwargsHook:
    """A forward hook registered ``with_kwargs``: called as fn(module, args, kwargs, output)."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn


def _array(v: Any) -> xp.ndarray:
    """The values of a state_dict entry: a lamina tensor, a NumPy array, or anything with __array__ (torch)."""
    if not isinstance(v, Tensor) and hasattr(v, "detach") and hasattr(v, "cpu") and hasattr(v, "numpy"):
        return v.detach().cpu().numpy()  # a torch.Tensor, without importing torch
    return _array_of(v)


class Module:
    """Base class for layers and models: subclass it, create parameters / submodules in ``__init__``,
    and compute in ``forward``."""

    training: bool
    _version = 1
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent_buffers_set: set[str]
    _modules: OrderedDict[str, Module | None]
    _forward_hooks: OrderedDict[int, Callable[..., Any] | _KwargsHook]
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]]

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; Module takes none")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} has no forward(): subclasses of Module must define forward")

    # ---------------------------------------------------------------------- calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if not d["_forward_pre_hooks"] and not d["_forward_hooks"]:
            return self.forward(*args, **kwargs)
        for hook in list(d["_forward_pre_hooks"].values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(d["_forward_hooks"].values()):
            res = hook.fn(self, args, kwargs, out) if isinstance(hook, _KwargsHook) else hook(self, args, out)
            if res is not None:
                out = res
        return out

    def _has_forward_hooks(self) -> bool:
        """Whether a forward (pre-)hook is registered: a fused fast path must then call the module itself."""
        return bool(self._forward_pre_hooks or self._forward_hooks)

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, args)`` runs before forward; it may return new args (a tuple or a single value)."""
        h = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        return h

    def register_forward_hook(self, hook, *, with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with ``with_kwargs``) runs
        after forward; it may return a replacement output."""
        h = RemovableHandle(self._forward_hooks)
        self._forward_hooks[h.id] = _KwargsHook(hook) if with_kwargs else hook
        return h

    # ---------------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            self._register_new("_parameters", name, value, "parameters")
        elif _holds(d, "_parameters", name):
            d["_parameters"][name] = _checked(value, None, f"parameter '{name}'", "lamina.nn.Parameter or None")
        elif isinstance(value, Module):
            self._register_new("_modules", name, value, "a submodule")
        elif _holds(d, "_modules", name):
            d["_modules"][name] = _checked(value, None, f"child module '{name}'", "lamina.nn.Module or None")
        elif _holds(d, "_buffers", name):
            d["_buffers"][name] = _checked(value, Tensor, f"buffer '{name}'", "Tensor or None")
        else:
            object.__setattr__(self, name, value)

    def _register_new(self, table: str, name: str, value: Any, what: str) -> None:
        """Put ``value`` in ``table`` under ``name``, dropping whatever else had that name."""
        if self.__dict__.get(table) is None:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        self._drop(name)
        self.__dict__[table][name] = value

    def _drop(self, name: str) -> None:
        d = self.__dict__
        d.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            d[table].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if name in d[table]:
                del d[table][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        keys += list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted({k for k in keys if not k[0].isdigit()})

    def _check_name(self, name, what):
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"{what} name can't contain '.' or be empty, got {name!r}")
        if hasattr(self, name) and name not in self._parameters and name not in self._buffers \
                and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._check_name(name, "parameter")
        _checked(param, Parameter, f"parameter '{name}'", "Parameter or None")
        self._drop(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Non-learnable state saved in ``state_dict`` (unless ``persistent=False``) and moved by ``to()``."""
        self._check_name(name, "buffer")
        _checked(tensor, Tensor, f"buffer '{name}'", "Tensor or None")
        self._drop(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        self._drop(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(f"{mod._get_name()} has no submodule '{part}' (looking up '{target}')")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter | None:
        """The parameter at a dotted path ('layer1.0.conv1.weight'); None for one registered as None."""
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target: str) -> Tensor | None:
        """The buffer at a dotted path ('bn.running_mean'); None for one registered as None."""
        return self._get_member(target, "_buffers", "buffer")

    def _get_member(self, target: str, table: str, what: str) -> Any:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        members = getattr(mod, table)
        if name not in members:
            raise AttributeError(f"{mod._get_name()} has no {what} '{name}'")
        return members[name]

    # ---------------------------------------------------------------------- iteration
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        return iter(self._module_list())

    def _module_list(self) -> list:
        """This module and every submodule, depth first, each once (no names built: the fast path of
        parameters(), zero_grad() and train())."""
        out, seen, stack = [], set(), [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append(m)
            stack.extend(c for c in reversed(m._modules.values()) if c is not None)
        return out

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mp, m in mods:
            for k, v in getattr(m, table).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mp + ("." if mp else "") + k, v

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(name, Parameter) pairs, e.g. ('0.weight', ...); a parameter shared by two modules appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        seen = set()
        for m in (self._module_list() if recurse else (self,)):
            for p in m._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---------------------------------------------------------------------- modes and bulk updates
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode is expected to be a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                _writable_array(p.grad)[...] = 0

    def apply(self, fn) -> Module:
        """Call ``fn(m)`` on every submodule (children first) and then on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_arrays(self, fn) -> Module:
        """Replace each parameter's and buffer's array (and gradient) by fn(array), keeping the objects."""
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is None:
                        continue
                    t._data = fn(t._data)
                    if t.grad is not None:
                        t.grad._data = fn(t.grad._data)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False) -> Module:
        """``to(dtype)``, ``to('cpu')``, ``to(device, dtype)`` or ``to(tensor)``: converts floating point
        parameters and buffers in place (integer buffers such as counters keep their dtype)."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or type(a).__name__ == "device":
                check_device(a)
            elif a is not None:
                dtype = a
        check_device(device)
        dt = as_dtype(dtype)
        if dt is None:
            return self
        if dt.kind != "f":
            raise TypeError(f"Module.to: only floating point dtypes are supported, got {dt}")
        return self._apply_arrays(lambda a: a.astype(dt) if a.dtype.kind == "f" and a.dtype != dt else a)

    def float(self) -> Module:
        return self.to(float32)

    def double(self) -> Module:
        return self.to(float64)

    def half(self) -> Module:
        return self.to(float16)

    def type(self, dst_type) -> Module:
        return self.to(dst_type)

    def cpu(self) -> Module:
        return self

    def cuda(self, *args, **kwargs):
        raise RuntimeError(cpu_only_message("cuda", "cuda"))

    # ---------------------------------------------------------------------- state
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name ('0.weight', 'bn.running_mean', ...).
        Values share memory with the module (detached unless ``keep_vars``)."""
        out = OrderedDict() if destination is None else destination
        for key, (table, name) in self._state_entries(prefix.rstrip(".")).items():
            v = table[name]
            out[key] = v if keep_vars else v.detach()
        return out

    def _state_entries(self, prefix: str = "") -> dict[str, tuple[dict, str]]:
        """Dotted name -> (owning table, key) for every parameter and persistent buffer that is not None."""
        entries = {}
        for mname, m in self.named_modules(prefix=prefix, remove_duplicate=False):
            p = mname + "." if mname else ""
            for table, skip in ((m._parameters, ()), (m._buffers, m._non_persistent_buffers_set)):
                for k, v in table.items():
                    if v is not None and k not in skip:
                        entries[p + k] = (table, k)
        return entries

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (lamina tensors, NumPy arrays, or torch tensors) into this module.

        Values are cast to each parameter's dtype. A shape mismatch is always an error naming the key and
        both shapes; with ``strict`` (default) so are missing and unexpected keys. Returns
        ``(missing_keys, unexpected_keys)``. Nothing is modified when an error is raised."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a dict of name -> tensor, got {type(state_dict).__name__}")
        entries = self._state_entries()
        missing = [k for k in entries if k not in state_dict]
        unexpected = [k for k in state_dict if k not in entries]
        staged, errors = _stage_state(entries, state_dict)
        if strict:
            errors = _key_errors(missing, unexpected) + errors
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(errors))
        for cur, arr in staged:
            _load_values(cur, arr, assign)
        return IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------------- printing
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """Override to show a module's settings inside its parentheses, e.g. 'in_features=2, out_features=3'."""
        return ""

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def __repr__(self) -> str:
        n = Module.num_parameters(self)  # not self.num_parameters: PReLU's is an int, as in PyTorch
        count = f"  # {n:,} parameter{'s' if n != 1 else ''}" if n else ""
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            text = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        if not self._modules:
            return f"{self._get_name()}({extra}){count}"
        body = "\n  ".join(lines)
        return f"{self._get_name()}({count}\n  {body}\n)"

    # ---------------------------------------------------------------------- copying
    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)


def _holds(d: dict, table: str, name: str) -> bool:
    """Whether the module's table (``_parameters``, ``_modules``, ``_buffers``) exists and has ``name``."""
    t = d.get(table)
    return t is not None and name in t


def _checked(value: Any, kind: type | None, what: str, expected: str) -> Any:
    """``value`` when it is None or an instance of ``kind`` (None: only None is accepted), else a TypeError."""
    if value is not None and (kind is None or not isinstance(value, kind)):
        raise TypeError(f"cannot assign {type(value).__name__} as {what} ({expected} expected)")
    return value


def _stage_state(entries: dict[str, tuple[dict, str]], state_dict) -> tuple[list, list[str]]:
    """The (tensor, values) pairs to load, and the size mismatches (as messages)."""
    staged, errors = [], []
    for key, (table, name) in entries.items():
        if key not in state_dict:
            continue
        arr, cur = _array(state_dict[key]), table[name]
        if arr.shape != tuple(cur.shape):
            errors.append(f"size mismatch for {key}: copying a param with shape {tuple(arr.shape)} from checkpoint, "
                          f"the shape in current model is {tuple(cur.shape)}.")
        else:
            staged.append((cur, arr))
    return staged, errors


def _key_errors(missing: list[str], unexpected: list[str]) -> list[str]:
    errors = []
    if missing:
        errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
    if unexpected:
        errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
    return errors


def _load_values(cur: Tensor, arr: xp.ndarray, assign: bool) -> None:
    """Copy ``arr`` into ``cur`` in place (cast to its dtype), or with ``assign`` make it ``cur``'s new array
    (cast to ``cur``'s dtype when both are of one kind, float or integer; otherwise kept as it is)."""
    if assign:
        cur._data = xp.array(arr, dtype=cur.dtype if arr.dtype.kind == cur.dtype.kind else arr.dtype)
    else:
        _writable_array(cur)[...] = arr
