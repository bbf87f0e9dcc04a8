"""Draw the backward graph, as torchviz's ``make_dot`` does for PyTorch.

``to_dot(loss, params=dict(model.named_parameters()))`` returns Graphviz DOT text:
one box per op (its name and output shape), parameters in blue with their names,
other leaves in grey. ``render(loss, "graph.svg")`` runs the ``dot`` program.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from ._atomic import atomic_write
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


make_dot = to_dot


def render(graph, path: str, params: dict | None = None) -> str:
    """Write the graph to ``path``: .dot/.gv as text, .svg/.png/.pdf through Graphviz's ``dot``."""
    dot = graph if isinstance(graph, str) else to_dot(graph, params)
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

