"""Bench: one map-reduce data-parallel step (seed 004) with 1 vs 2 worker processes.

Model: MLP 784-256-128-10 (ReLU, float32, cross-entropy), SGD step, on a batch of Fashion-MNIST
training images (../shared/datasets/fashion-mnist; default 1024, also 4096 to show where the
overhead stops dominating).  Cases, timed in interleaved rounds (median seconds per step):

* ``local``          : forward + backward + step in this process (no lamina.parallel at all);
* ``inline 1 shard`` : ``data_parallel_step(executor=None, n_shards=1)``: the machinery's own cost;
* ``pool 1 worker``  : ``local_executor(1)`` (a process pool, its worker with 2 BLAS threads), 1 shard:
  the cost of pickling + IPC for all of the step;
* ``pool 1 worker, 1 BLAS thread`` : the same, its BLAS limited to one thread (the baseline for
  the speed-up that 2 workers give when BLAS is not already using both cores);
* ``pool 2 workers`` : ``local_executor(2)``, 2 shards (each worker limited to 1 BLAS thread);
* ``pool 2 workers, 2 BLAS threads each`` : a plain ``ProcessPoolExecutor(2)``, BLAS's default:
  4 BLAS threads on 2 cores.

Per step, the master sends the state (~0.9 MB of float32 weights) and a shard to every worker and
gets one gradient per parameter back; on 2 cores that overhead is a large part of a step.

Run:   /work/venv/bin/python bench/data_parallel.py [--rounds 7] [--steps 10] [--batch 1024 4096]
Writes bench/results/data_parallel.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "src"))
from _common import machine_info  # noqa: E402

import lamina  # noqa: E402
from lamina import nn, optim, parallel  # noqa: E402
from lamina.datasets import fashion_mnist  # noqa: E402

ROOT = os.path.join(HERE, "..", "..", "shared", "datasets", "fashion-mnist")


def make_model():
    lamina.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def local_step(model, opt, loss_fn, x, y):
    opt.zero_grad()
    loss = loss_fn(model(lamina.from_numpy(x)), lamina.from_numpy(y))
    loss.backward()
    opt.step()
    return float(loss.item())


def breakdown(model, loss_fn, x, y, repeat=10):
    """Compute time of one shard's worker function here, on 1 BLAS thread (full batch and half),
    and the bytes a 2-shard step pickles to each worker and back."""
    import pickle

    from threadpoolctl import threadpool_limits

    from lamina.parallel._worker import shard_gradient
    from lamina.parallel.data_parallel import _spec_for

    spec = _spec_for(model, None)
    state = {k: v._data for k, v in model.state_dict().items()}
    out = {}
    with threadpool_limits(1):
        for name, n in (("full_batch", len(x)), ("half_batch", len(x) // 2)):
            args = (spec, state, x[:n], y[:n], loss_fn, 0, True)
            shard_gradient(*args)
            ts = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                res = shard_gradient(*args)
                ts.append(time.perf_counter() - t0)
            out[f"compute_ms_{name}_1_thread"] = round(1e3 * statistics.median(ts), 2)
    half = (spec, state, x[:len(x) // 2], y[:len(x) // 2], loss_fn, 0, True)
    out["bytes_to_each_worker"] = len(pickle.dumps(half, protocol=pickle.HIGHEST_PROTOCOL))
    out["bytes_back_from_each_worker"] = len(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, nargs="+", default=[1024, 4096])
    args = ap.parse_args()
    X, Y = fashion_mnist(root=ROOT, train=True)
    X = (X.reshape(len(X), -1).astype(np.float32) / 255.0)
    Y = Y.astype(np.int64)
    loss_fn = nn.CrossEntropyLoss()
    pools = {"pool 1 worker": (parallel.local_executor(1), 1),                      # 2 BLAS threads
             "pool 1 worker, 1 BLAS thread": (parallel.local_executor(1, threads_per_worker=1), 1),
             "pool 2 workers": (parallel.local_executor(2), 2),                     # 1 BLAS thread each
             "pool 2 workers, 2 BLAS threads each": (ProcessPoolExecutor(2), 2)}    # BLAS's default
    results = {"machine": machine_info(), "model": "MLP 784-256-128-10 float32", "rounds": args.rounds,
               "steps_per_round": args.steps, "batches": {}}
    print(results["machine"])
    try:
        for batch in args.batch:
            x, y = X[:batch], Y[:batch]
            model = make_model()
            opt = optim.SGD(model.parameters(), lr=0.01)
            cases = {"local": lambda model=model, opt=opt, x=x, y=y: local_step(model, opt, loss_fn, x, y),
                     "inline 1 shard": lambda model=model, opt=opt, x=x, y=y:
                         parallel.data_parallel_step(model, loss_fn, (x, y), None, 1, opt)}
            for name, (pool, k) in pools.items():
                cases[name] = (lambda pool=pool, k=k, model=model, opt=opt, x=x, y=y:
                               parallel.data_parallel_step(model, loss_fn, (x, y), pool, k, opt))
            for fn in cases.values():      # warm up: worker processes start, models get cached
                fn()
                fn()
            times = {k: [] for k in cases}
            names = list(cases)
            for r in range(args.rounds):
                for name in names[r % len(names):] + names[:r % len(names)]:   # rotate the order
                    fn = cases[name]
                    time.sleep(0.2)        # let the previous case's BLAS threads stop spinning
                    t0 = time.perf_counter()
                    for _ in range(args.steps):
                        fn()
                    times[name].append((time.perf_counter() - t0) / args.steps)
            med = {k: statistics.median(v) for k, v in times.items()}
            row = {k: {"median_ms": round(1e3 * v, 2), "best_ms": round(1e3 * min(times[k]), 2),
                       "speedup_vs_pool_1_worker": round(med["pool 1 worker"] / v, 2),
                       "speedup_vs_pool_1_worker_1_thread": round(med["pool 1 worker, 1 BLAS thread"] / v, 2)}
                   for k, v in med.items()}
            row["breakdown"] = breakdown(model, loss_fn, x, y)
            results["batches"][batch] = row
            print(f"\nbatch {batch}: ms per step (median of {args.rounds} rounds of {args.steps} steps)")
            for k, r in row.items():
                if k == "breakdown":
                    print("  " + ", ".join(f"{a} {b}" for a, b in r.items()))
                    continue
                print(f"  {k:<36} {r['median_ms']:8.2f} ms   (best {r['best_ms']:7.2f})   "
                      f"x{r['speedup_vs_pool_1_worker']:.2f} vs pool 1 worker, "
                      f"x{r['speedup_vs_pool_1_worker_1_thread']:.2f} vs pool 1 worker 1 thread")
    finally:
        for pool, _ in pools.values():
            pool.shutdown()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", "data_parallel.json")
    with open(out + ".tmp", "w") as f:
        json.dump(results, f, indent=2)
    os.replace(out + ".tmp", out)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
