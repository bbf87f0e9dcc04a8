"""``Tensor``: a NumPy array plus what automatic differentiation needs.

A tensor holds its values (``_data``, an ndarray), whether gradients flow to it
(``requires_grad``), the op that produced it (``_node``; None for leaves), the
accumulated gradient of a leaf (``grad``) and, during forward mode, its tangent
(``_tangent``: the x' of the dual number x + εx') and its version counter (``_version``:
how many in-place changes its values have had; an op records the versions of its inputs
and backward refuses to use one that changed since, as PyTorch does).

This module imports no op: ``lamina/ops/methods.py`` attaches the ops as methods from one
table, so ``x.exp()`` and ``lamina.exp(x)`` are the same function; the stub generated from
that table (``_tensor_methods.pyi``) shows them to type checkers.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from . import _mode
from ._size import Size, size_of
from .backend import CPU, as_dtype, check_device, cpu_only_message, get_default_dtype, rng, xp

if TYPE_CHECKING:  # the methods the ops attach (lamina/ops/methods.py), as a type checker sees them
    from ._tensor_methods import TensorMethods as _Methods
else:
    _Methods = object


# How many in-place changes any tensor has had: a graph node records this number, and when it is unchanged at
# backward time no input of the node can have changed since (the engine then skips the per-input version test).
INPLACE_EPOCH = [0]


def bump_version(t) -> None:
    """Count an in-place change of ``t``: its ``_version`` and the global ``INPLACE_EPOCH`` go up by one."""
    t._version += 1
    INPLACE_EPOCH[0] += 1


class Tensor(_Methods):
    __slots__ = ("_data", "requires_grad", "grad", "_node", "_tangent", "_hooks", "_version", "__weakref__")
    # ndarray (op) Tensor defers to Tensor's reflected operator.
    __array_priority__ = 1000
    is_sparse = False  # a RowSparseGrad (lamina.sparse) says True
    grad: Tensor | None

    def __init__(self, data=None, dtype=None, requires_grad=False, device=None):
        """``Tensor(data)`` behaves like ``lamina.tensor(data)``; ``Tensor(2, 3)`` sizes are not supported."""
        check_device(device)
        self._init(_to_array(data if data is not None else [], dtype), requires_grad)

    def _init(self, arr, requires_grad: bool) -> None:
        """Fill the slots of a new leaf tensor (requires_grad checked: floating dtypes only)."""
        self._data = arr
        self.grad = None
        self._node = None
        self._tangent = None
        self._hooks = None
        self._version = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, requires_grad=False, node=None):
        """Fast constructor used by ops: no checks, no copies."""
        t = object.__new__(cls)
        t._data = data
        t.requires_grad = requires_grad
        t.grad = None
        t._node = node
        t._tangent = None
        t._hooks = None
        t._version = 0
        return t

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> Size:
        return size_of(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self):
        return CPU

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        """The op that made this tensor (None for leaves), like PyTorch's ``grad_fn``."""
        return self._node

    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's values, outside the graph (PyTorch's ``.data``)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        """Replace the values; counts as an in-place change (``_version`` + 1), since the ops that
        saved this tensor for backward would read the new values."""
        self._data = value._data if isinstance(value, Tensor) else _to_array(value, self.dtype)
        bump_version(self)

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_xpu(self) -> bool:
        return False

    @property
    def is_mps(self) -> bool:
        return False

    @property
    def is_cpu(self) -> bool:
        return True

    @property
    def is_meta(self) -> bool:
        return False

    def get_device(self) -> int:
        """-1: the CPU (PyTorch's answer for a CPU tensor)."""
        return -1

    def size(self, dim=None):
        """The shape (a ``lamina.Size``), or the length of dim ``dim`` (an int)."""
        return size_of(self._data.shape) if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def stride(self, dim=None):
        s = tuple(st // self._data.itemsize for st in self._data.strides)
        return s if dim is None else s[dim]

    # ------------------------------------------------------------------ conversion
    def numpy(self, force: bool = False) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self._data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def item(self):
        if self._data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a Python scalar, "
                f"got shape {tuple(self.shape)}"
            )
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"bool: a tensor of shape {tuple(self.shape)} has more than one value; "
                "its truth is ambiguous (use .any() or .all())"
            )
        return bool(self._data.reshape(-1)[0])

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    __hash__ = object.__hash__

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"``: a tensor of one value formats as that value (``format(t.item(), spec)``);
        a larger tensor formats as ``str(t)`` and only with an empty spec."""
        if self._data.size == 1 and (spec or self._data.ndim == 0):
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"Tensor.__format__: format spec {spec!r} needs a tensor of one value, "
                            f"got shape {tuple(self.shape)} (format t.item() or t.tolist())")
        return str(self)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self._data.dtype not in (get_default_dtype(), np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype=lamina.{self._data.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{type(self._node).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------ device
    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        raise RuntimeError(cpu_only_message("cuda", "cuda"))

    def contiguous(self):
        return self

    # ------------------------------------------------------------------ autograd state
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad: only floating point tensors can require gradients, "
                f"got dtype {self.dtype} (convert first, e.g. x.float())"
            )
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "requires_grad_(False): this tensor was computed by an op; use .detach() instead"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory)."""
        return Tensor._make(self._data)

    def detach_(self) -> Tensor:
        self._node = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward."""
        if self._node is not None:
            self._node.retain(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if self._node is not None:
            return self._node.add_hook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    # ------------------------------------------------------------------ in-place updates
    # These write into the array outside a recorded graph; ``lamina/ops/inplace.py`` wraps them so that
    # inside one (grad mode on and a gradient flowing) the change is recorded as an op instead.
    def _check_inplace(self, name):
        if _mode.grad_enabled and self.requires_grad:
            kind = "a leaf tensor that requires grad" if self._node is None else "a tensor that is part of a graph"
            raise RuntimeError(
                f"{name}: in-place update of {kind}; wrap it in lamina.no_grad() "
                "(as optimizers do) or work on a .detach()ed copy"
            )

    def _assign(self, name, values) -> Tensor:
        self._check_inplace(name)
        d = self._data
        if not d.flags.writeable:
            self._data = d = d.copy()
        d[...] = values
        bump_version(self)
        return self

    def zero_(self):
        return self._assign("zero_", 0)

    def fill_(self, value):
        return self._assign("fill_", _raw(value))

    def copy_(self, src):
        src = _raw(src)
        try:
            np.broadcast_to(src, self.shape)
        except ValueError:
            raise RuntimeError(
                f"copy_: source of shape {np.shape(src)} cannot be broadcast to destination shape {tuple(self.shape)}"
            ) from None
        return self._assign("copy_", src)

    def add_(self, other, alpha=1):
        o = _raw(other)
        return self._assign("add_", self._data + (o if alpha == 1 else alpha * o))

    def sub_(self, other, alpha=1):
        o = _raw(other)
        return self._assign("sub_", self._data - (o if alpha == 1 else alpha * o))

    def mul_(self, other):
        return self._assign("mul_", self._data * _raw(other))

    def div_(self, other):
        return self._assign("div_", self._data / _raw(other))

    def clamp_(self, min=None, max=None):
        return self._assign("clamp_", np.clip(self._data, min, max))

    clip_ = clamp_

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return self._assign("uniform_", rng(generator).uniform(a, b, self.shape))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return self._assign("normal_", rng(generator).normal(mean, std, self.shape))

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        if not self._data.flags.writeable:
            self._data = self._data.copy()
        self._data[_index(index)] = _raw(value)
        bump_version(self)

    def __iadd__(self, other):
        return self._inplace_binary("__iadd__", other, np.add)

    def __isub__(self, other):
        return self._inplace_binary("__isub__", other, np.subtract)

    def __imul__(self, other):
        return self._inplace_binary("__imul__", other, np.multiply)

    def __itruediv__(self, other):
        return self._inplace_binary("__itruediv__", other, np.true_divide)

    def _inplace_binary(self, name, other, ufunc):
        # outside a graph only: lamina/ops/inplace.py records the change when a gradient flows
        self._check_inplace(name)
        if not self._data.flags.writeable:
            self._data = self._data.copy()
        o = _raw(other)
        if np.result_type(self._data, o) != self._data.dtype and not isinstance(other, numbers.Number):
            raise RuntimeError(f"{name}: result type {np.result_type(self._data, o)} can't be cast to {self.dtype}")
        ufunc(self._data, o, out=self._data, casting="unsafe")
        bump_version(self)
        return self


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Parameter(Tensor):
    """A tensor that a Module registers as a learnable parameter (requires grad by default)."""

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        return object.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty(0, dtype=get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = _to_array(data, None)
        self._init(arr, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._make(self._data), self.requires_grad))


# ---------------------------------------------------------------------- helpers for creation
def _raw(x):
    """The array (or scalar) behind x."""
    return x._data if isinstance(x, Tensor) else x


def _index(index):
    """Turn tensors inside an index into arrays."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list) and any(isinstance(i, Tensor) for i in index):
        return np.asarray([_raw(i) for i in index])
    return index


