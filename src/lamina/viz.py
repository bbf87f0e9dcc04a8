"""Draw a model: its backward graph, as torchviz's ``make_dot`` does, and its module graph, as torchview's
``draw_graph`` does, both in Graphviz DOT.

* ``to_dot(loss, params=dict(model.named_parameters()))`` returns the DOT text of the backward graph: one
  box per op (its name and output shape), parameters in blue with their names, other leaves in grey.
* ``make_dot(loss, params=...)`` returns the same graph as a :class:`DotGraph`: ``.source`` is the DOT text
  (``str(graph)`` too), ``.render(filename, format="svg")`` draws it.
* ``draw_graph(model, input_size=(1, 1, 28, 28), depth=3)`` runs one forward pass on zeros with forward hooks
  and returns a :class:`ModuleGraph`: the layers as boxes with their input and output shapes, the data flowing
  between them (ops between layers, such as a residual ``Add``, as ellipses), containers as clusters.
* ``render(graph, "graph.svg")`` writes .dot/.gv as text and .svg/.png/.pdf through Graphviz's ``dot``
  program (when it is not installed: a RuntimeError saying how to install it).
"""
from __future__ import annotations

import html
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._atomic import atomic_write
from .autograd.grad_mode import enable_grad
from .tensor import Tensor


def _label(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


class _DotWriter:
    """Collects the DOT lines of a backward graph: one box per op, one per leaf, each written once."""

    def __init__(self, params: dict | None, show_shapes: bool):
        self.names = {id(p): n for n, p in (params or {}).items()}
        self.show_shapes = show_shapes
        self.lines = ["digraph lamina {",
                      '  rankdir=BT; node [shape=box, style=filled, fontname="Helvetica", fontsize=11];']
        self.seen: set[str] = set()

    def shape(self, shape) -> str:
        return f"\\n{tuple(shape)}" if self.show_shapes else ""

    def leaf(self, t: Tensor) -> str:
        key = f"t{id(t)}"
        if key not in self.seen:
            self.seen.add(key)
            name = self.names.get(id(t))
            if name is not None:
                self.lines.append(f'  {key} [label="{_label(name)}{self.shape(t.shape)}", fillcolor="lightblue"];')
            else:
                self.lines.append(f'  {key} [label="tensor{self.shape(t.shape)}", fillcolor="lightgrey"];')
        return key

    def op(self, node, out_shape) -> list:
        """Write ``node``'s box and the edges from its inputs; return the input ops still to visit."""
        key = f"n{id(node)}"
        if key in self.seen:
            return []
        self.seen.add(key)
        self.lines.append(f'  {key} [label="{_label(node.name())}{self.shape(out_shape)}", fillcolor="white"];')
        if node.inputs is None:
            return []
        todo = []
        for t, need in zip(node.inputs, node.needs):
            if not need:
                continue
            if t._node is None:
                self.lines.append(f"  {self.leaf(t)} -> {key};")
            else:
                self.lines.append(f"  n{id(t._node)} -> {key};")
                todo.append((t._node, t.shape))
        return todo

    def graph(self, root: Tensor) -> None:
        self.lines.append(f'  out [label="output{self.shape(root.shape)}", fillcolor="darkolivegreen1"];')
        self.lines.append(f"  n{id(root._node)} -> out;")
        stack = [(root._node, root.shape)]
        while stack:
            stack.extend(self.op(*stack.pop()))

    def text(self) -> str:
        return "\n".join([*self.lines, "}"])


def to_dot(root: Tensor, params: dict | None = None, show_shapes: bool = True) -> str:
    """The backward graph that produced ``root`` in Graphviz DOT."""
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot: expected a tensor, got {type(root).__name__}")
    writer = _DotWriter(params, show_shapes)
    if root._node is None:
        writer.leaf(root)
    else:
        writer.graph(root)
    return writer.text()


class DotGraph:
    """A graph in Graphviz DOT, as ``graphviz.Digraph`` (what torchviz's ``make_dot`` returns) holds it:
    ``.source`` is the text, and ``str(graph)`` is too (callers that took the text as a string keep working)."""

    def __init__(self, source: str):
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"DotGraph({len(self.source.splitlines())} lines of DOT)"

    def render(self, filename: str = "graph", format: str = "svg") -> str:
        """Write the graph to ``filename`` with ``.format`` appended unless it already ends so (``"dot"``/``"gv"``:
        the DOT text, no Graphviz needed; ``"svg"``, ``"png"``, ``"pdf"``: through Graphviz's ``dot``). Returns
        the path written."""
        fmt = str(format).lower().lstrip(".")
        if fmt not in _FORMATS:
            raise ValueError(f"render: format must be one of {', '.join(_FORMATS)}, got {format!r}")
        path = os.fspath(filename)
        if os.path.splitext(path)[1].lower() != "." + fmt:
            path = f"{path}.{fmt}"
        return render(self.source, path)


_FORMATS = ("svg", "png", "pdf", "dot", "gv")


def make_dot(root: Tensor, params: dict | None = None, show_shapes: bool = True) -> DotGraph:
    """The backward graph that produced ``root`` (torchviz's ``make_dot``): a :class:`DotGraph` of the text of
    :func:`to_dot`; ``make_dot(loss, dict(model.named_parameters())).render("graph", format="svg")``."""
    return DotGraph(to_dot(root, params, show_shapes))


def render(graph, path: str, params: dict | None = None) -> str:
    """Write the graph to ``path``: .dot/.gv as text, .svg/.png/.pdf through Graphviz's ``dot``. ``graph``:
    DOT text, a :class:`DotGraph` or :class:`ModuleGraph`, or a tensor whose backward graph to draw."""
    if isinstance(graph, ModuleGraph):
        graph = graph.visual_graph
    dot = graph if isinstance(graph, str) else graph.source if isinstance(graph, DotGraph) else to_dot(graph, params)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt in ("dot", "gv"):
        atomic_write(path, dot.encode(), parents=False)
        return path
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            f"render: drawing {path!r} needs the Graphviz 'dot' program, which is not installed. Install it "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; conda: conda install "
            "graphviz), or save the DOT text with a .dot path instead."
        )
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"render: dot failed for format {fmt!r}: {proc.stderr.decode(errors='replace').strip()}")
    atomic_write(path, proc.stdout, parents=False)
    return path



