"""Containers: ``Sequential`` (a chain), ``ModuleList`` / ``ModuleDict`` (registered collections),
``ParameterList`` / ``ParameterDict``."""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, Self, cast

from ...tensor import Parameter, Tensor
from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(idx: int, n: int, what: str) -> int:
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{what}: index {idx} is out of range for {n} modules")
    return idx % n


def _renumber(table: OrderedDict, items: Iterable[Any]) -> None:
    """Store ``items`` in ``table`` under the names '0', '1', ... in their order (as PyTorch's lists do)."""
    table.clear()
    for i, m in enumerate(items):
        table[str(i)] = m


def _checked_module(module: Any) -> Module | None:
    if module is not None and not isinstance(module, Module):
        raise TypeError(f"{type(module).__name__} is not a Module subclass")
    return module


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: modules named '0', '1', ... in order."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(cast("Iterable[Module]", self._modules.values()))

    def append(self, module: Module) -> Any:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Any:
        for m in modules:
            self.append(m)
        return self

    def _insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, _checked_module(module))
        _renumber(self._modules, items)


class Sequential(_ModuleSequence):
    """Modules applied one after the other: ``Sequential(Linear(1, 10), ReLU(), Linear(10, 1))``.

    Built from modules (named '0', '1', ...) or from an OrderedDict of name -> module."""

    def __init__(self, *args: Any):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        for m in self:
            input = m(input)
        return input

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules)
        self.add_module(keys[_index(idx, len(keys), "Sequential")], module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        if isinstance(idx, slice):
            for k in keys[idx]:
                del self._modules[k]
        else:
            del self._modules[keys[_index(idx, len(keys), "Sequential")]]
        if all(k.isdigit() for k in keys):  # renumber, as PyTorch does, so indices stay 0..n-1
            _renumber(self._modules, list(self._modules.values()))

    def insert(self, index: int, module: Module) -> Sequential:
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        self._insert(index, module)
        return self

    def __add__(self, other: Sequential) -> Sequential:
        out = Sequential()
        for m in list(self) + list(other):
            out.append(m)
        return out


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (a plain Python list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ModuleList(list(self)[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx: int | slice) -> None:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(idx, len(items), "ModuleList")]
        _renumber(self._modules, items)

    def __iadd__(self, modules: Iterable[Module]) -> Self:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList(list(self) + list(other))

    def insert(self, index: int, module: Module) -> None:
        self._insert(index, module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("ModuleList is a container, not a layer: iterate over it in your module's forward")


class _TableDict(Module):
    """The dict interface over one of the module's tables: ``_modules`` (ModuleDict) or ``_parameters``
    (ParameterDict)."""

    _table_name = "_modules"

    def _table(self) -> OrderedDict[str, Any]:
        return self.__dict__[self._table_name]

    def __getitem__(self, key: str) -> Any:
        return self._table()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if self._table_name == "_modules":
            self.add_module(key, value)
        else:
            self.register_parameter(key, _as_param(value))

    def __delitem__(self, key: str) -> None:
        del self._table()[key]

    def __len__(self) -> int:
        return len(self._table())

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __contains__(self, key: object) -> bool:
        return key in self._table()

    def keys(self) -> Iterable[str]:
        return self._table().keys()

    def values(self) -> Iterable[Any]:
        return self._table().values()

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._table().items()

    def pop(self, key: str) -> Any:
        return self._table().pop(key)

    def clear(self) -> None:
        self._table().clear()

    def update(self, values: Any) -> None:
        """Set every (key, value) of a mapping or of an iterable of pairs."""
        items = values.items() if hasattr(values, "items") else values
        for k, v in items:
            self[k] = v


class ModuleDict(_TableDict):
    """A dict of modules whose parameters are registered."""

    def __init__(self, modules: Any = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("ModuleDict is a container, not a layer: look modules up in your module's forward")


class ParameterList(Module):
    """A list of parameters registered on the module (names '0', '1', ...)."""

    def __init__(self, values: Iterable[Any] | None = None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(cast("Iterable[Parameter]", self._parameters.values()))

    def __getitem__(self, idx: int) -> Parameter:
        return cast(Parameter, self._parameters[str(_index(idx, len(self), "ParameterList"))])

    def __setitem__(self, idx: int, value: Any) -> None:
        self.register_parameter(str(_index(idx, len(self), "ParameterList")), _as_param(value))

    def append(self, value: Any) -> ParameterList:
        self.register_parameter(str(len(self)), _as_param(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return _parameters_repr(self._parameters)


class ParameterDict(_TableDict):
    """A dict of parameters registered on the module."""

    _table_name = "_parameters"

    def __init__(self, values: Any = None):
        super().__init__()
        if values is not None:
            self.update(values)

    def extra_repr(self) -> str:
        return _parameters_repr(self._parameters)


def _as_param(v: Any) -> Parameter:
    return v if isinstance(v, Parameter) else Parameter(v)


def _parameters_repr(table: OrderedDict[str, Parameter | None]) -> str:
    return "\n".join(f"({k}): Parameter of shape {tuple(p.shape)} ({p.dtype})"
                     for k, p in table.items() if isinstance(p, Tensor))
