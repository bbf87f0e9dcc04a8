"""Whole conv-net training programs, written once against the torch API and run with ``lamina`` and with
``torch`` in one process, interleaved round by round; prints the median ratio of step times.

Programs (training steps on random data of the usual shapes, batch 32, float32):

* ``mnist``: the official PyTorch MNIST example's net (conv 32@3×3 → conv 64@3×3 → max-pool → dropout →
  FC 9216-128 → dropout → FC 10, log-softmax + NLL) with Adadelta;
* ``resnet``: a CIFAR ResNet-8 (3×3 convs with padding, BatchNorm, strided 3×3 convs and 1×1 strided
  shortcuts in stages of 16/32/64 channels, global average pool, FC) with SGD momentum + weight decay;
* ``dcgan``: one DCGAN step on 32×32 images (generator: transposed convs 4×4 stride 2 with BatchNorm and
  ReLU, tanh; discriminator: strided 4×4 convs with LeakyReLU and BatchNorm; BCE-with-logits; Adam on both).

Time is measured with ``--clock thread`` (default: this thread's CPU time, both libraries on one thread so
a loaded machine does not skew the ratio) or ``--clock wall``. A ratio < 1 means lamina takes less time.

Run:  OMP_NUM_THREADS=1 python bench/conv_programs.py [--rounds 7] [--steps 3] [--only resnet]
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


def mnist(torch, rng):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)
            self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
            self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
            x = torch.flatten(self.dropout1(x), 1)
            x = self.dropout2(F.relu(self.fc1(x)))
            return F.log_softmax(self.fc2(x), dim=1)

    model = Net()
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    x = torch.tensor(rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, BATCH))

    def step():
        opt.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        opt.step()
    return step


def resnet(torch, rng):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.short = nn.Sequential()
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + self.short(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.layers = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = self.layers(self.stem(x))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    model = ResNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.tensor(rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, BATCH))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def dcgan(torch, rng):
    nn = torch.nn
    nz, ngf, ndf = 64, 32, 32
    gen = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())
    disc = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss_fn = nn.BCEWithLogitsLoss()
    real = torch.tensor(rng.uniform(-1, 1, (BATCH, 3, 32, 32)).astype(np.float32))
    noise = torch.tensor(rng.standard_normal((BATCH, nz, 1, 1)).astype(np.float32))
    ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)

    def step():
        disc.zero_grad()
        fake = gen(noise)
        loss_d = loss_fn(disc(real).view(-1), ones) + loss_fn(disc(fake.detach()).view(-1), zeros)
        loss_d.backward()
        opt_d.step()
        gen.zero_grad()
        loss_g = loss_fn(disc(fake).view(-1), ones)
        loss_g.backward()
        opt_g.step()
    return step


PROGRAMS = {"mnist": mnist, "resnet": resnet, "dcgan": dcgan}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=3, help="training steps per library per round")
    ap.add_argument("--clock", choices=["thread", "wall"], default="thread")
    ap.add_argument("--only", nargs="*", choices=list(PROGRAMS))
    args = ap.parse_args()
    import torch

    import lamina

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    print(f"{machine_info()}; torch {torch.__version__} with {threads} thread(s); clock {args.clock}")
    print(f"{'program':<8} {'lamina ms/step':>15} {'torch ms/step':>14} {'lamina/torch time':>18}")
    for name in args.only or PROGRAMS:
        steps = {lib.__name__: PROGRAMS[name](lib, np.random.default_rng(0)) for lib in (lamina, torch)}
        for f in steps.values():  # warm-up: buffers, caches, first-call paths
            f()
            f()
        times: dict[str, list[float]] = {k: [] for k in steps}
        for r in range(args.rounds):
            for key in (list(steps) if r % 2 == 0 else list(steps)[::-1]):
                t0 = clock()
                for _ in range(args.steps):
                    steps[key]()
                times[key].append((clock() - t0) / args.steps)
        ratio = statistics.median(a / b for a, b in zip(times["lamina"], times["torch"]))
        print(f"{name:<8} {statistics.median(times['lamina']) * 1e3:>15.1f} "
              f"{statistics.median(times['torch']) * 1e3:>14.1f} {ratio:>18.2f}")


if __name__ == "__main__":
    main()