# ---------------------------------------------------------------------------- the module graph (torchview)
@dataclass
class LayerCall:
    """One call of a module during the drawing pass: its dotted name, class, depth (children of the model: 1)
    and the shapes of its tensor inputs and outputs."""

    key: str
    name: str
    kind: str
    depth: int
    input_shapes: list = field(default_factory=list)
    output_shapes: list = field(default_factory=list)


class ModuleGraph:
    """What :func:`draw_graph` returns: ``layers`` (the :class:`LayerCall` of each module call, in call order),
    ``edges`` (pairs of node keys), ``visual_graph`` (a :class:`DotGraph`), ``source`` (its DOT text) and
    ``render(filename, format=)``."""

    def __init__(self, layers: list, ops: dict, edges: list, input_shapes: list, output_shapes: list, title: str):
        self.layers, self.ops, self.edges = layers, ops, edges
        self.input_shapes, self.output_shapes = input_shapes, output_shapes
        self.visual_graph = DotGraph(_module_dot(self, title))

    @property
    def source(self) -> str:
        return self.visual_graph.source

    def render(self, filename: str = "model", format: str = "svg") -> str:
        return self.visual_graph.render(filename, format)

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"ModuleGraph({len(self.layers)} layer calls, {len(self.ops)} ops between them)"


def _tensors(value) -> list:
    """The tensors in a module's arguments or output (nested tuples, lists and dict values)."""
    out, stack = [], [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Tensor):
            out.append(v)
        elif isinstance(v, (tuple, list)):
            stack.extend(reversed(v))
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
    return out