def _to_array(data, dtype) -> np.ndarray:
    """PyTorch's rules: arrays keep their dtype; Python floats become the default float dtype."""
    dtype = as_dtype(dtype)
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, (np.generic, numbers.Real)):
        arr = _scalar_array(data, dtype)
    else:
        arr = _nested_array(data, dtype)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return xp.asarray(arr)


def _scalar_array(data, dtype) -> np.ndarray:
    """A 0-d array: NumPy scalars keep their dtype, bool → bool, int → int64, float → ``dtype`` or the default."""
    if isinstance(data, np.generic):
        return np.asarray(data)
    if isinstance(data, bool):
        return np.asarray(data, dtype=np.bool_)
    if isinstance(data, numbers.Integral):
        return np.asarray(data, dtype=np.int64)
    return np.asarray(data, dtype=dtype or get_default_dtype())


def _nested_array(data, dtype) -> np.ndarray:
    """An array from (nested) sequences, which may hold tensors: floats → the default float dtype and
    ints → int64 unless ``dtype`` is given; anything not numeric or bool is refused."""
    if isinstance(data, (list, tuple)) and _holds_tensors(data):
        data = _unwrap_nested(data)
    arr = np.asarray(data)
    if arr.dtype.kind == "f" and dtype is None:
        arr = arr.astype(get_default_dtype())
    elif arr.dtype.kind in "iu" and dtype is None:
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "fiubc":
        raise TypeError(f"tensor: cannot make a tensor from data of type {arr.dtype} ({type(data).__name__})")
    return arr


