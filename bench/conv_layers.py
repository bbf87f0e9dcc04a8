"""The convolution layers of the ResNet-8 and DCGAN programs of ``conv_programs.py``, one by one: forward +
backward (input and weight gradients) and forward alone, lamina beside PyTorch in one process, interleaved
round by round, with this thread's CPU time. Shows which layer shapes make a program's gap.

Inputs are laid out as lamina's own conv outputs are inside a network ((C, H, W, N) in memory for batches
of 16 or more): a fresh NCHW array would add a layout copy per call that a real network does not pay.
The first layer of each program takes images, so its input gradient is not computed (as in training).

Run:  OMP_NUM_THREADS=1 python bench/conv_layers.py [--program resnet|dcgan] [--rounds 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine_info

BATCH = 32
# (kind, in channels, out channels, input size, kernel, stride, padding)
PROGRAMS = {
    "resnet": [("conv", 3, 16, 32, 3, 1, 1), ("conv", 16, 16, 32, 3, 1, 1), ("conv", 16, 32, 32, 3, 2, 1),
               ("conv", 32, 32, 16, 3, 1, 1), ("conv", 16, 32, 32, 1, 2, 0), ("conv", 32, 64, 16, 3, 2, 1),
               ("conv", 64, 64, 8, 3, 1, 1), ("conv", 32, 64, 16, 1, 2, 0)],
    "dcgan": [("conv", 3, 32, 32, 4, 2, 1), ("conv", 32, 64, 16, 4, 2, 1), ("conv", 64, 128, 8, 4, 2, 1),
              ("conv", 128, 1, 4, 4, 1, 0), ("convT", 64, 128, 1, 4, 1, 0), ("convT", 128, 64, 4, 4, 2, 1),
              ("convT", 64, 32, 8, 4, 2, 1), ("convT", 32, 3, 16, 4, 2, 1)],
}


def _array(lib, rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    if lib.__name__ == "lamina":  # (C, H, W, N) in memory, as lamina's conv outputs are
        a = np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    return lib.from_numpy(a)


def make(lib, layer, rng):
    """(forward + backward, forward under no_grad) of one layer."""
    kind, cin, cout, hw, k, s, p = layer
    cls = lib.nn.ConvTranspose2d if kind == "convT" else lib.nn.Conv2d
    conv = cls(cin, cout, k, s, p, bias=False)
    x = _array(lib, rng, (BATCH, cin, hw, hw)).requires_grad_(cin != 3)
    with lib.no_grad():
        gy = _array(lib, rng, tuple(conv(x).shape))

    def both():
        conv(x).backward(gy)

    def forward():
        with lib.no_grad():
            conv(x)
    return both, forward


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", choices=list(PROGRAMS), default="resnet")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=5, help="calls per library per round")
    args = ap.parse_args()
    import torch

    import lamina

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"{machine_info()}; torch {torch.__version__}; batch {BATCH}; clock thread; ratio = lamina / torch time")
    print(f"{'layer':<34} {'fwd+bwd lamina':>15} {'torch':>7} {'ratio':>6}   {'fwd lamina':>11} {'torch':>7} {'ratio':>6}")
    totals = {"lamina": [0.0, 0.0], "torch": [0.0, 0.0]}
    for layer in PROGRAMS[args.program]:
        fns = {lib.__name__: make(lib, layer, np.random.default_rng(0)) for lib in (lamina, torch)}
        for both, _ in fns.values():  # warm-up: buffers, first-call paths
            both()
            both()
        times: dict = {name: ([], []) for name in fns}
        for r in range(args.rounds):
            for name in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
                for j in (0, 1):
                    t0 = time.thread_time()
                    for _ in range(args.calls):
                        fns[name][j]()
                    times[name][j].append((time.thread_time() - t0) / args.calls)
        med = {name: [statistics.median(v) * 1e3 for v in times[name]] for name in fns}
        for name in fns:
            totals[name] = [a + b for a, b in zip(totals[name], med[name])]
        kind, cin, cout, hw, k, s, p = layer
        label = f"{kind} {cin}->{cout} {hw}x{hw} k{k} s{s} p{p}"
        (lb, lf), (tb, tf) = med["lamina"], med["torch"]
        print(f"{label:<34} {lb:>12.2f} ms {tb:>7.2f} {lb / tb:>6.2f}   {lf:>8.2f} ms {tf:>7.2f} {lf / tf:>6.2f}")
    (lb, lf), (tb, tf) = totals["lamina"], totals["torch"]
    print(f"{'sum':<34} {lb:>12.2f} ms {tb:>7.2f} {lb / tb:>6.2f}   {lf:>8.2f} ms {tf:>7.2f} {lf / tf:>6.2f}")


if __name__ == "__main__":
    main()
