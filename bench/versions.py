"""lamina against an earlier commit of itself, in one process, interleaved round by round.

The commit is taken with ``git archive`` into a temporary folder and imported as the package
``lamina_REF`` (its absolute ``lamina`` imports renamed), so both versions run the same workloads in
the same process, on the same BLAS threads, alternating each round:

* ``tiny``: ``(a*b+c).sum().backward()`` on 3×3 tensors; ``ten``: a 10-op graph forward + backward;
  ``ops10``: bench/overhead.py's 10-op graph (with a matmul);
  ``nograd``: a 5-op forward under ``no_grad`` (engine and op overhead);
* ``mlp``: one SGD-momentum step of an MLP 784-256-128-10 on a batch of 128;
* ``lenet``: one Adam step of LeNet-5 on a batch of 64 (28×28);
* ``w2v``: one epoch of skip-gram word2vec (negative sampling, dim 100) on a 200k-word Zipf corpus.

Prints the median over rounds of time(current) / time(REF) per workload, with the machine load.

Run:  python bench/versions.py --ref 9a2bad1 [--rounds 15]
"""
from __future__ import annotations

import argparse
import importlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine_info, median

ROOT = Path(__file__).resolve().parents[1]


def import_commit(ref: str):
    """The package at commit ``ref`` as module ``lamina_<ref>``."""
    name = "lamina_" + re.sub(r"\W", "_", ref)
    tmp = Path(tempfile.mkdtemp(prefix="lamina-ref-"))
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src/lamina"], check=True,
                          capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(data)).extractall(tmp, filter="data")
    pkg = tmp / name
    (tmp / "src" / "lamina").rename(pkg)
    pattern = re.compile(r"\b(from|import) lamina\b")
    for f in pkg.rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        new = pattern.sub(lambda m: f"{m.group(1)} {name}", text)
        if new != text:
            f.write_text(new, encoding="utf-8")
    sys.path.insert(0, str(tmp))
    return importlib.import_module(name)


# ------------------------------------------------------------------------------------ workloads
def tiny(L):
    rng = np.random.default_rng(0)
    a, b, c = (L.tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True) for _ in range(3))

    def run():
        (a * b + c).sum().backward()
    return run, 2000


def ten(L):
    rng = np.random.default_rng(0)
    a, b, c = (L.tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True) for _ in range(3))

    def run():
        y = (a * b + c).tanh() * a - b.exp() / (c * c + 1.0)
        (y.relu() + a.sigmoid()).mean().backward()
    return run, 500


def ops10(L):
    """bench/overhead.py's 10-op case: (a*b+c).tanh(), exp·a − b, (y @ c).relu(), (y/2).sum(), backward."""
    rng = np.random.default_rng(0)
    a, b, c = (L.tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True) for _ in range(3))

    def run():
        y = (a * b + c).tanh()
        y = y.exp() * a - b
        y = (y @ c).relu()
        (y / 2.0).sum().backward()
    return run, 500


def nograd(L):
    rng = np.random.default_rng(0)
    a, b, c = (L.tensor(rng.standard_normal((3, 3)).astype(np.float32)) for _ in range(3))

    def run():
        with L.no_grad():
            ((a * b + c).tanh() - a).sum()
    return run, 2000


def mlp(L):
    L.manual_seed(0)
    nn = L.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = L.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = L.tensor(rng.standard_normal((128, 784)).astype(np.float32))
    y = L.tensor(rng.integers(0, 10, 128))
    loss_fn = nn.CrossEntropyLoss()

    def run():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return run, 20


def lenet(L):
    L.manual_seed(0)
    model = L.models.LeNet5()
    opt = L.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = L.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = L.tensor(rng.integers(0, 10, 64))
    loss_fn = L.nn.CrossEntropyLoss()

    def run():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return run, 5


def w2v(L):
    rng = np.random.default_rng(0)
    vocab_size = 5000
    p = 1.0 / np.arange(1, vocab_size + 1)
    corpus = rng.choice(vocab_size, size=200_000, p=p / p.sum()).astype(np.int64)

    def run():
        L.manual_seed(0)
        model = L.models.Word2Vec(vocab_size, 100, negative=5)
        model.fit(corpus, epochs=1, window=5, seed=0, progress=False)
    return run, 1


WORKLOADS = {"tiny": tiny, "ten": ten, "ops10": ops10, "nograd": nograd, "mlp": mlp, "lenet": lenet, "w2v": w2v}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", default="HEAD~1", help="the earlier commit (default HEAD~1)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="a subset of the workloads")
    ap.add_argument("--clock", choices=["wall", "thread"], default="wall",
                    help="wall: perf_counter; thread: this thread's CPU time (time.thread_time), which a loaded "
                         "machine's preemption does not inflate; use it with one BLAS thread (OMP_NUM_THREADS=1)")
    args = ap.parse_args()
    old = import_commit(args.ref)
    import lamina.models
    importlib.import_module(old.__name__ + ".models")
    clock = time.perf_counter if args.clock == "wall" else time.thread_time
    print(f"lamina (working tree) vs {args.ref}; {machine_info()}; clock {args.clock}")
    print(f"{'workload':<8} {'current':>12} {args.ref:>12} {'ratio':>7}   (median over {args.rounds} rounds; "
          "ratio < 1: the current tree is faster)")
    for name in args.only or WORKLOADS:
        runs = {"new": WORKLOADS[name](lamina), "old": WORKLOADS[name](old)}
        for fn, n in runs.values():  # warm-up
            for _ in range(max(1, n // 10)):
                fn()
        times: dict[str, list[float]] = {"new": [], "old": []}
        for r in range(args.rounds):
            order = ("new", "old") if r % 2 == 0 else ("old", "new")
            for key in order:
                fn, n = runs[key]
                t0 = clock()
                for _ in range(n):
                    fn()
                times[key].append((clock() - t0) / n)
        ratio = median([a / b for a, b in zip(times["new"], times["old"])])
        print(f"{name:<8} {median(times['new']) * 1e6:>10.1f}µs {median(times['old']) * 1e6:>10.1f}µs {ratio:>7.3f}")


if __name__ == "__main__":
    main()
