"""Hot-path cost of a change: lamina at a git revision (before) against the working tree (after), in one process.

Both versions are imported side by side (the revision's ``src/lamina`` copied as package ``lamina_base``;
lamina's own imports are relative) and timed in alternating rounds on CPU time, so a shared, loaded
machine slows both alike. Reports the minimum and median per call and the median of the per-round ratios.

Run: python bench/hotpath_ab.py [REV] [ROUNDS]    (REV defaults to HEAD, ROUNDS to 40)
"""
from __future__ import annotations

import atexit
import importlib
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _import_revision(rev: str):
    """The package ``lamina_base``: ``src/lamina`` as it is at ``rev``."""
    tmp = Path(tempfile.mkdtemp(prefix="lamina_ab_"))
    atexit.register(shutil.rmtree, tmp, True)
    archive = tmp / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "src/lamina"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    (tmp / "src" / "lamina").rename(tmp / "lamina_base")
    sys.path.insert(0, str(tmp))
    return importlib.import_module("lamina_base")


def cases(lib) -> dict:
    rng = np.random.default_rng(0)

    def make(requires):
        return [lib.tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=requires) for _ in range(3)]

    a, b, c = make(True)
    fa, fb, fc = make(False)
    return {
        "(a*b+c).sum().backward()": (lambda: (a * b + c).sum().backward(), 1000),
        "5-op forward, no grad": (lambda: ((fa * fb + fc).tanh() @ fc).sum(), 2000),
        "a*b, no grad": (lambda: fa * fb, 5000),
        "a.exp(), no grad": (lambda: fa.exp(), 5000),
        "Tensor._make": (lambda: lib.Tensor._make(fa._data), 20000),
    }


def cpu_time(fn, number: int) -> float:
    """µs of CPU time per call."""
    t0 = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - t0) / number * 1e6


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    base = _import_revision(rev)
    sys.path.insert(0, str(ROOT / "src"))
    import lamina

    before, after = cases(base), cases(lamina)
    times: dict = {k: ([], []) for k in before}
    for k in before:  # warm up
        cpu_time(before[k][0], 200)
        cpu_time(after[k][0], 200)
    for r in range(rounds):
        for k, (fb, n) in before.items():
            fa = after[k][0]
            order = ((0, fb), (1, fa)) if r % 2 == 0 else ((1, fa), (0, fb))
            for side, fn in order:
                times[k][side].append(cpu_time(fn, n))
    print(f"lamina at {rev} (before) vs the working tree (after), {rounds} rounds, CPU µs per call")
    print(f"{'case':<28}{'before min':>11}{'after min':>11}{'before med':>11}{'after med':>11}{'ratio med':>11}")
    for k, (x, y) in times.items():
        ratio = statistics.median(b / a for a, b in zip(x, y))
        print(f"{k:<28}{min(x):>11.3f}{min(y):>11.3f}{statistics.median(x):>11.3f}{statistics.median(y):>11.3f}"
              f"{ratio:>11.3f}")


if __name__ == "__main__":
    main()
