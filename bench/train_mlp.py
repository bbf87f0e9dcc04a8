"""MLP training throughput, lamina vs PyTorch (CPU), in one process, interleaved round by round.

Model 784-256-128-10, ReLU, cross-entropy, SGD with momentum 0.9, lr 0.01, batch 128, float32, on
Fashion-MNIST (../shared/datasets/fashion-mnist). lamina, PyTorch and a hand-written NumPy
forward/backward (the floor any NumPy engine can approach) start from the same weights and see the
same batches: their losses agree to the printed digits. Each round times N steps of each, in turn;
short rounds mean a load spike on a shared machine hits all sides alike. Before each timed block the
bench idles ``--settle`` seconds: OpenBLAS worker threads keep spinning for a while after a call,
and without the pause they steal PyTorch's cores (``--settle 0`` shows the effect: PyTorch loses
more than half its speed, which inflates any NumPy-vs-PyTorch ratio measured that way).

Run:   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/train_mlp.py [--rounds 20] [--steps 50]
Goals (issue 15): lamina >= 1.5x PyTorch's throughput with 2 threads, >= 1.3x with one (OMP_NUM_THREADS=1).
"""
from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine_info

import lamina as L
import lamina.nn.functional as F
from lamina.models import MLP

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "fashion-mnist")
SIZES, BATCH, LR, MOMENTUM = [784, 256, 128, 10], 128, 0.01, 0.9


