"""Peak memory of one MLP training epoch on Fashion-MNIST's 60,000 × 784 float32 images: lamina vs PyTorch.

Each framework runs alone in a fresh subprocess (so neither library's memory is counted for the other):
import the library, read the IDX training set into one float32 array (the same 188 MB for both), build
the MLP 784-256-128-10, then one epoch of SGD (momentum 0.9, lr 0.01, batch 128, cross-entropy) over
batches taken as views of that array. Reported per framework:

* peak RSS (VmHWM of /proc/self/status: interpreter, library, data and training together),
* RSS after import (the library alone), and the growth from the start of training to the peak.

The printed ratio is lamina's peak RSS over PyTorch's (goal ≤ 0.6).

Run:  python bench/memory_mlp.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine_info

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "fashion-mnist")
BATCH, LR, MOMENTUM = 128, 0.01, 0.9


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _images_and_labels():
    """The training set as float32 (60000, 784) in [0, 1] and int64 labels, read straight from the IDX files."""
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    x = np.empty((60000, 784), dtype=np.float32)
    np.divide(np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(60000, 784), 255, out=x)
    del raw
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), "rb") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64)
    return x, y


def _lamina_epoch(x, y, mark):
    import lamina
    import lamina.nn as nn

    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = lamina.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    mark()
    for i in range(0, len(x) - BATCH + 1, BATCH):
        opt.zero_grad()
        loss = loss_fn(model(lamina.from_numpy(x[i:i + BATCH])), lamina.from_numpy(y[i:i + BATCH]))
        loss.backward()
        opt.step()
    return float(loss.item())


def _torch_epoch(x, y, mark):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    mark()
    for i in range(0, len(x) - BATCH + 1, BATCH):
        opt.zero_grad()
        loss = loss_fn(model(xt[i:i + BATCH]), yt[i:i + BATCH])
        loss.backward()
        opt.step()
    return float(loss.item())


def child(framework: str) -> None:
    __import__("lamina" if framework == "lamina" else "torch")
    after_import = _status_mb("VmRSS")
    x, y = _images_and_labels()
    marks = {}
    epoch = _lamina_epoch if framework == "lamina" else _torch_epoch
    loss = epoch(x, y, lambda: marks.setdefault("start", _status_mb("VmRSS")))
    peak = _status_mb("VmHWM")
    print(json.dumps({"peak_rss_mb": peak, "rss_after_import_mb": after_import,
                      "training_growth_mb": peak - marks["start"], "last_loss": loss}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="fresh subprocesses per framework (medians reported)")
    ap.add_argument("--child", choices=["lamina", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"one epoch, MLP 784-256-128-10, batch {BATCH}, Fashion-MNIST 60000x784 float32; {machine_info()}")
    runs: dict[str, list[dict]] = {"lamina": [], "torch": []}
    for _ in range(args.repeat):
        for fw in runs:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", fw],
                                  capture_output=True, text=True, check=True)
            runs[fw].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    med = {fw: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for fw, rs in runs.items()}
    for fw, m in med.items():
        print(f"  {fw:<7} peak RSS {m['peak_rss_mb']:7.1f} MiB   after import {m['rss_after_import_mb']:6.1f} MiB   "
              f"growth during the epoch {m['training_growth_mb']:6.1f} MiB   last loss {m['last_loss']:.4f}")
    print(f"peak RSS lamina / torch: {med['lamina']['peak_rss_mb'] / med['torch']['peak_rss_mb']:.3f}  (goal <= 0.6)")


if __name__ == "__main__":
    main()
