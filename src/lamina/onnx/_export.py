"""``export``: one traced forward pass of a model, walked from its outputs, written as an ONNX model.

1. Trace. The model runs once in eval mode on the example inputs with grad mode on, its floating inputs
   and every parameter requiring grad, so lamina's autograd records each op it applies (op, input
   tensors, output array). Layers exported whole (``_layers``) get a forward hook that puts one
   ``LayerNode`` in the graph in place of the ops of their forward.
2. Walk. From the outputs, an iterative depth-first walk (no recursion) orders the recorded nodes inputs
   first. A leaf tensor is a model input, a parameter or buffer (an initializer under its state_dict
   name) or a constant (an initializer of its own).
3. Convert. Each node becomes ONNX nodes by its class (``_convert``) or its layer (``_layers``); values
   carry symbolic shapes, so dims named in ``dynamic_axes`` stay dynamic through reshapes and slices.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._atomic import atomic_write
from ..autograd.grad_mode import enable_grad
from ..nn import Module
from ..tensor import Tensor
from . import _convert_fold, _convert_special  # noqa: F401  (they register their converters)
from ._convert import Ctx, converter_for, onnx_dtype
from ._graph import Graph, Value
from ._layers import layer_converter
from .errors import ExportError

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax over one axis, ReduceSum's axes input, Squeeze/Unsqueeze/Slice inputs


class LayerNode:
    """A layer exported whole: stands in the recorded graph for the ops of its forward."""

    def __init__(self, module: Module, path: str, inputs: tuple, outs: list, convert):
        self.module, self.path, self.inputs, self.outs = module, path, inputs, outs
        self.convert = convert  # chosen when tracing, while the module is in eval mode


class Select:
    """Output ``k`` of a layer with several outputs (its only input points at the LayerNode)."""

    def __init__(self, anchor: Tensor, k: int):
        self.inputs, self.k = (anchor,), k


def _tensors(obj) -> list | None:
    """The tensors of a tensor or of nested tuples / lists of them, in order; None when something else is there."""
    out: list = []
    todo = [obj]
    while todo:
        o = todo.pop()
        if isinstance(o, Tensor):
            out.append(o)
        elif isinstance(o, (tuple, list)) and o:
            todo.extend(reversed(o))
        else:
            return None
    return out


def _one_level(out) -> bool:
    """Whether ``out`` is a non-empty tuple of tensors and of non-empty tuples of tensors."""
    return isinstance(out, tuple) and bool(out) and all(
        isinstance(o, Tensor) or (isinstance(o, tuple) and o and all(isinstance(t, Tensor) for t in o)) for o in out)


def _rebuilt(like: tuple, flat: list) -> tuple:
    """``like`` (a tuple of tensors and tuples of tensors) with its tensors replaced, in order, by ``flat``."""
    it = iter(flat)
    return tuple(next(it) if isinstance(o, Tensor) else tuple(next(it) for _ in o) for o in like)


def _layer_hook(path: str, convert):
    def hook(module, args, kwargs, out):
        tensors = tuple(t for a in (*args, *kwargs.values()) for t in (_tensors(a) or ()))
        if isinstance(out, Tensor):
            return Tensor._make(out._data, True, LayerNode(module, path, tensors, [out._data], convert))
        if _one_level(out):
            flat = _tensors(out) or []
            node = LayerNode(module, path, tensors, [o._data for o in flat], convert)
            anchor = Tensor._make(flat[0]._data, True, node)
            return _rebuilt(out, [Tensor._make(o._data, o.dtype.kind == "f", Select(anchor, k))
                                  for k, o in enumerate(flat)])
        raise ExportError(f"onnx.export: layer '{path or type(module).__name__}' ({type(module).__name__}) returned "
                          f"{type(out).__name__}, expected a tensor or a tuple of tensors")
    return hook


@contextlib.contextmanager
def _tracing(model: Module, opset: int) -> Iterator[None]:
    """Eval mode, grad mode on, every floating parameter requiring grad, hooks on the layers exported whole;
    all of it undone afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    frozen = [p for p in model.parameters() if not p.requires_grad and p.dtype.kind == "f"]
    handles: list = []
    try:
        model.eval()
        _set_requires_grad(frozen, True)
        _hook_layers(model, opset, handles)
        with enable_grad():
            yield
    finally:
        _undo_tracing(handles, frozen, modes)


