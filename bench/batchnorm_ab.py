"""Training-mode BatchNorm forward + backward at a git revision (before) against the working tree (after).

ResNet activation shapes, float32, laid out (C, H, W, N) in memory as lamina's conv outputs are; both versions
imported side by side (``hotpath_ab._import_revision``) and timed in alternating rounds on this thread's CPU
time; then the whole ResNet and DCGAN training steps of ``conv_programs.py`` the same way.
Run with OMP_NUM_THREADS=1: python bench/batchnorm_ab.py [REV] [ROUNDS]   (REV defaults to HEAD~1)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conv_programs
from _common import machine_info
from hotpath_ab import ROOT, _import_revision

SHAPES = [(32, 16, 32, 32), (32, 32, 16, 16), (32, 64, 8, 8)]
LAYOUTS = {"CHWN": (1, 2, 3, 0), "NCHW": (0, 1, 2, 3)}  # memory orders: conv outputs, plain contiguous


def case(lib, shape, order, seed=0):
    """One BN step: y = batch_norm(x, γ, β), then backward of ⟨y, ȳ⟩ (x, γ, β require grad); x and ȳ stored in
    ``order`` (kept: ``Tensor._make`` wraps the array as it is)."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    inverse = np.argsort(order)
    x, g = (rng.standard_normal(tuple(shape[a] for a in order), dtype=np.float32).transpose(inverse)
            for _ in range(2))
    xt = lib.Tensor._make(x, True)
    gamma = lib.tensor(rng.uniform(0.5, 1.5, c).astype(np.float32), requires_grad=True)
    beta = lib.tensor(rng.standard_normal(c).astype(np.float32), requires_grad=True)
    gt = lib.Tensor._make(g)
    F = lib.nn.functional

    def step():
        xt.grad = gamma.grad = beta.grad = None
        y = F.batch_norm(xt, None, None, gamma, beta, training=True)
        y.backward(gt)

    return step


def thread_ms(fn, number):
    t0 = time.thread_time()
    for _ in range(number):
        fn()
    return (time.thread_time() - t0) / number * 1e3


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD~1"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    base = _import_revision(rev)
    sys.path.insert(0, str(ROOT / "src"))
    import lamina

    print(machine_info())
    print(f"BatchNorm fwd+bwd, float32, lamina at {rev} (before) vs working tree (after), "
          f"{rounds} rounds, thread CPU ms per step")
    print(f"{'shape':<18}{'layout':<7}{'before med':>11}{'after med':>11}{'after/before':>13}")
    for shape, (name, order) in ((s, o) for o in LAYOUTS.items() for s in SHAPES):
        tb, ta = _interleaved(case(base, shape, order), case(lamina, shape, order), rounds, 5)
        print(f"{str(shape):<18}{name:<7}" + _row(tb, ta))
    print(f"{'program':<25}{'before med':>11}{'after med':>11}{'after/before':>13}")
    for prog in ("resnet", "dcgan"):
        fb, fa = (getattr(conv_programs, prog)(lib, np.random.default_rng(0)) for lib in (base, lamina))
        tb, ta = _interleaved(fb, fa, max(3, rounds // 3), 1)
        print(f"{prog:<25}" + _row(tb, ta))
    print(machine_info())


def _interleaved(fb, fa, rounds, number):
    """Per-round thread ms of fb and fa, alternating which goes first."""
    for fn in (fb, fa):
        thread_ms(fn, 2)
    tb, ta = [], []
    for r in range(rounds):
        for side, fn in ((0, fb), (1, fa)) if r % 2 == 0 else ((1, fa), (0, fb)):
            (tb if side == 0 else ta).append(thread_ms(fn, number))
    return tb, ta


def _row(tb, ta) -> str:
    ratio = statistics.median(a / b for b, a in zip(tb, ta))
    return f"{statistics.median(tb):>11.3f}{statistics.median(ta):>11.3f}{ratio:>13.3f}"


if __name__ == "__main__":
    main()
