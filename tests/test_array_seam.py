"""The array seam: the compute code reaches the array library only through ``lamina.backend``.

Swapping NumPy for another array module with its API (CuPy) then comes down to backend.py."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lamina"
SEAMED = ["autograd", "ops", "nn/functional", "optim", "sparse.py", "func"]
# files that still call NumPy directly, with the reason; keep this list short and shrinking
EXCEPTIONS: dict[str, str] = {}


def _files():
    for entry in SEAMED:
        p = SRC / entry
        yield from ([p] if p.suffix == ".py" else sorted(p.rglob("*.py")))


ARRAY_LIBRARIES = ("numpy", "scipy")  # scipy: NumPy's companion (special functions, sparse kernels)


def _numpy_imports(path: Path) -> list[int]:
    """Lines importing NumPy or SciPy, at module level or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in ARRAY_LIBRARIES for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ARRAY_LIBRARIES:
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", list(_files()), ids=lambda p: str(p.relative_to(SRC)))
def test_compute_code_imports_no_array_library_directly(path):
    rel = str(path.relative_to(SRC))
    if rel in EXCEPTIONS:
        pytest.skip(EXCEPTIONS[rel])
    lines = _numpy_imports(path)
    assert not lines, (f"{rel} imports numpy or scipy at line(s) {lines}: use lamina.backend (xp, as_strided, "
                       "index_add, special, segment_sums)")