def _set_requires_grad(params: list, flag: bool) -> None:
    for p in params:
        p.requires_grad = flag


def _hook_layers(model: Module, opset: int, handles: list) -> None:
    """A forward hook on each layer exported whole; each handle goes into ``handles`` as soon as it exists."""
    for path, m in model.named_modules():
        convert = layer_converter(m, opset)
        if convert is not None:
            handles.append(m.register_forward_hook(_layer_hook(path, convert), with_kwargs=True))


def _undo_tracing(handles: list, frozen: list, modes: list) -> None:
    for h in handles:
        h.remove()
    _set_requires_grad(frozen, False)
    for m, training in modes:
        m.training = training


def _walk(outputs: list[Tensor]) -> list:
    """The recorded nodes the outputs depend on, each after the nodes of its inputs (iterative DFS)."""
    order: list = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(t._node, False) for t in reversed(outputs) if t._node is not None]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((n, False) for n in _unseen_input_nodes(node, seen))
    return order


def _unseen_input_nodes(node, seen: set[int]) -> list:
    """The recorded nodes of ``node``'s tensor inputs not walked yet, last input first."""
    tensors = [t for t in reversed(node.inputs or ()) if isinstance(t, Tensor)]
    return [t._node for t in tensors if t._node is not None and id(t._node) not in seen]


def _as_tuple(args) -> tuple:
    if isinstance(args, Tensor):
        return (args,)
    if isinstance(args, np.ndarray):
        return (Tensor._make(args),)
    if isinstance(args, (tuple, list)):
        return tuple(Tensor._make(a) if isinstance(a, np.ndarray) else a for a in args)
    raise ExportError(f"onnx.export: example input must be a Tensor or a tuple of Tensors, got {type(args).__name__}")


def _names(given, n: int, base: str, what: str) -> list[str]:
    if given is None:
        given = []
    given = list(given)
    if len(given) > n or not all(isinstance(s, str) and s for s in given):
        raise ExportError(f"onnx.export: {what} must be at most {n} non-empty strings (one per {base} tensor), "
                          f"got {given!r}")
    auto = [base if n == 1 else f"{base}_{i}" for i in range(n)]
    names = given + auto[len(given):]
    if len(set(names)) != len(names):
        raise ExportError(f"onnx.export: {what} repeat a name: {names}")
    return names


def _dynamic_axes(dynamic_axes, shapes: dict[str, tuple]) -> dict[str, dict[int, str]]:
    """{name: {axis: dim name}} from torch's forms {name: {axis: dim name}} and {name: [axis, …]}."""
    out: dict[str, dict[int, str]] = {}
    for key, axes in (dynamic_axes or {}).items():
        if key not in shapes:
            raise ExportError(f"onnx.export: dynamic_axes names {key!r}, which is neither an input nor an output "
                              f"name (names: {sorted(shapes)})")
        out[key] = {}
        _axes_of(key, axes, shapes[key], out[key])
    return out


def _axes_of(key: str, axes, shape: tuple, into: dict[int, str]) -> None:
    """{axis: dim name} of one tensor of ``shape`` into ``into``, from {axis: dim name} or [axis, …]
    (default name ``{key}_dim{axis}``)."""
    rank = len(shape)
    pairs = axes.items() if isinstance(axes, dict) else ((a, f"{key}_dim{a}") for a in axes)
    for a, dim in pairs:
        _check_axis(key, a, dim, shape)
        into[int(a) % rank] = dim