class _Tracer:
    """Forward hooks that record each visible module call and, by walking back through the autograd graph from
    its inputs, where they came from: another visible call's output, the model's input, or ops in between."""

    def __init__(self, inputs: list):
        self.layers: list[LayerCall] = []
        self.ops: dict[str, str] = {}          # op node key -> label
        self.edges: list[tuple[str, str]] = []
        self._edge_set: set = set()
        self.producer: dict[int, tuple[Tensor, str]] = {id(t): (t, "input") for t in inputs}
        self.pending: dict[int, list[LayerCall]] = {}
        self.op_keys: dict[int, str] = {}      # id(op node) -> key (the nodes stay alive in the graph meanwhile)

    def edge(self, a: str, b: str) -> None:
        if (a, b) not in self._edge_set:
            self._edge_set.add((a, b))
            self.edges.append((a, b))

    def connect(self, tensors: list, consumer: str) -> None:
        """Edges into ``consumer`` from the producers of ``tensors`` (iterative walk; ops become nodes)."""
        stack = [(t, consumer) for t in tensors]
        while stack:
            t, into = stack.pop()
            known = self.producer.get(id(t))
            if known is not None and known[0] is t:
                self.edge(known[1], into)
                continue
            node = t._node
            if node is None or node.inputs is None:
                continue  # a parameter or a constant
            key = self.op_keys.get(id(node))
            if key is not None:
                self.edge(key, into)
                continue
            key = self.op_keys[id(node)] = f"op{len(self.op_keys)}"
            self.edge(key, into)
            self.ops[key] = f"{_label(node.name())}\\n{tuple(t.shape)}"
            stack.extend((u, key) for u in node.inputs if isinstance(u, Tensor))

    def pre_hook(self, name: str, depth: int):
        def hook(module, args):
            call = LayerCall(f"m{len(self.layers)}", name, type(module).__name__, depth,
                             [tuple(t.shape) for t in _tensors(args)])
            self.layers.append(call)
            self.connect(_tensors(args), call.key)
            self.pending.setdefault(id(module), []).append(call)
        return hook

    def post_hook(self):
        def hook(module, args, output):
            call = self.pending[id(module)].pop()
            outs = _tensors(output)
            call.output_shapes = [tuple(t.shape) for t in outs]
            for t in outs:
                self.producer[id(t)] = (t, call.key)
        return hook


def _visible(model, depth: int) -> list[tuple[str, Any, int]]:
    """(name, module, depth) of the modules drawn as boxes: those at ``depth``, and leaves above it."""
    shown = []
    for name, m in model.named_modules():
        d = 0 if name == "" else name.count(".") + 1
        leaf = next(iter(m.children()), None) is None
        if d == depth or (leaf and d < depth):
            shown.append((name or type(model).__name__, m, d))
    return shown


def _draw_input(input_size, input_data, dtype) -> Tensor:
    """The tensor ``draw_graph`` runs the model on: zeros of ``input_size``, or ``input_data``, requiring grad."""
    if (input_size is None) == (input_data is None):
        raise ValueError("draw_graph: give input_size (a shape, e.g. (1, 1, 28, 28)) or input_data, exactly one")
    if input_data is None:
        try:
            shape = tuple(int(n) for n in input_size)
        except TypeError:
            raise TypeError(f"draw_graph: input_size must be a tuple of ints, got {input_size!r}") from None
        if not shape or min(shape) < 1:
            raise ValueError(f"draw_graph: input_size must be a non-empty shape of positive sizes, got {input_size!r}")
        x = Tensor._make(np.zeros(shape, dtype=dtype))
    else:
        x = input_data if isinstance(input_data, Tensor) else Tensor._make(np.asarray(input_data))
    return x.detach().requires_grad_(np.dtype(x.dtype).kind == "f")  # so every op after it records its node


def _traced_forward(model, x: Tensor, tracer: _Tracer, depth: int):
    """``model(x)`` in eval mode, with the tracer's hooks on the visible modules and fused activations off;
    hooks, modes and fuse switches restored afterwards."""
    handles = []
    for name, m, d in _visible(model, depth):
        handles.append(m.register_forward_pre_hook(tracer.pre_hook(name, d)))
        handles.append(m.register_forward_hook(tracer.post_hook()))
    modes = [(m, m.training) for m in model.modules()]
    fused = [(m, m.fuse_activations) for m in model.modules() if isinstance(getattr(m, "fuse_activations", None), bool)]
    try:
        model.eval()
        for m, _ in fused:
            m.fuse_activations = False
        with enable_grad():
            return model(x)
    finally:
        for h in handles:
            h.remove()
        for m, was in modes:
            m.training = was
        for m, was in fused:
            m.fuse_activations = was