def read_idx(path: str) -> np.ndarray:
    """An IDX file (gzip): magic (2 zero bytes, dtype code, ndim), big-endian dims, then the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_data():
    x = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    y = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(x))
    return np.ascontiguousarray(x[perm]), y[perm]  # shuffled once; batches are contiguous views


class LaminaRun:
    """``optimizer='lamina'``: lamina.optim.SGD, as user code would; ``'inline'``: the update written here."""

    def __init__(self, x, y, optimizer="lamina"):
        L.manual_seed(0)
        self.model = MLP(SIZES)
        self.params = list(self.model.parameters())
        self.bufs = [np.zeros_like(p.numpy()) for p in self.params]
        self.opt = None
        if optimizer == "lamina":
            from lamina.optim import SGD

            self.opt = SGD(self.params, lr=LR, momentum=MOMENTUM)
        self.x, self.y = x, y

    def step(self, i):
        xb = L.from_numpy(self.x[i:i + BATCH])
        yb = L.from_numpy(self.y[i:i + BATCH])
        if self.opt is not None:
            self.opt.zero_grad()
        else:
            self.model.zero_grad()
        loss = F.cross_entropy(self.model(xb), yb)
        loss.backward()
        if self.opt is not None:
            self.opt.step()
            return loss
        with L.no_grad():  # SGD with momentum, as torch.optim.SGD: b = μb + g; p -= lr·b
            for p, b in zip(self.params, self.bufs):
                b *= MOMENTUM
                b += p.grad.numpy()
                w = p.numpy()  # (not p.numpy()[...] -= ..., which would copy the array onto itself once more)
                w -= LR * b
        return loss


class TorchRun:
    def __init__(self, x, y, lamina_model):
        self.model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                         torch.nn.ReLU(), torch.nn.Linear(128, 10))
        self.model.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                                    for k, v in lamina_model.state_dict().items()})
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def step(self, i):
        self.opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(self.x[i:i + BATCH]), self.y[i:i + BATCH])
        loss.backward()
        self.opt.step()
        return loss


class NumpyRun:
    """The same training step written by hand in NumPy (no autograd): the floor an engine can approach."""

    def __init__(self, x, y, lamina_model):
        self.w = [p.numpy().copy() for p in lamina_model.parameters()]
        self.bufs = [np.zeros_like(w) for w in self.w]
        self.x, self.y = x, y
        self.rows = np.arange(BATCH)

    def step(self, i):
        x, y, (w0, b0, w1, b1, w2, b2) = self.x[i:i + BATCH], self.y[i:i + BATCH], self.w
        h1 = x @ w0.T
        h1 += b0
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w1.T
        h2 += b1
        a2 = np.maximum(h2, 0)
        z = a2 @ w2.T
        z += b2
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        loss = float(np.log(s[:, 0]).mean() - z[self.rows, y].mean())
        g = e / (s * BATCH)
        g[self.rows, y] -= 1.0 / BATCH
        ga2 = g @ w2
        ga2 *= h2 > 0
        ga1 = ga2 @ w1
        ga1 *= h1 > 0
        grads = (ga1.T @ x, ga1.sum(0), ga2.T @ a1, ga2.sum(0), g.T @ a2, g.sum(0))
        for w, b, gw in zip(self.w, self.bufs, grads):
            b *= MOMENTUM
            b += gw
            w -= LR * b
        return np.float64(loss)


def timed(run, start, steps, n, settle=0.0):
    time.sleep(settle)  # let the other library's idle BLAS / OpenMP threads stop spinning before timing
    t0 = time.perf_counter()
    for k in range(steps):
        loss = run.step((start + k * BATCH) % (n - BATCH))
    return time.perf_counter() - t0, loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--steps", type=int, default=50, help="training steps per library per round")
    ap.add_argument("--settle", type=float, default=0.3,
                    help="seconds of idle time before each timed block (threads left spinning by the previous "
                         "library would otherwise steal cores; 0 reproduces that interference)")
    ap.add_argument("--optimizer", choices=["lamina", "inline"], default="lamina",
                    help="lamina.optim.SGD (default) or an inline NumPy momentum update")
    ap.add_argument("--no-numpy", action="store_true", help="skip the hand-written NumPy reference")
    ap.add_argument("--verbose", action="store_true", help="print every round")
    args = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", min(2, os.cpu_count() or 1)))
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads, user_api="blas")
    except ImportError:
        pass
    x, y = load_data()
    n = len(x)
    lam = LaminaRun(x, y, args.optimizer)
    runs = {"lamina": lam, "torch": TorchRun(x, y, lam.model)}
    if not args.no_numpy:
        runs["numpy"] = NumpyRun(x, y, lam.model)
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, SGD momentum {MOMENTUM} ({args.optimizer} update in "
          f"lamina), float32, {threads} threads; {args.rounds} rounds x {args.steps} steps, settle {args.settle}s")
    print(machine_info())
    print(f"torch {torch.__version__}, numpy {np.__version__}")
    for run in runs.values():  # warm-up, all on the same first batches
        timed(run, 0, 10, n)
    speed = {k: [] for k in runs}
    start = 10 * BATCH
    for r in range(args.rounds):
        losses = {}
        for name, run in runs.items():
            t, losses[name] = timed(run, start, args.steps, n, args.settle)
            speed[name].append(args.steps * BATCH / t)
        start += args.steps * BATCH
        if args.verbose or r % max(1, args.rounds // 5) == 0:
            print(f"round {r:3d}: " + "   ".join(f"{k} {v[-1]:7.0f}/s (loss {losses[k]:.4f})"
                                               for k, v in speed.items()))
    print("samples/s, median over rounds (best round):  " + ",  ".join(
        f"{k} {statistics.median(v):.0f} ({max(v):.0f})" for k, v in speed.items()))
    for a, b in [("lamina", "torch"), ("numpy", "torch"), ("lamina", "numpy")]:
        if a in speed and b in speed:
            ratio = statistics.median(x / y for x, y in zip(speed[a], speed[b]))
            target = "1.3" if os.environ.get("OMP_NUM_THREADS") == "1" else "1.5"
            goal = f"  (goal >= {target})" if (a, b) == ("lamina", "torch") else ""
            print(f"median per-round ratio {a}/{b}: {ratio:.2f}{goal}")


if __name__ == "__main__":
    main()
