"""Imports run one way: every import in src/lamina (function-level ones too) points down the layers,
and no group of modules imports itself round in a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lamina"

# lowest first; a module belongs to the first entry naming it or one of its parent packages
LAYERS = [
    ("base", ["lamina._mode", "lamina.errors", "lamina.backend", "lamina._atomic", "lamina._size", "lamina._promote"]),
    ("tensor", ["lamina.tensor", "lamina._tensor_methods", "lamina.sparse"]),
    ("autograd", ["lamina.autograd"]),
    ("ops", ["lamina.ops"]),
    ("transforms", ["lamina.func", "lamina.autograd.functional"]),  # torch.autograd.functional: built on func
    ("layers and optimizers", ["lamina.nn", "lamina.optim", "lamina.io", "lamina.serialization", "lamina.viz"]),
    ("data", ["lamina.utils", "lamina.datasets", "lamina.preprocessing", "lamina.text", "lamina.parallel"]),
    ("models and training", ["lamina.models", "lamina.train", "lamina.online", "lamina.onnx"]),
    ("search", ["lamina.tune"]),
    ("public namespace", ["lamina"]),  # lamina/__init__.py gathers the library for `import lamina`
    ("app", ["lamina.cli", "lamina.runs", "lamina.demo"]),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _layer(module: str) -> int:
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for pre in prefixes:
            if (module == pre or module.startswith(pre + ".")) and len(pre) > best_len:
                best, best_len = i, len(pre)
    if best is None:
        raise AssertionError(f"module {module} is in no layer of tests/test_layering.py: add it")
    return best


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The lamina modules an ``from X import a, b`` statement imports (X.a where a is a submodule)."""
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("lamina"):
        return []
    subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    return subs if len(subs) == len(node.names) else [target, *subs]


def _imports(module: str) -> list[tuple[str, int]]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [(t, node.lineno) for t in _resolve(module, path.name == "__init__.py", node)]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("lamina")]
    return [(t, line) for t, line in found if t != module]


GRAPH = {m: _imports(m) for m in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    here = _layer(module)
    upward = [f"line {line}: {target} ({LAYERS[_layer(target)][0]})" for target, line in GRAPH[module]
              if _layer(target) > here]
    assert not upward, f"{module} ({LAYERS[here][0]}) imports from a higher layer: " + "; ".join(upward)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    edges = {m: sorted({t for t, _ in GRAPH[m] if t in MODULES}) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on_stack.add(v)
            if i < len(edges[v]):
                work.append((v, i + 1))
                w = edges[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            for w in edges[v]:
                if w in on_stack:
                    low[v] = min(low[v], low[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles():
    assert _cycles() == []