def draw_graph(model, input_size=None, input_data=None, depth: int = 3, dtype=np.float32,
               graph_name: str | None = None) -> ModuleGraph:
    """The module graph of ``model`` (torchview's ``draw_graph``): run ``model`` once on zeros of
    ``input_size`` (or on ``input_data``, a tensor or array) with forward hooks, and return a
    :class:`ModuleGraph`: one box per module call with its name, class and input/output shapes, the modules at
    ``depth`` (children of the model: 1; a module with no children above ``depth`` is a box too) with the
    containers around them as clusters, an ellipse per op between boxes (``Add`` of a residual block, a
    reshape), and the edges of the data flow. The pass runs in eval mode under grad mode (the graph of the ops
    is what connects the boxes; nothing is backpropagated) and the model's mode is restored after it. A model
    with a ``fuse_activations`` switch (LeNet5: conv and ReLU as one fused op) has it off during the pass, so
    that each layer runs as its own module."""
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"draw_graph: depth must be an int >= 1, got {depth!r}")
    x = _draw_input(input_size, input_data, dtype)
    tracer = _Tracer([x])
    out = _traced_forward(model, x, tracer, int(depth))
    outs = _tensors(out)
    tracer.connect(outs, "output")
    return ModuleGraph(tracer.layers, tracer.ops, tracer.edges, [tuple(x.shape)], [tuple(t.shape) for t in outs],
                       graph_name or type(model).__name__)


def _shapes(shapes: list) -> str:
    if not shapes:
        return "—"
    return html.escape(", ".join(str(s) for s in shapes) if len(shapes) > 1 else str(shapes[0]))


def _box(call: LayerCall) -> str:
    """An HTML-like label: name and class on the left, input and output shapes on the right."""
    head = f"{html.escape(call.name)}<BR/><I>{html.escape(call.kind)}</I>"
    return (f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
            f'<TR><TD ROWSPAN="2" BGCOLOR="#c8e6f5">{head}</TD><TD>input</TD><TD>{_shapes(call.input_shapes)}</TD></TR>'
            f'<TR><TD>output</TD><TD>{_shapes(call.output_shapes)}</TD></TR></TABLE>>')


def _module_dot(g: ModuleGraph, title: str) -> str:
    lines = [f'digraph "{_label(title)}" {{',
             '  rankdir=TB; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica"];',
             f'  input [shape=box, style="rounded,filled", fillcolor="#e2f0d9", '
             f'label="input-tensor\\n{_shapes(g.input_shapes)}"];',
             f'  output [shape=box, style="rounded,filled", fillcolor="#e2f0d9", '
             f'label="output-tensor\\n{_shapes(g.output_shapes)}"];']
    boxes, children = _clusters(g.layers)
    for call in boxes[""]:
        lines.append(f"  {call.key} [shape=plaintext, label={_box(call)}];")
    lines += _cluster_lines(boxes, children)
    for key, label in g.ops.items():
        lines.append(f'  {key} [shape=ellipse, style=filled, fillcolor="#fff2cc", label="{label}"];')
    lines += [f"  {a} -> {b};" for a, b in g.edges]
    return "\n".join([*lines, "}"])


def _clusters(layers) -> tuple[dict[str, list[LayerCall]], dict[str, list[str]]]:
    """Containers as clusters: each box sits in the clusters of its dotted name's prefixes ("layer1.0.conv1"
    in "layer1" and "layer1.0"). Returns the boxes of each cluster and its child clusters ("" the top)."""
    boxes: dict[str, list[LayerCall]] = {"": []}
    children: dict[str, list[str]] = {"": []}
    for call in layers:
        parts = call.name.split(".") if call.depth > 0 else []
        parent = ""
        for i in range(1, len(parts)):
            path = ".".join(parts[:i])
            if path not in children:
                children[path], boxes[path] = [], []
                children[parent].append(path)
            parent = path
        boxes[parent].append(call)
    return boxes, children


def _cluster_lines(boxes: dict[str, list[LayerCall]], children: dict[str, list[str]]) -> list[str]:
    """The clusters' subgraphs, written depth-first with an explicit stack (no recursion)."""
    lines: list[str] = []
    stack: list = [("open", c, 1) for c in reversed(children[""])]
    while stack:
        what, name, d = stack.pop()
        pad = "  " * d
        if what == "close":
            lines.append(pad + "}")
            continue
        cid = "cluster_" + "".join(ch if ch.isalnum() else "_" for ch in name)
        lines.append(f'{pad}subgraph {cid} {{ label="{_label(name)}"; style="rounded,dashed"; color="grey50";')
        lines += [f"{pad}  {call.key} [shape=plaintext, label={_box(call)}];" for call in boxes[name]]
        stack.append(("close", name, d))
        stack.extend(("open", c, d + 1) for c in reversed(children[name]))
    return lines
