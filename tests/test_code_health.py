"""Code health of src/lamina: no function above cyclomatic complexity 10 (radon grade B), no dead code (vulture)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "lamina"
MAX_COMPLEXITY = 10


def _blocks(src: str):
    """Every function, method and class of a module (methods come out both alone and inside their class)."""
    stack = list(cc_visit(src))
    while stack:
        b = stack.pop()
        yield b
        stack.extend(getattr(b, "closures", []))
        stack.extend(getattr(b, "methods", []))


def test_no_function_above_complexity_10():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for b in _blocks(path.read_text(encoding="utf-8")):
            if b.complexity > MAX_COMPLEXITY and not hasattr(b, "methods"):
                offenders.append(f"{path.relative_to(ROOT)}:{b.lineno} {b.fullname} ({b.complexity})")
    assert not offenders, (f"functions above cyclomatic complexity {MAX_COMPLEXITY} (radon grade C or worse); "
                           "split them into helpers:\n  "
                           + "\n  ".join(sorted(set(offenders))))


def test_vulture_finds_no_dead_code():
    # configuration (paths, min_confidence, ignore_names for torch-compat parameters) in pyproject [tool.vulture]
    r = subprocess.run([sys.executable, "-m", "vulture"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"vulture reports unused code (exit {r.returncode}):\n{r.stdout}{r.stderr}"
