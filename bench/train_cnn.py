"""LeNet-5 training on Fashion-MNIST: lamina vs PyTorch (CPU) in one process, interleaved round by round.

    [OMP_NUM_THREADS=1] python bench/train_cnn.py [--memory] [--epochs 1]   (both libraries on OMP_NUM_THREADS threads, default 2)

Model (both frameworks, same initial weights): conv 6@5×5 pad 2 → ReLU → maxpool 2 → conv 16@5×5 → ReLU →
maxpool 2 → FC 120 → ReLU → FC 84 → ReLU → FC 10; batch 64, float32, SGD(lr 0.05, momentum 0.9),
cross-entropy. Each round runs ``--steps`` training steps of one framework then the other (the order
alternates) after a short pause (``--pause``: the other library's worker threads keep spinning for up
to ~0.1 s after its last call) and a few untimed steps (``--phase-warmup``: wake the library's own
threads, refill caches); the result is the median of per-round samples/s and of per-round ratios.
Goal (issue 15): lamina ≥ 1.0× PyTorch's throughput, with 1 and with 2 threads.

``--memory`` runs each framework alone in a fresh subprocess (so neither library's memory is counted
for the other) on random data of the same shape and reports
  * peak RSS (VmHWM of /proc/self/status: the whole process, interpreter and libraries included),
  * RSS growth during training (peak minus the RSS measured after model and data were set up, before
    the first step),
  * for lamina also the tracemalloc peak of the first training step (NumPy registers its array buffers
    with tracemalloc, so this is the memory of activations, saved im2col columns and gradients; later
    steps reuse the same buffers) and the size of the conv/pool buffer cache. PyTorch's allocator is
    invisible to tracemalloc, so for PyTorch only the RSS figures exist.
``--epochs N`` also trains N full epochs with each framework and reports test accuracy (a sanity check
that both learn the same way). Results are written to bench/results/train_cnn.json.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "datasets", "fashion-mnist")
BATCH, LR, MOMENTUM = 64, 0.05, 0.9
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel statistics


# ------------------------------------------------------------------------------ data
def read_idx(path: str) -> np.ndarray:
    """An IDX file (gzip): 2 zero bytes, a type byte (8 = uint8), the number of dims, big-endian sizes, data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {raw[:4]!r})")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split: str):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(DATA, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA, f"{prefix}-labels-idx1-ubyte.gz"))
    x = ((x.astype(np.float32) / 255.0 - MEAN) / STD).reshape(-1, 1, 28, 28)
    return x, y.astype(np.int64)


# ------------------------------------------------------------------------------ the two models
def lamina_setup(seed=0):
    import lamina
    import lamina.nn.functional as F
    import lamina.optim
    from lamina.models import LeNet5

    lamina.manual_seed(seed)
    model = LeNet5()
    opt = lamina.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(lamina.from_numpy(xb)), lamina.from_numpy(yb))
        loss.backward()
        opt.step()
        return loss

    def predict(xb):
        with lamina.no_grad():
            return model(lamina.from_numpy(xb)).numpy().argmax(1)

    return model, step, predict


def threads() -> int:
    """Threads for both libraries: OMP_NUM_THREADS (which NumPy's BLAS reads at import) or 2."""
    return int(os.environ.get("OMP_NUM_THREADS") or 2)


def torch_setup(state=None):
    import torch
    from torch import nn

    torch.set_num_threads(threads())  # as many as lamina's BLAS has

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                            nn.ReLU(), nn.Linear(84, 10))

        def forward(self, x):
            return self.classifier(self.features(x))

    model = LeNet5()
    if state is not None:  # start from lamina's initial weights
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(xb, yb):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(torch.from_numpy(xb)), torch.from_numpy(yb))
        loss.backward()
        opt.step()
        return loss

    def predict(xb):
        with torch.no_grad():
            return model(torch.from_numpy(xb)).numpy().argmax(1)

    return model, step, predict


# ------------------------------------------------------------------------------ throughput
class Feeder:
    """Consecutive mini-batches of a fixed shuffled order, wrapping around."""

    def __init__(self, x, y, seed):
        order = np.random.default_rng(seed).permutation(len(x))
        self.x, self.y, self.i = np.ascontiguousarray(x[order]), y[order], 0

    def next(self):
        if self.i + BATCH > len(self.x):
            self.i = 0
        s = slice(self.i, self.i + BATCH)
        self.i += BATCH
        return self.x[s], self.y[s]


def run_steps(step, feeder, n) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        step(*feeder.next())
    return time.perf_counter() - t0


def throughput(args, x, y):
    lam_model, lam_step, _ = lamina_setup()
    _, tor_step, _ = torch_setup({k: v.numpy() for k, v in lam_model.state_dict().items()})
    feeders = {"lamina": Feeder(x, y, 1), "torch": Feeder(x, y, 1)}
    steps = {"lamina": lam_step, "torch": tor_step}
    for name in steps:  # warm up (allocator pools, BLAS threads, caches)
        run_steps(steps[name], feeders[name], args.warmup)
    rates = {"lamina": [], "torch": []}
    for r in range(args.rounds):
        names = ["lamina", "torch"] if r % 2 == 0 else ["torch", "lamina"]
        for name in names:
            time.sleep(args.pause)
            run_steps(steps[name], feeders[name], args.phase_warmup)  # wake threads, caches, clock speed
            rates[name].append(args.steps * BATCH / run_steps(steps[name], feeders[name], args.steps))
        print(f"  round {r + 1}: lamina {rates['lamina'][-1]:8.0f}  torch {rates['torch'][-1]:8.0f} samples/s  "
              f"ratio {rates['lamina'][-1] / rates['torch'][-1]:.2f}", flush=True)
    ratios = [a / b for a, b in zip(rates["lamina"], rates["torch"])]
    # On a shared machine a burst of outside load can slow a phase many times over; a round where either
    # library ran below half its best round is reported as disturbed (and left out of the second median).
    calm = [i for i in range(args.rounds)
            if all(rates[k][i] >= 0.5 * max(rates[k]) for k in rates)]
    return {"lamina_samples_per_s": statistics.median(rates["lamina"]),
            "torch_samples_per_s": statistics.median(rates["torch"]),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "undisturbed_rounds": len(calm),
            "ratio_median_undisturbed": statistics.median([ratios[i] for i in calm]) if calm else None,
            "rounds": args.rounds, "steps_per_round": args.steps,
            "per_round": {k: [round(v) for v in rates[k]] for k in rates}}


