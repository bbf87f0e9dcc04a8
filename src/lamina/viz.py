"""Draw the backward graph (seed 001 shows torchviz's ``make_dot``).

``to_dot(loss, params=dict(model.named_parameters()))`` returns Graphviz DOT text:
one box per op (its name and output shape), parameters in blue with their names,
other leaves in grey. ``render(loss, "graph.svg")`` runs the ``dot`` program.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from .tensor import Tensor


def _label(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(root: Tensor, params: dict | None = None, show_shapes: bool = True) -> str:
    """The backward graph that produced ``root`` in Graphviz DOT."""
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot: expected a tensor, got {type(root).__name__}")
    names = {id(p): n for n, p in (params or {}).items()}
    lines = ["digraph lamina {", '  rankdir=BT; node [shape=box, style=filled, fontname="Helvetica", fontsize=11];']
    seen = set()

    def shape(t):
        return f"\\n{tuple(t.shape)}" if show_shapes else ""

    def leaf_node(t):
        key = f"t{id(t)}"
        if key not in seen:
            seen.add(key)
            name = names.get(id(t))
            if name is not None:
                lines.append(f'  {key} [label="{_label(name)}{shape(t)}", fillcolor="lightblue"];')
            else:
                lines.append(f'  {key} [label="tensor{shape(t)}", fillcolor="lightgrey"];')
        return key

    if root._node is None:
        leaf_node(root)
        lines.append("}")
        return "\n".join(lines)
    out_key = f"n{id(root._node)}"
    lines.append(f'  out [label="output{shape(root)}", fillcolor="darkolivegreen1"];')
    lines.append(f"  {out_key} -> out;")
    stack = [(root._node, root.shape)]
    while stack:
        node, out_shape = stack.pop()
        key = f"n{id(node)}"
        if key in seen:
            continue
        seen.add(key)
        lines.append(f'  {key} [label="{_label(node.name())}' + (f"\\n{tuple(out_shape)}" if show_shapes else "")
                     + '", fillcolor="white"];')
        if node.inputs is None:
            continue
        for t, need in zip(node.inputs, node.needs):
            if not need:
                continue
            if t._node is None:
                lines.append(f"  {leaf_node(t)} -> {key};")
            else:
                lines.append(f"  n{id(t._node)} -> {key};")
                stack.append((t._node, t.shape))
    lines.append("}")
    return "\n".join(lines)


make_dot = to_dot


def render(graph, path: str, params: dict | None = None) -> str:
    """Write the graph to ``path``: .dot/.gv as text, .svg/.png/.pdf through Graphviz's ``dot``."""
    dot = graph if isinstance(graph, str) else to_dot(graph, params)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    directory = os.path.dirname(os.path.abspath(path))
    if fmt in ("dot", "gv"):
        _write_atomic(path, dot.encode())
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
    _write_atomic(path, proc.stdout, directory)
    return path


def _write_atomic(path: str, data: bytes, directory: str | None = None) -> None:
    directory = directory or os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
