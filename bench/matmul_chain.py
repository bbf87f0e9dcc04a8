"""A 4-layer MLP forward+backward on batch 128 written with raw lamina tensor ops, against the
same computation in plain NumPy with hand-written gradients (and PyTorch for reference).

Run: python bench/matmul_chain.py
Goal (issue 2): lamina within 1.15x of plain NumPy (the engine adds almost nothing).
"""
from __future__ import annotations

import numpy as np
import torch
from _common import interleaved, machine_info, median, ratio_median

import lamina as L

torch.set_num_threads(2)
SIZES = [784, 512, 256, 128, 10]
B = 128


def params(rng):
    return [(rng.standard_normal((i, o)).astype(np.float32) * np.float32(np.sqrt(2 / i)),
             np.zeros(o, np.float32)) for i, o in zip(SIZES[:-1], SIZES[1:])]


def numpy_step(ps, x, y):
    """Forward and hand-written backward; returns the gradients."""
    hs, h = [x], x
    for k, (W, b) in enumerate(ps):
        h = h @ W + b
        if k < len(ps) - 1:
            h = np.maximum(h, 0)
        hs.append(h)
    d = (h - y) * np.float32(2.0 / h.size)  # d mean((h - y)^2)
    grads = []
    for k in range(len(ps) - 1, -1, -1):
        W, _ = ps[k]
        grads.append((hs[k].T @ d, d.sum(0)))
        if k:
            d = (d @ W.T) * (hs[k] > 0)
    return grads


def lamina_step(ps, x, y):
    h = x
    for k, (W, b) in enumerate(ps):
        h = h @ W + b
        if k < len(ps) - 1:
            h = h.relu()
    ((h - y) ** 2).mean().backward()
    return [(W.grad, b.grad) for W, b in ps]


def main():
    print(machine_info())
    rng = np.random.default_rng(0)
    ps = params(rng)
    x = rng.standard_normal((B, SIZES[0])).astype(np.float32)
    y = rng.standard_normal((B, SIZES[-1])).astype(np.float32)
    lps = [(L.tensor(W, requires_grad=True), L.tensor(b, requires_grad=True)) for W, b in ps]
    tps = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in ps]
    lx, ly, tx, ty = L.tensor(x), L.tensor(y), torch.tensor(x), torch.tensor(y)

    # same numbers first
    ng = numpy_step(ps, x, y)
    lg = lamina_step(lps, lx, ly)
    for (gW, _gb), (lW, _lb) in zip(ng, reversed(lg)):
        np.testing.assert_allclose(lW.numpy(), gW, rtol=1e-4, atol=1e-5)

    def run_lamina():
        for W, b in lps:
            W.grad = b.grad = None
        lamina_step(lps, lx, ly)

    def run_torch():
        for W, b in tps:
            W.grad = b.grad = None
        h = tx
        for k, (W, b) in enumerate(tps):
            h = h @ W + b
            if k < len(tps) - 1:
                h = h.relu()
        ((h - ty) ** 2).mean().backward()

    cases = {"numpy": lambda: numpy_step(ps, x, y), "lamina": run_lamina, "torch": run_torch}
    for f in cases.values():
        for _ in range(5):
            f()
    times = interleaved(cases, rounds=15, number=20)
    print(f"4-layer MLP {SIZES}, batch {B}, float32, forward+backward")
    for k in cases:
        print(f"  {k:<7} {median(times[k]) * 1e3:8.3f} ms")
    print(f"  lamina / numpy (median of per-round ratios): {ratio_median(times, 'lamina', 'numpy'):.3f}")
    print(f"  lamina / torch (median of per-round ratios): {ratio_median(times, 'lamina', 'torch'):.3f}")


if __name__ == "__main__":
    main()