def accuracy(args, x, y, xt, yt):
    out = {}
    lam_model, lam_step, lam_pred = lamina_setup(seed=1)
    _, tor_step, tor_pred = torch_setup({k: v.numpy() for k, v in lam_model.state_dict().items()})
    for name, step, pred in (("lamina", lam_step, lam_pred), ("torch", tor_step, tor_pred)):
        feeder = Feeder(x, y, 2)
        n = args.epochs * (len(x) // BATCH)
        seconds = run_steps(step, feeder, n)
        correct = sum(int((pred(xt[i:i + 1000]) == yt[i:i + 1000]).sum()) for i in range(0, len(xt), 1000))
        out[name] = {"epochs": args.epochs, "test_accuracy": correct / len(xt), "train_seconds": seconds}
        print(f"  {name}: {args.epochs} epoch(s) in {seconds:.1f} s, test accuracy {correct / len(xt):.4f}",
              flush=True)
    return out


# ------------------------------------------------------------------------------ memory (subprocesses)
def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, from /proc/self/status. (getrusage's
    ru_maxrss is not used: Linux carries it over from the parent across fork + exec.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def memory_child(framework: str, steps: int = 30):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH * 8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH * 8)
    _, step, _ = lamina_setup() if framework == "lamina" else torch_setup()
    feeder = Feeder(x, y, 0)
    base, peak_before = _status_mb("VmRSS"), _status_mb("VmHWM")
    res = {}
    if framework == "lamina":
        import tracemalloc

        from lamina.ops.conv import buffers

        tracemalloc.start()  # the first step allocates everything a step needs (later steps reuse buffers)
        step(*feeder.next())
        res["tracemalloc_first_step_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    run_steps(step, feeder, steps)
    peak = _status_mb("VmHWM")
    res.update({"peak_rss_mb": peak, "rss_before_training_mb": base, "peak_before_training_mb": peak_before,
                "training_rss_growth_mb": peak - base})
    if framework == "lamina":
        res["buffer_cache_mb"] = buffers.bytes / 2**20
    print(json.dumps(res))


def memory(args):
    out = {}
    for fw in ("lamina", "torch"):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", fw],
                              capture_output=True, text=True, check=True)
        out[fw] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  {fw}: " + ", ".join(f"{k} {v:.1f}" for k, v in out[fw].items()), flush=True)
    return out


# ------------------------------------------------------------------------------ main
def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--steps", type=int, default=50, help="training steps per framework per round")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--phase-warmup", type=int, default=5, help="untimed steps at the start of each timed phase")
    p.add_argument("--pause", type=float, default=0.3,
                   help="seconds of idle time before each timed phase: after its last call each library's "
                        "BLAS/OpenMP worker threads keep spinning for a while and would steal a core from the other")
    p.add_argument("--epochs", type=int, default=0, help="also train this many epochs and report test accuracy")
    p.add_argument("--memory", action="store_true", help="measure peak memory in separate subprocesses")
    p.add_argument("--memory-child", choices=["lamina", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--out", default=os.path.join(HERE, "results", "train_cnn.json"))
    args = p.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child)

    import torch
    from _common import machine_info

    torch.set_num_threads(threads())
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            print(f"warning: {var}={os.environ[var]} is set; it may slow NumPy's BLAS "
                  f"(run with env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)")
    info = machine_info() + f"; torch {torch.__version__} with {torch.get_num_threads()} threads"
    print(info)
    x, y = load("train")
    result = {"machine": info, "batch": BATCH, "dtype": "float32"}
    print(f"throughput (LeNet-5, batch {BATCH}, {args.rounds} interleaved rounds of {args.steps} steps):")
    result["throughput"] = throughput(args, x, y)
    t = result["throughput"]
    print(f"lamina {t['lamina_samples_per_s']:.0f} samples/s, torch {t['torch_samples_per_s']:.0f} samples/s, "
          f"ratio (median of rounds) {t['ratio_median']:.2f} [{t['ratio_min']:.2f} .. {t['ratio_max']:.2f}]")
    if t["undisturbed_rounds"] < args.rounds and t["undisturbed_rounds"]:
        print(f"  {args.rounds - t['undisturbed_rounds']} round(s) disturbed by outside load (a library below half "
              f"its best round); median ratio of the other {t['undisturbed_rounds']}: "
              f"{t['ratio_median_undisturbed']:.2f}")
    if args.epochs:
        xt, yt = load("test")
        result["accuracy"] = accuracy(args, x, y, xt, yt)
    if args.memory:
        print("memory (each framework alone in a subprocess):")
        result["memory"] = memory(args)
    result["load_after"] = os.getloadavg()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(args.out), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
