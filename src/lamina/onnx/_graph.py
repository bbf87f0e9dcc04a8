"""The ONNX graph being built: nodes, initializers, constants, and what is known of each value.

Every value carries its traced shape (the sizes of the one forward pass) and a symbolic shape ``sym``:
per dim, None for a fixed size or a string for a dynamic one: the name given in ``dynamic_axes``
("batch"), that size times a fixed factor ("batch*3": a batch dim merged with 3 values inside it, as a
flatten of (batch, 3) makes), or "" for a dynamic size of no known form. Shape-dependent nodes (Reshape,
Slice, Expand, Resize) read ``sym`` so that a dynamic size is never written into the file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ExportError

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

Sym = tuple  # per dim: None (fixed size) or str (dynamic; "" when it has no name)


@dataclass
class Value:
    """One tensor of the graph: its name, traced shape and dtype, symbolic shape and kind
    ('input', 'param', 'const' or 'node'); constants keep their array."""

    name: str
    shape: tuple
    dtype: np.dtype
    sym: Sym
    kind: str = "node"
    array: Any = None

    @property
    def dynamic(self) -> bool:
        return any(s is not None for s in self.sym)

    def describe(self) -> str:
        dims = ", ".join(str(n) if s is None else (repr(s) if s else "?") for n, s in zip(self.shape, self.sym))
        return f"({dims}{',' if len(self.shape) == 1 else ''})"


def fixed(shape) -> Sym:
    return (None,) * len(shape)


def parse_dim(s: str) -> tuple[str, int]:
    """"batch*3" -> ("batch", 3); "batch" -> ("batch", 1); "" -> ("", 1) (a dynamic size of no known form)."""
    name, _, coef = s.partition("*")
    return name, int(coef) if coef else 1


def dim_expr(name: str, coef: int) -> str:
    return "" if not name else name if coef == 1 else f"{name}*{coef}"


def merged_sym(syms, sizes) -> str | None:
    """The symbolic size of dims merged into one (row-major): fixed when all are; name*(c·rest) when the one
    dynamic dim is the outermost of the group and has a known form; else "" (dynamic, form unknown)."""
    dyn = [i for i, s in enumerate(syms) if s is not None]
    if not dyn:
        return None
    if dyn != [0]:
        return ""
    name, coef = parse_dim(syms[0])
    return dim_expr(name, coef * int(np.prod(sizes[1:], dtype=np.int64)))


def broadcast_sym(values: list[Value], out_shape: tuple) -> Sym:
    """The symbolic shape of a broadcast result: a dim is dynamic where an operand is dynamic at full size."""
    n = len(out_shape)
    sym: list = [None] * n
    for v in values:
        lead = n - len(v.shape)
        for i, (size, s) in enumerate(zip(v.shape, v.sym)):
            if s is not None and size == out_shape[lead + i] and sym[lead + i] is None:
                sym[lead + i] = s
    return tuple(sym)


def check_no_fixed_copy(what: str, values: list[Value], out_shape: tuple, out_sym: Sym, skip_axis=None) -> None:
    """Refuse an operand whose size along a dynamic dim is fixed (> 1): it was made for the traced size only
    (computed outside the graph, e.g. with ``.numpy()`` or from a shape read as a Python int)."""
    n = len(out_shape)
    for v in values:
        lead = n - len(v.shape)
        for i, (size, s) in enumerate(zip(v.shape, v.sym)):
            j = lead + i
            if j == skip_axis or j < 0:
                continue
            if out_sym[j] is not None and s is None and size > 1:
                raise ExportError(
                    f"{what}: an operand of shape {tuple(v.shape)} ({v.kind}) has the fixed size {size} along dim {j}, "
                    f"which is dynamic ({out_sym[j]!r}) in the export; it was computed outside the traced graph "
                    "(from .numpy(), a Python number or a shape read as an int), so the ONNX graph would only "
                    "work for the traced size")


class Graph:
    """Collects nodes and initializers in the order they are made."""

    def __init__(self, opset: int):
        from onnx import helper

        self.helper = helper
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._names: set[str] = set()
        self._counts: dict[str, int] = {}
        self._consts: dict[tuple, str] = {}
        self.dim_sizes: dict[str, int] = {}  # dynamic dim name -> its size in the traced pass

    def fresh(self, base: str) -> str:
        """A value / node name not used yet: ``base``, else ``base_1``, ``base_2``, …"""
        k = self._counts.get(base, 0)
        name = base if k == 0 and base not in self._names else f"{base}_{k}"
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._counts[base] = k + 1
        self._names.add(name)
        return name

    def reserve(self, name: str) -> str:
        if name in self._names:
            raise ExportError(f"onnx.export: the name {name!r} is used twice (input, output or parameter names "
                              "must be distinct)")
        self._names.add(name)
        return name

    def add(self, op_type: str, inputs: list[str], n_out: int = 1, outputs: list[str] | None = None,
            **attrs) -> Any:
        """Append one node; returns its output name (a list when ``n_out`` > 1)."""
        outs = outputs if outputs is not None else [self.fresh(f"{op_type}_out") for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, inputs, outs, name=self.fresh(op_type), **attrs))
        return outs[0] if len(outs) == 1 else outs

    def initializer(self, array: np.ndarray, name: str) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, array, dtype=None, base: str = "const") -> str:
        """A constant initializer (small ones are shared between the nodes that use the same values)."""
        a = np.asarray(array, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes()) if a.size <= 64 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        name = self.initializer(a, self.fresh(base))
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values) -> str:
        """A 1-D int64 constant (shapes, axes, pads, slice bounds)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1), base="ints")

    def scalar(self, value, dtype) -> str:
        return self.const(np.asarray(value, dtype=dtype), base="scalar")

    # ------------------------------------------------------------------ nodes whose form depends on the opset
    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """ReduceSum takes its axes as an input from opset 13, the other reductions from opset 18."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.add(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.add(op_type, [x], axes=axes, keepdims=int(keepdims))

    def squeeze(self, x: str, axes) -> str:
        return self.add("Squeeze", [x, self.ints(axes)])

    def unsqueeze(self, x: str, axes) -> str:
        return self.add("Unsqueeze", [x, self.ints(axes)])

    def slice(self, x: str, starts, ends, axes, steps=None) -> str:
        ins = [x, self.ints(starts), self.ints(ends), self.ints(axes)]
        if steps is not None:
            ins.append(self.ints(steps))
        return self.add("Slice", ins)
