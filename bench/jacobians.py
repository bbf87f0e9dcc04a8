"""lamina.func against torch.func on the Jacobian workloads, in one process, interleaved round by round:

* ``fwd_fwd``: jacfwd(jacfwd(f)) of f: R¹⁶ → R¹⁶, f(x) = tanh(W x) · Σx;
* ``hessian``: hessian of a scalar f: R³² → R, f(x) = logsumexp(W x) + Σx⁴/4;
* ``fwd_2048``: jacfwd of f: R²⁰⁴⁸ → R⁸, f(x) = tanh(A x);
* ``rev_rev``: jacrev(jacrev(f)) of f: R¹⁶ → R⁴, f(x) = sin(B x) · Σx²;
* ``per_sample``: per-sample gradients of an MLP 32-64-10 (tanh, softmax cross-entropy) on a batch of 64:
  vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y);
* ``fwd_fwd_32``, ``per_sample_big``: the same at n = 32, and an MLP 784-128-10 on a batch of 256;
* ``per_sample_ce``: the small MLP's per-sample gradients with F.cross_entropy(z[None], y[None]) on class
  indices (torch's per-sample-gradient tutorial form).

All in float64, both libraries on ``--threads`` BLAS/intra-op threads (default 1). Prints, per workload, the median over rounds of time(lamina) / time(torch), the medians
of both times, and the machine load.

Run:  python bench/jacobians.py [--rounds 15] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import interleaved, machine_info, median, ratio_median

import lamina

RNG = np.random.default_rng(0)
W16, W32, A, B = (RNG.standard_normal(s) / np.sqrt(s[1]) for s in [(16, 16), (32, 32), (8, 2048), (4, 16)])
X16, X32, X2048 = RNG.standard_normal(16), RNG.standard_normal(32), RNG.standard_normal(2048)
MLP = [RNG.standard_normal((64, 32)) / 6, np.zeros(64), RNG.standard_normal((10, 64)) / 8, np.zeros(10)]
XB, YB = RNG.standard_normal((64, 32)), np.eye(10)[RNG.integers(0, 10, 64)]
W32B, X32B = RNG.standard_normal((32, 32)) / 6, RNG.standard_normal(32)
MLP_BIG = [RNG.standard_normal((128, 784)) / 28, np.zeros(128), RNG.standard_normal((10, 128)) / 11, np.zeros(10)]
YI = RNG.integers(0, 10, 64)
XBIG, YBIG = RNG.standard_normal((256, 784)), np.eye(10)[RNG.integers(0, 10, 256)]


def workloads(lib):
    """The five workloads as zero-argument callables, for ``lib`` = lamina or torch."""
    fn = lib.func
    t = {k: lib.tensor(v) for k, v in dict(w16=W16, w32=W32, a=A, b=B, x16=X16, x32=X32, x2048=X2048).items()}
    params, big = tuple(lib.tensor(p) for p in MLP), tuple(lib.tensor(p) for p in MLP_BIG)
    xb, yb, xbig, ybig = lib.tensor(XB), lib.tensor(YB), lib.tensor(XBIG), lib.tensor(YBIG)
    w32b, x32b, yi = lib.tensor(W32B), lib.tensor(X32B), lib.tensor(YI)

    def f_ff(x):
        return (t["w16"] @ x).tanh() * x.sum()

    def f_h(x):
        return (t["w32"] @ x).logsumexp(0) + (x ** 4).sum() / 4

    def f_rr(x):
        return (t["b"] @ x).sin() * (x * x).sum()

    def loss(p, x, y):
        h = (p[0] @ x + p[1]).tanh()
        z = p[2] @ h + p[3]
        return -(z.log_softmax(0) * y).sum()

    def loss_ce(p, x, y):
        z = p[2] @ (p[0] @ x + p[1]).tanh() + p[3]
        return lib.nn.functional.cross_entropy(z[None], y[None])

    return {
        "fwd_fwd": lambda: fn.jacfwd(fn.jacfwd(f_ff))(t["x16"]),
        "hessian": lambda: fn.hessian(f_h)(t["x32"]),
        "fwd_2048": lambda: fn.jacfwd(lambda x: (t["a"] @ x).tanh())(t["x2048"]),
        "rev_rev": lambda: fn.jacrev(fn.jacrev(f_rr))(t["x16"]),
        "per_sample": lambda: fn.vmap(fn.grad(loss), in_dims=(None, 0, 0))(params, xb, yb),
        "fwd_fwd_32": lambda: fn.jacfwd(fn.jacfwd(lambda x: (w32b @ x).tanh() * x.sum()))(x32b),
        "per_sample_ce": lambda: fn.vmap(fn.grad(loss_ce), in_dims=(None, 0, 0))(params, xb, yi),
        "per_sample_big": lambda: fn.vmap(fn.grad(loss), in_dims=(None, 0, 0))(big, xbig, ybig),
    }


def _check(lam, tor) -> None:
    """Both libraries compute the same numbers (to 1e-10)."""
    for name in lam:
        a, b = lam[name](), tor[name]()
        a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
        for x, y in zip(a, b):
            np.testing.assert_allclose(x.numpy(), y.detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--number", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        print("threadpoolctl not installed: NumPy's BLAS keeps its own thread count")
    lam, tor = workloads(lamina), workloads(torch)
    _check(lam, tor)
    cases = {}
    for name in lam:
        cases[f"lamina {name}"] = lam[name]
        cases[f"torch {name}"] = tor[name]
    times = interleaved(cases, args.rounds, args.number)
    print(machine_info())
    print(f"{args.threads} thread(s) each")
    print(f"{'workload':<16}{'lamina ms':>11}{'torch ms':>10}{'ratio':>8}   (median over {args.rounds} rounds)")
    for name in lam:
        r = ratio_median(times, f"lamina {name}", f"torch {name}")
        print(f"{name:<16}{median(times[f'lamina {name}']) * 1e3:>11.2f}{median(times[f'torch {name}']) * 1e3:>10.2f}"
              f"{r:>8.2f}")
    print(machine_info())


if __name__ == "__main__":
    main()
