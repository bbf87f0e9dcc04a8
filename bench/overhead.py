"""Engine overhead on tiny graphs: forward + backward of 3x3 tensors, lamina vs PyTorch.

Run: python bench/overhead.py [--clock thread]   (thread: CPU time of this thread; both sides run on it,
     torch with one intra-op thread, so a loaded machine does not skew the ratio)
Goals (issue 15): (a*b+c).sum().backward() <= 0.5x PyTorch's time, 10 ops <= 0.6x, the no-grad forward <= 0.8x.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import interleaved, machine_info, median, ratio_median

import lamina as L

torch.set_num_threads(1)


def make(lib, requires):
    rng = np.random.default_rng(0)
    mk = (lambda a: L.tensor(a, requires_grad=requires)) if lib is L else \
        (lambda a: torch.tensor(a, dtype=torch.float32, requires_grad=requires))
    return [mk(rng.standard_normal((3, 3)).astype(np.float32)) for _ in range(3)]


def case_small(lib):
    a, b, c = make(lib, True)

    def run():
        (a * b + c).sum().backward()
    return run, 3


def case_ten_ops(lib):
    a, b, c = make(lib, True)

    def run():
        y = (a * b + c).tanh()          # 3
        y = y.exp() * a - b             # 3
        y = (y @ c).relu()              # 2
        (y / 2.0).sum().backward()      # 2
    return run, 10


def case_forward_only(lib):
    a, b, c = make(lib, False)

    def run():
        ((a * b + c).tanh() @ c).sum()
    return run, 5


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clock", choices=["wall", "thread"], default="wall")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.thread_time
    print(f"{machine_info()}; clock {args.clock}")
    print(f"{'graph':<28}{'ops':>4}{'lamina µs':>12}{'torch µs':>12}{'lamina/torch':>14}{'µs/op lamina':>14}")
    for name, case in [("(a*b+c).sum().backward()", case_small), ("10 ops fwd+bwd", case_ten_ops),
                       ("5 ops forward, no grad", case_forward_only)]:
        fl, n_ops = case(L)
        ft, _ = case(torch)
        for f in (fl, ft):
            for _ in range(200):
                f()
        times = interleaved({"lamina": fl, "torch": ft}, rounds=args.rounds, number=400, clock=clock)
        lm, tm = median(times["lamina"]) * 1e6, median(times["torch"]) * 1e6
        print(f"{name:<28}{n_ops:>4}{lm:>12.1f}{tm:>12.1f}{ratio_median(times, 'lamina', 'torch'):>14.2f}"
              f"{lm / n_ops:>14.2f}")


if __name__ == "__main__":
    main()
