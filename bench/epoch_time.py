"""Time per epoch on Fashion-MNIST: lamina's `lamina train` models beside PyTorch running the same model,
same data, same hyperparameters (Adam, batch size, shuffled order), alternating epoch by epoch.

Run:   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/epoch_time.py [--epochs 2] [--models mlp,lenet]
Reports the median seconds per epoch of each and the test accuracy each reaches after the epochs run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine_info

import lamina as L
from lamina import nn, optim
from lamina.datasets import fashion_mnist
from lamina.models import MLP, LeNet5

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "fashion-mnist")
BATCH = {"mlp": 128, "lenet": 64}
LR = {"mlp": 1e-3, "lenet": 3e-3}


def torch_model(kind, lam):
    tn = torch.nn
    if kind == "mlp":
        m = tn.Sequential(tn.Linear(784, 256), tn.ReLU(), tn.Linear(256, 128), tn.ReLU(), tn.Linear(128, 10))
    else:
        m = tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(6, 16, 5), tn.ReLU(),
                          tn.MaxPool2d(2), tn.Flatten(), tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(),
                          tn.Linear(84, 10))
    # same initial weights as the lamina model
    with torch.no_grad():
        for tp, lp in zip(m.parameters(), lam.parameters()):
            tp.copy_(torch.from_numpy(lp.numpy().reshape(tp.shape)))
    return m


def epoch_lamina(model, opt, X, y, order, bs):
    model.train()
    lossf = nn.CrossEntropyLoss()
    for i in range(0, len(order), bs):
        idx = order[i:i + bs]
        loss = lossf(model(L.from_numpy(X[idx])), L.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()


def epoch_torch(model, opt, X, y, order, bs):
    model.train()
    lossf = torch.nn.CrossEntropyLoss()
    for i in range(0, len(order), bs):
        idx = order[i:i + bs]
        loss = lossf(model(torch.from_numpy(X[idx])), torch.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()


def accuracy_lamina(model, X, y):
    model.eval()
    with L.no_grad():
        return float((model(L.from_numpy(X)).numpy().argmax(1) == y).mean())


def accuracy_torch(model, X, y):
    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(X)).numpy().argmax(1) == y).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--models", default="mlp,lenet")
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(machine_info(), f"; torch {torch.__version__}")
    Xtr, ytr = fashion_mnist(root=ROOT, train=True)
    Xte, yte = fashion_mnist(root=ROOT, train=False)
    for kind in args.models.split(","):
        shape = (-1, 784) if kind == "mlp" else (-1, 1, 28, 28)
        X = (Xtr.astype(np.float32) / 255).reshape(shape)
        Xt = (Xte.astype(np.float32) / 255).reshape(shape)
        L.manual_seed(0)
        lm = MLP([784, 256, 128, 10]) if kind == "mlp" else LeNet5()
        tm = torch_model(kind, lm)
        lo = optim.Adam(lm.parameters(), lr=LR[kind])
        to = torch.optim.Adam(tm.parameters(), lr=LR[kind])
        rng = np.random.default_rng(0)
        times = {"lamina": [], "torch": []}
        for _ in range(args.epochs):
            order = rng.permutation(len(X))
            for name, fn, m, o in (("lamina", epoch_lamina, lm, lo), ("torch", epoch_torch, tm, to)):
                time.sleep(0.3)  # let the other library's BLAS threads stop spinning
                t0 = time.perf_counter()
                fn(m, o, X, ytr, order, BATCH[kind])
                times[name].append(time.perf_counter() - t0)
        la, ta = accuracy_lamina(lm, Xt, yte), accuracy_torch(tm, Xt, yte)
        ml, mt = statistics.median(times["lamina"]), statistics.median(times["torch"])
        print(f"{kind:6s} batch {BATCH[kind]:4d}: lamina {ml:6.2f} s/epoch (test acc {la:.4f})   "
              f"torch {mt:6.2f} s/epoch (test acc {ta:.4f})   lamina/torch time {ml / mt:.2f}   "
              f"[{args.epochs} epochs, Adam lr {LR[kind]}]")


if __name__ == "__main__":
    main()
