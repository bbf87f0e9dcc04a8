"""Seed 004's optimizer comparison on Fashion-MNIST, and the cost of one Adam step.

1. SGD, momentum, AdaGrad, AdaDelta, RMSProp and Adam train (a) a softmax classifier
   and (b) an MLP 784-256-128-10 for the same budget (``--epochs`` epochs, batch 128,
   same initial weights and batch order).  Writes a markdown table to stdout,
   ``bench/results/optimizers.csv`` and ``bench/results/optimizers_loss.png``.
2. Time per step of ``lamina.optim.Adam`` vs ``torch.optim.Adam`` on a 1M-parameter
   model (1000×1000 weight + bias, float32), interleaved in one process; reports the
   median of the per-pair ratios (goal ≤ 1.2), with each library's default threads and
   with both limited to one thread and to two.  Also ``bench/results/adam_step_*.csv``.

Run (unset the OpenBLAS overrides for this command only):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venv/bin/python bench/optimizers.py
Options: --epochs N, --skip-train, --skip-adam, --steps N (Adam timing pairs), --limit N (smoke test).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import lamina  # noqa: E402
import lamina.optim as lo  # noqa: E402

DATA = os.path.join(HERE, "..", "..", "shared", "datasets", "fashion-mnist")
RESULTS = os.path.join(HERE, "results")

OPTIMIZERS = {   # seed 004's list; learning rates are each method's usual defaults for this problem
    "SGD": lambda p: lo.SGD(p, lr=0.05),
    "Momentum": lambda p: lo.SGD(p, lr=0.01, momentum=0.9),
    "AdaGrad": lambda p: lo.Adagrad(p, lr=0.01),
    "AdaDelta": lambda p: lo.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6),
    "RMSProp": lambda p: lo.RMSprop(p, lr=1e-3, alpha=0.9),
    "Adam": lambda p: lo.Adam(p, lr=1e-3),
}


# ---------------------------------------------------------------------------- data
def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist():
    def part(kind):
        x = _idx(os.path.join(DATA, f"{kind}-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
        y = _idx(os.path.join(DATA, f"{kind}-labels-idx1-ubyte.gz")).astype(np.int64)
        return x, y

    (xtr, ytr), (xte, yte) = part("train"), part("t10k")
    mean, std = xtr.mean(), xtr.std()
    return (xtr - mean) / std, ytr, (xte - mean) / std, yte


# ---------------------------------------------------------------------------- models
def make_model(kind, seed):
    lamina.manual_seed(seed)
    try:
        from lamina import nn

        if kind == "softmax":
            net = nn.Linear(784, 10)
        else:
            net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
        return net, list(net.parameters()), nn.functional.cross_entropy
    except ImportError:   # raw tensors (before lamina.nn existed)
        rng = np.random.default_rng(seed)
        sizes = [784, 10] if kind == "softmax" else [784, 256, 128, 10]
        params = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1 / np.sqrt(a)
            params += [lamina.tensor(rng.uniform(-bound, bound, (a, b)).astype(np.float32), requires_grad=True),
                       lamina.tensor(np.zeros(b, np.float32), requires_grad=True)]

        def net(x):
            for i in range(0, len(params), 2):
                x = x @ params[i] + params[i + 1]
                if i + 2 < len(params):
                    x = lamina.relu(x)
            return x

        def cross_entropy(logits, y):
            logp = lamina.log_softmax(logits, dim=1)
            return -lamina.gather(logp, 1, y.reshape(-1, 1)).mean()

        return net, params, cross_entropy


def train(kind, opt_name, data, epochs, batch=128, seed=0, log_every=50):
    xtr, ytr, xte, yte = data
    log_every = max(1, min(log_every, len(xtr) // batch // 4))
    net, params, loss_fn = make_model(kind, seed)
    opt = OPTIMIZERS[opt_name](params)
    order_rng = np.random.default_rng(seed)
    curve, running = [], []
    t0 = time.perf_counter()
    step = 0
    for _ in range(epochs):
        order = order_rng.permutation(len(xtr))
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(net(lamina.from_numpy(xtr[idx])), lamina.from_numpy(ytr[idx]))
            loss.backward()
            opt.step()
            running.append(loss.item())
            step += 1
            if step % log_every == 0:
                curve.append((step, float(np.mean(running))))
                running = []
    seconds = time.perf_counter() - t0
    with lamina.no_grad():
        logits = np.concatenate([net(lamina.from_numpy(xte[i:i + 2000])).numpy() for i in range(0, len(xte), 2000)])
        n_eval = min(20000, len(xtr))
        tr_logits = np.concatenate([net(lamina.from_numpy(xtr[i:i + 5000])).numpy() for i in range(0, n_eval, 5000)])
    test_acc = float((logits.argmax(1) == yte).mean())
    z = tr_logits - tr_logits.max(1, keepdims=True)
    train_loss = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(z)), ytr[:n_eval]]))
    return dict(model=kind, optimizer=opt_name, epochs=epochs, train_loss=train_loss, test_accuracy=test_acc,
                seconds=seconds, curve=curve)


def compare(epochs, limit=None):
    data = load_fashion_mnist()
    if limit:
        data = (data[0][:limit], data[1][:limit], data[2], data[3])
    rows = []
    for kind in ("softmax", "mlp"):
        for name in OPTIMIZERS:
            r = train(kind, name, data, epochs)
            rows.append(r)
            print(f"  {kind:8s} {name:9s} test acc {r['test_accuracy']:.4f}  train loss {r['train_loss']:.4f}  "
                  f"{r['seconds']:.1f} s", file=sys.stderr)
    print(f"\n### Seed 004 comparison on Fashion-MNIST ({epochs} epochs, batch 128)\n")
    print("| model | optimizer | train loss (20k) | test accuracy | time (s) |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['optimizer']} | {r['train_loss']:.4f} | {r['test_accuracy']:.4f} | "
              f"{r['seconds']:.1f} |")
    os.makedirs(RESULTS, exist_ok=True)
    _write_csv(os.path.join(RESULTS, "optimizers.csv"),
               ["model", "optimizer", "epochs", "train_loss", "test_accuracy", "seconds"],
               [[r[k] for k in ("model", "optimizer", "epochs", "train_loss", "test_accuracy", "seconds")]
                for r in rows])
    _plot(rows, os.path.join(RESULTS, "optimizers_loss.png"))


def _write_csv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def _plot(rows, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, kind in zip(axes, ("softmax", "mlp")):
        for r in rows:
            if r["model"] == kind and r["curve"]:
                s, v = zip(*r["curve"])
                ax.plot(s, v, label=r["optimizer"])
        ax.set_title(f"{kind}: training loss (running mean over batches)")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy")
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- Adam step time
def adam_timing(steps, n=1000, threads=None, pause=0.0):
    """``threads``: None = each library's default; k = both libraries limited to k threads."""
    import torch

    saved = torch.get_num_threads(), lo.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
        lo.set_num_threads(threads)
    try:
        return _adam_timing(torch, steps, n, pause)
    finally:
        torch.set_num_threads(saved[0])
        lo.set_num_threads(saved[1])