def _holds_tensors(seq) -> bool:
    return any(isinstance(s, Tensor) or (isinstance(s, (list, tuple)) and _holds_tensors(s)) for s in seq)


def _unwrap_nested(seq):
    return [_unwrap_nested(s) if isinstance(s, (list, tuple)) else _raw(s) for s in seq]


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (like ``torch.tensor``)."""
    check_device(device)
    arr = _to_array(data, dtype)
    if arr is _raw(data) or (isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = arr.copy()
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with an ndarray of the right dtype."""
    check_device(device)
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype) == data.dtype):
        return data
    return Tensor._make(_to_array(data, dtype))


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (dtype kept)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    return Tensor._make(arr)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _new(arr, dtype, requires_grad):
    dtype = as_dtype(dtype)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype):
    return as_dtype(dtype) or get_default_dtype()


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _new(np.zeros(_size(size), dtype=_float_dtype(dtype)), None, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _new(np.ones(_size(size), dtype=_float_dtype(dtype)), None, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _new(np.empty(_size(size), dtype=_float_dtype(dtype)), None, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    if dtype is None:
        dtype = _to_array(fill_value, None).dtype
    return _new(np.full(_size((size,)), fill_value, dtype=as_dtype(dtype)), None, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _new(np.eye(n, m, dtype=_float_dtype(dtype)), None, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    return zeros(*np.shape(_raw(t)), dtype=dtype or _raw(t).dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    return ones(*np.shape(_raw(t)), dtype=dtype or _raw(t).dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    return empty(*np.shape(_raw(t)), dtype=dtype or _raw(t).dtype, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    return full(np.shape(_raw(t)), fill_value, dtype=dtype or _raw(t).dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    if end is None:
        start, end = 0, start
    values = (start, end, step)
    if dtype is None:
        dtype = np.int64 if all(isinstance(v, numbers.Integral) for v in values) else get_default_dtype()
    return _new(np.arange(start, end, step, dtype=as_dtype(dtype)), None, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _new(np.linspace(start, end, int(steps), dtype=_float_dtype(dtype)), None, requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _new(np.logspace(start, end, int(steps), base=base, dtype=_float_dtype(dtype)), None, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1), drawn from lamina's seeded generator."""
    check_device(device)
    d = _float_dtype(dtype)
    return _new(rng(generator).random(_size(size), dtype=d if d.itemsize >= 4 else np.float32).astype(d, copy=False),
                None, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal, drawn from lamina's seeded generator."""
    check_device(device)
    d = _float_dtype(dtype)
    arr = rng(generator).standard_normal(_size(size), dtype=d if d.itemsize >= 4 else np.float32)
    return _new(arr.astype(d, copy=False), None, requires_grad)


_NO = object()  # an argument not given


def _randint_bounds(args: tuple, low, high, size) -> tuple:
    """(low, high, size) from ``randint``'s positional and keyword forms (low = 0 unless given)."""
    given = [n for n, a in zip(("low", "high", "size"), (low, high, size)) if a is not _NO]
    if len(args) + len(given) not in (2, 3) or len(args) > 3:
        raise TypeError(f"randint: expected (high, size) or (low, high, size), got {len(args)} positional "
                        f"argument(s) and keywords {given}")
    vals = list(args)
    size, high = _randint_take(vals, size, _NO), _randint_take(vals, high, _NO)
    low = _randint_take(vals, low, 0)
    if vals or size is _NO or high is _NO:
        raise TypeError("randint: expected (high, size) or (low, high, size)")
    return low, high, size


def _randint_take(vals: list, given, default):
    """A keyword argument if given, else the last positional one left in ``vals`` (taken), else ``default``."""
    if given is not _NO:
        return given
    return vals.pop() if vals else default


def _randint_int(name: str, v) -> int:
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"randint: argument '{name}' must be an int, not {type(v).__name__}")
    return int(v)


def randint(*args, low=_NO, high=_NO, size=_NO, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers drawn uniformly from [low, high) (low = 0 unless given), as ``torch.randint``:
    ``randint(high, size)``, ``randint(low, high, size)``, or any of them as keywords."""
    check_device(device)
    low, high, size = _randint_bounds(args, low, high, size)
    low, high = _randint_int("low", low), _randint_int("high", high)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: argument 'size' must be a tuple of ints, not {type(size).__name__}")
    if low >= high:
        raise RuntimeError(f"randint: expected low < high, got low={low} >= high={high}")
    return _new(rng(generator).integers(low, high, size=_size((size,)), dtype=np.int64), dtype or np.int64,
                requires_grad)


def randint_like(t, low=0, high=None, *, dtype=None, generator=None, device=None, requires_grad=False) -> Tensor:
    """``randint`` with ``t``'s shape and dtype: ``randint_like(t, high)`` or ``randint_like(t, low, high)``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(t.shape), generator=generator, dtype=dtype or t.dtype, device=device,
                   requires_grad=requires_grad)


def randperm(n, generator=None, dtype=None, device=None) -> Tensor:
    check_device(device)
    return _new(rng(generator).permutation(int(n)).astype(np.int64), dtype, False)


def rand_like(t, dtype=None, generator=None) -> Tensor:
    return rand(*t.shape, dtype=dtype or t.dtype, generator=generator)


def randn_like(t, dtype=None, generator=None) -> Tensor:
    return randn(*t.shape, dtype=dtype or t.dtype, generator=generator)


def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None) -> Tensor:
    if size is None:
        size = np.broadcast_shapes(np.shape(_raw(mean)), np.shape(_raw(std)))
    arr = rng(generator).normal(_raw(mean), _raw(std), _size((size,)))
    return _new(arr, _float_dtype(dtype), False)
