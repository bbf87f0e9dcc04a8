"""Direct (im2col + GEMM) against FFT convolution: forward + backward (input, weight and bias gradients)
of ``F.conv2d`` on a 2×8×64×64 input with 8 output channels, padding k//2, for growing kernel sizes k.

Run: python bench/conv_fft.py [--dtype float32|float64] [--rounds 7] [--sizes 3,5,7,9,11,15,21]
Prints the median time over interleaved rounds per algorithm, their ratio, the machine load and the
crossover (the smallest k from which the FFT is faster); ``pick_algorithm`` in ``ops/conv.py`` encodes it.
On a shared machine, OPENBLAS_NUM_THREADS=1 keeps the direct GEMM's threads from fighting the load
(the FFT runs on one thread either way), which makes the ratio steadier.
"""
from __future__ import annotations

import argparse

import numpy as np
from _common import interleaved, machine_info, median

import lamina
import lamina.nn.functional as F
from lamina.ops.conv import ConvSpec, pick_algorithm


def step(x, w, b, u, k, algorithm):
    def run():
        x.grad = w.grad = b.grad = None
        y = F.conv2d(x, w, b, padding=k // 2, algorithm=algorithm)
        y.backward(u)
    return run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--sizes", default="3,5,7,9,11,15,21")
    ap.add_argument("--shape", default="2,8,64,64", help="N,C,H,W of the input")
    ap.add_argument("--out-channels", type=int, default=8)
    args = ap.parse_args(argv)
    n, c, h, wd = (int(v) for v in args.shape.split(","))
    o = args.out_channels
    rng = np.random.default_rng(0)
    print(f"conv2d forward+backward, input {n}×{c}×{h}×{wd}, {o} output channels, padding k//2, {args.dtype}, "
          f"median of {args.rounds} rounds")
    print(f"before: {machine_info()}")
    print(f"{'k':>4} {'direct ms':>10} {'fft ms':>10} {'fft/direct':>11} {'auto picks':>11}")
    crossover = None
    for k in (int(v) for v in args.sizes.split(",")):
        x = lamina.tensor(rng.standard_normal((n, c, h, wd)).astype(args.dtype), requires_grad=True)
        w = lamina.tensor(rng.standard_normal((o, c, k, k)).astype(args.dtype) / k, requires_grad=True)
        b = lamina.tensor(rng.standard_normal(o).astype(args.dtype), requires_grad=True)
        u = lamina.tensor(rng.standard_normal((n, o, h + 2 * (k // 2) - k + 1, wd + 2 * (k // 2) - k + 1))
                          .astype(args.dtype))
        cases = {a: step(x, w, b, u, k, a) for a in ("direct", "fft")}
        for fn in cases.values():  # warm up (buffer cache, FFT plans)
            fn()
        number = 3 if k <= 9 else 1
        times = interleaved(cases, args.rounds, number)
        td, tf = median(times["direct"]) * 1e3, median(times["fft"]) * 1e3
        spec = ConvSpec((1, 1), ((k // 2,) * 2,) * 2, (1, 1), 1)
        print(f"{k:>4} {td:>10.2f} {tf:>10.2f} {tf / td:>11.2f} {pick_algorithm((h, wd), (k, k), spec):>11}")
        if crossover is None and tf < td:
            crossover = k
    print(f"after: {machine_info()}")
    print("crossover: " + (f"the FFT is faster from k = {crossover}" if crossover else "the FFT never won here"))


if __name__ == "__main__":
    main()