def _adam_timing(torch, steps, n, pause):
    rng = np.random.default_rng(0)
    w0, b0 = rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    grads = [(rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal(n).astype(np.float32))
             for _ in range(4)]
    ours = [lamina.tensor(w0.copy(), requires_grad=True), lamina.tensor(b0.copy(), requires_grad=True)]
    ref = [torch.tensor(w0.copy(), requires_grad=True), torch.tensor(b0.copy(), requires_grad=True)]
    o1, o2 = lo.Adam(ours, lr=1e-3), torch.optim.Adam(ref, lr=1e-3)
    lgrads = [[lamina.from_numpy(g) for g in pair] for pair in grads]
    tgrads = [[torch.from_numpy(g) for g in pair] for pair in grads]

    # ``pause`` before each timed step lets the other library's worker threads go idle: PyTorch's
    # OpenMP workers spin for a while after a parallel region and would otherwise compete with
    # lamina's helper thread on a small machine (in a real lamina run there is no PyTorch pool).
    def step_ours(k):
        for p, g in zip(ours, lgrads[k % 4]):
            p.grad = g
        time.sleep(pause)
        t = time.perf_counter()
        o1.step()
        return time.perf_counter() - t

    def step_torch(k):
        for p, g in zip(ref, tgrads[k % 4]):
            p.grad = g
        time.sleep(pause)
        t = time.perf_counter()
        o2.step()
        return time.perf_counter() - t

    for k in range(10):   # warm-up
        step_ours(k)
        step_torch(k)
    pairs = []
    for k in range(steps):   # interleaved, alternating who goes first
        if k % 2:
            a, b = step_ours(k), step_torch(k)
        else:
            b, a = step_torch(k), step_ours(k)
        pairs.append((a, b))
    pairs = np.array(pairs)
    ratio = pairs[:, 0] / pairs[:, 1]
    diff = max(float(np.abs(p.numpy() - q.detach().numpy()).max()) for p, q in zip(ours, ref))
    nparams = n * n + n
    print(f"\n### Adam step, {nparams:,} float32 parameters ({steps} interleaved pairs, "
          f"{f'{pause * 1e3:g} ms pause before each step, ' if pause else ''}torch threads "
          f"{torch.get_num_threads()}, lamina optimizer threads {lo.get_num_threads()})\n")
    print("| | median ms/step | p10 | p90 |")
    print("|---|---:|---:|---:|")
    for name, col in (("lamina.optim.Adam", 0), ("torch.optim.Adam", 1)):
        q = np.percentile(pairs[:, col] * 1e3, [50, 10, 90])
        print(f"| {name} | {q[0]:.3f} | {q[1]:.3f} | {q[2]:.3f} |")
    print(f"\nmedian ratio lamina/torch: **{np.median(ratio):.3f}** (goal ≤ 1.2); "
          f"max |Δθ| after {steps + 10} steps: {diff:.2e}")
    os.makedirs(RESULTS, exist_ok=True)
    tag = f"adam_step_torch{torch.get_num_threads()}_lamina{lo.get_num_threads()}.csv"
    _write_csv(os.path.join(RESULTS, tag), ["lamina_seconds", "torch_seconds"], pairs.tolist())
    return float(np.median(ratio))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, nargs="*", default=[0, 1, 2],
                    help="Adam timing thread settings: 0 = each library's default, k = both limited to k")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds slept before each timed Adam step")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-adam", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training images (smoke test)")
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()}", file=sys.stderr)
    if not args.skip_adam:
        for t in args.threads:
            adam_timing(args.steps, threads=t or None, pause=args.pause)
    if not args.skip_train:
        compare(args.epochs, args.limit)


if __name__ == "__main__":
    main()