def _check_axis(key: str, a, dim, shape: tuple) -> None:
    rank = len(shape)
    if not isinstance(a, (int, np.integer)) or not -rank <= a < max(rank, 1) or rank == 0:
        raise ExportError(f"onnx.export: dynamic_axes[{key!r}] axis {a!r} is out of range for a tensor of "
                          f"shape {shape}")
    if not isinstance(dim, str) or not dim:
        raise ExportError(f"onnx.export: dynamic_axes[{key!r}][{a}] must name the dim with a non-empty "
                          f"string, got {dim!r}")


def _opset(opset_version) -> int:
    import onnx

    top = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) or not MIN_OPSET <= opset <= top:
        raise ExportError(f"onnx.export: opset_version must be an int from {MIN_OPSET} to {top} (the newest this "
                          f"onnx package knows), got {opset_version!r}")
    return int(opset)


class _Exporter:
    """The state of one export: the graph, the values of recorded nodes and of leaf tensors."""

    def __init__(self, model: Module, g: Graph):
        self.g = g
        self.node_values: dict[int, Any] = {}
        self.leaf_values: dict[int, Value] = {}
        self.input_arrays: dict[int, Value] = {}
        self.used: set[str] = set()
        self.param_names: dict[int, str] = {}
        for name, p in model.named_parameters():
            self.param_names.setdefault(id(p), name)
        for name, b in model.named_buffers():
            if b is not None:
                self.param_names.setdefault(id(b), name)

    def add_input(self, t: Tensor, name: str, sym: tuple) -> Value:
        v = Value(name, tuple(t.shape), t.dtype, sym, "input")
        self.leaf_values[id(t)] = v
        self.input_arrays[id(t._data)] = v
        return v

    def leaf(self, t: Tensor) -> Value:
        v = self.leaf_values.get(id(t))
        if v is None:
            arr = np.asarray(t._data)
            name = self.param_names.get(id(t))
            if name is not None:
                v = Value(self.g.initializer(arr, self.g.reserve(name)), arr.shape, arr.dtype,
                          (None,) * arr.ndim, "param", arr)
            else:
                v = Value(self.g.const(arr), arr.shape, arr.dtype, (None,) * arr.ndim, "const", arr)
            self.leaf_values[id(t)] = v
        if v.kind == "input":
            self.used.add(v.name)
        return v

    def value(self, t: Tensor) -> Value:
        if t._node is None:
            return self.leaf(t)
        v = self.node_values[id(t._node)]
        if isinstance(v, list):
            raise ExportError("onnx.export: a layer with several outputs was used as one tensor")
        return v

    def convert(self, node) -> None:
        if isinstance(node, Select):
            self.node_values[id(node)] = self.node_values[id(node.inputs[0]._node)][node.k]
            return
        ins = [self.value(t) for t in node.inputs if isinstance(t, Tensor)]
        fn, op, label, outs = _converter(node)
        first = np.asarray(outs[0])
        ctx = Ctx(self.g, op, ins, first.shape, first.dtype, label, self.input_arrays, self.leaf)
        res = fn(ctx)
        values = _result_values(res if isinstance(res, list) else [res], outs, label)
        self.node_values[id(node)] = values if isinstance(res, list) else values[0]


def _converter(node) -> tuple[Any, Any, str, list]:
    """(converter, what its Ctx holds as the op, label for errors, traced output arrays) of a recorded node."""
    if isinstance(node, LayerNode):
        label = f"{type(node.module).__name__} layer" + (f" '{node.path}'" if node.path else "")
        return node.convert, node.module, label, node.outs
    return converter_for(node), node, f"{type(node).__name__} op", [node.out]


