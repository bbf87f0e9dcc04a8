"""Bench: cost per trial of lamina's Bayesian strategy as a search grows to 1,000 trials, beside Optuna's
TPE and lamina's Random search in the same process, on Hartmann-6 (6-D).

Prints the mean strategy time per trial (ask + tell, objective excluded) over each block of trials, and
the best value after 40 trials (median over seeds) for the regret check. BLAS threads and machine load
are printed; the Bayesian strategy runs its GP on one BLAS thread.

Run:  python bench/tune_scale.py [--trials 1000] [--block 100] [--seeds 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tune_bayes import _objective_time, hartmann6

from lamina import tune


def timed_run(study, n_trials, block):
    """Per block of trials: mean strategy ms per trial; and the best value after 40 trials."""
    blocks, acc, best40 = [], 0.0, None
    for i in range(n_trials):
        t0 = time.perf_counter()
        trial = study.ask()
        value = hartmann6(trial)
        study.tell(trial, value)
        acc += time.perf_counter() - t0 - _objective_time(hartmann6, dict(trial.params))
        if i + 1 == 40:
            best40 = study.best_value
        if (i + 1) % block == 0:
            blocks.append(1000 * acc / block)
            acc = 0.0
    return blocks, best40


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=1, help="seeds for the 40-trial regret (first seed also timed)")
    args = ap.parse_args()
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"Hartmann-6, {args.trials} trials; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    makers = {
        "lamina Bayesian": lambda s: tune.create_study(strategy=tune.Bayesian(seed=s)),
        "optuna TPE": lambda s: optuna.create_study(sampler=optuna.samplers.TPESampler(seed=s)),
        "lamina Random": lambda s: tune.create_study(strategy=tune.Random(seed=s)),
    }
    header = " ".join(f"{(k + 1) * args.block:>7}" for k in range(args.trials // args.block))
    print(f"{'strategy':<16} ms/trial at trial … {header}   best@40 (median)")
    for name, make in makers.items():
        blocks, best = timed_run(make(0), args.trials, args.block)
        bests = [best] + [timed_run(make(s), 40, 40)[1] for s in range(1, args.seeds)]
        print(f"{name:<16} {'':<18}" + " ".join(f"{b:>7.1f}" for b in blocks)
              + f"   {statistics.median(bests):.4f}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