def _result_values(results: list, outs: list, label: str) -> list[Value]:
    """The ``Value`` of each converter result (name, symbolic shape), checked against its traced array."""
    values = []
    for (name, sym), arr in zip(results, outs):
        arr = np.asarray(arr)
        if len(sym) != arr.ndim:
            raise ExportError(f"onnx.export: internal error converting {label}: symbolic shape {sym} for a "
                              f"result of shape {tuple(arr.shape)}")
        values.append(Value(name, arr.shape, arr.dtype, tuple(sym)))
    return values


def _value_info(helper, name: str, v: Value, dims: dict[int, str] | None):
    shape: list = []
    for i, (n, s) in enumerate(zip(v.shape, v.sym)):
        if dims and i in dims:
            shape.append(dims[i])
        elif s and "*" not in s:
            shape.append(s)
        elif s is None:
            shape.append(int(n))
        else:
            shape.append(None)  # dynamic without a name
    return helper.make_tensor_value_info(name, onnx_dtype(v.dtype), shape)


def _rename(nodes, renames: dict[str, str]) -> None:
    for n in nodes:
        for field in (n.input, n.output):
            for i, name in enumerate(field):
                if name in renames:
                    field[i] = renames[name]


def export(model, args, f=None, *, input_names=None, output_names=None, dynamic_axes=None, opset_version=None):
    """Write ``model`` as an ONNX file ``f`` (a path, written atomically, or a binary file object; None: only
    return it) from one traced forward pass on ``args`` (a Tensor or a tuple of them). Returns the
    ``onnx.ModelProto``.

    ``input_names`` / ``output_names`` name the graph's tensors (default ``input``, ``output``, or
    ``input_0``, … for several); ``dynamic_axes`` marks dims whose size may change, as in torch:
    ``{"input": {0: "batch"}, "output": {0: "batch"}}`` (or ``{"input": [0]}``). ``opset_version``:
    default 17. The model is traced in eval mode (dropout off, BatchNorm on its running averages) and
    put back in its mode afterwards. A layer or op ONNX cannot express raises ``ExportError`` naming it."""
    onnx, helper = _import_onnx()
    if not isinstance(model, Module):
        raise ExportError(f"onnx.export: model must be a lamina.nn.Module, got {type(model).__name__}")
    opset = _opset(opset_version)
    call_args, tensors = _example(args)
    in_names = _names(input_names, len(tensors), "input", "input_names")

    g = Graph(opset)
    ex = _Exporter(model, g)
    traced = [Tensor._make(t._data, True) if t.dtype.kind == "f" else Tensor._make(t._data) for t in tensors]
    outputs = _trace(model, call_args, traced, opset)
    out_names = _names(output_names, len(outputs), "output", "output_names")
    axes = _io_axes(dynamic_axes, in_names, traced, out_names, outputs)

    inputs = [_graph_input(ex, t, name, axes.get(name, {})) for t, name in zip(traced, in_names)]
    for name in out_names:
        g.reserve(name)
    for node in _walk(outputs):
        ex.convert(node)
    out_infos = _graph_outputs(ex, helper, outputs, out_names, axes)
    _check_inputs_used(ex, inputs)

    graph = helper.make_graph(g.nodes, type(model).__name__,
                              [_value_info(helper, v.name, v, axes.get(v.name)) for v in inputs], out_infos,
                              g.initializers)
    proto = helper.make_model(graph, producer_name="lamina", opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.checker.check_model(proto)
    if f is not None:
        _write(proto, f)
    return proto


def _example(args) -> tuple[tuple, list[Tensor]]:
    """(the call's arguments, the tensors among them) of the example input."""
    call_args = _as_tuple(args)
    tensors = [a for a in call_args if isinstance(a, Tensor)]
    if not tensors:
        raise ExportError("onnx.export: the example input holds no Tensor")
    return call_args, tensors


def _io_axes(dynamic_axes, in_names: list[str], traced: list[Tensor], out_names: list[str],
             outputs: list[Tensor]) -> dict[str, dict[int, str]]:
    """The checked ``dynamic_axes`` of the named inputs and outputs (whose names may not overlap)."""
    shapes = {**{n: tuple(t.shape) for n, t in zip(in_names, traced)},
              **{n: tuple(o.shape) for n, o in zip(out_names, outputs)}}
    axes = _dynamic_axes(dynamic_axes, shapes)
    if set(in_names) & set(out_names):
        raise ExportError(f"onnx.export: input and output names overlap: {sorted(set(in_names) & set(out_names))}")
    return axes


def _import_onnx():
    """(onnx, onnx.helper), or an ImportError saying how to install onnx."""
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ImportError("lamina.onnx.export needs the onnx package: pip install onnx (or lamina[onnx])") from None
    return onnx, helper


def _trace(model: Module, call_args: tuple, traced: list[Tensor], opset: int) -> list[Tensor]:
    """The model's outputs from one traced call, its tensor arguments replaced in order by ``traced``."""
    it = iter(traced)
    call = tuple(next(it) if isinstance(a, Tensor) else a for a in call_args)
    with _tracing(model, opset):
        out = model(*call)
    outputs = _tensors(out)  # nested tuples, as LSTM's (output, (h_n, c_n)), give their tensors in order
    if not outputs:
        raise ExportError(f"onnx.export: the model must return a Tensor or a (nested) tuple of Tensors, got "
                          f"{type(out).__name__}")
    return outputs


def _graph_input(ex: _Exporter, t: Tensor, name: str, dims: dict[int, str]) -> Value:
    """The graph input ``name`` of traced tensor ``t``, its dims in ``dims`` named (one size per name)."""
    g = ex.g
    g.reserve(name)
    for i, dim in dims.items():
        if "*" in dim or g.dim_sizes.setdefault(dim, t.shape[i]) != t.shape[i]:
            raise ExportError(f"onnx.export: dynamic dim {dim!r} of input {name!r} has size {t.shape[i]} in the "
                              f"example, another input's {dim!r} has size {g.dim_sizes[dim]}"
                              if "*" not in dim else f"onnx.export: dynamic dim name {dim!r} may not hold '*'")
    return ex.add_input(t, name, tuple(dims.get(i) for i in range(t.ndim)))


def _graph_outputs(ex: _Exporter, helper, outputs: list[Tensor], out_names: list[str],
                   axes: dict[str, dict[int, str]]) -> list:
    """The value infos of the graph outputs; the node making each output is renamed to its output name
    (an Identity for an input returned as it is, or a value returned twice)."""
    g = ex.g
    renames: dict[str, str] = {}
    produced = {o for n in g.nodes for o in n.output}
    out_infos = []
    for k, (o, name) in enumerate(zip(outputs, out_names)):
        v = ex.value(o)
        if v.kind in ("param", "const"):
            raise ExportError(f"onnx.export: output {k} ('{name}') does not depend on the inputs: the forward cut "
                              "the graph (detach(), .numpy(), no_grad(), or an op with no gradient such as a "
                              "comparison or F.step) or returns a constant")
        if v.name in produced and v.name not in renames:
            renames[v.name] = name
        else:  # an input returned as it is, or one value returned twice
            g.add("Identity", [renames.get(v.name, v.name)], outputs=[name])
        out_infos.append(_value_info(helper, name, v, axes.get(name)))
    _rename(g.nodes, renames)
    return out_infos


def _check_inputs_used(ex: _Exporter, inputs: list[Value]) -> None:
    for v in inputs:
        if v.name not in ex.used and not any(v.name in n.input for n in ex.g.nodes):
            raise ExportError(f"onnx.export: input '{v.name}' does not reach the outputs: the forward ignores it or "
                              "cut the graph (detach(), .numpy(), no_grad())")


def _write(proto, f) -> None:
    """Serialized ``proto`` to a path (atomically) or a binary file object."""
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        atomic_write(f, data)
    else:
        f.write(data)
