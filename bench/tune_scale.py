"""Bench: cost per trial of lamina's Bayesian strategy as a search grows to 1,000 trials, beside Optuna's
TPE (and lamina's Random search as a floor) in the same process, on Hartmann-6 (6-D).

The strategies advance in lockstep, one trial each in turn, so load changes on a shared machine hit all
of them alike.  Per block of trials it prints the mean strategy time per trial (ask + tell, the
objective's own time excluded) of each, and the ratio lamina / TPE; then the best value after 40 trials
of each seed and their median (the regret check), and the machine load before and after.  ``--clock
thread`` times with this thread's CPU clock (``time.thread_time``), which preemption does not inflate;
run with ``OMP_NUM_THREADS=1`` then (the Bayesian strategy keeps its GP on one BLAS thread anyway).

Run:  OMP_NUM_THREADS=1 PYTHONPATH=src python bench/tune_scale.py [--trials 1000] [--block 100]
      [--seeds 5] [--clock thread]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_info
from tune_bayes import _Fixed, hartmann6

from lamina import tune

CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time}


class Runner:
    """One study driven through ask/tell, one trial per ``step``; strategy time per block of trials."""

    def __init__(self, study, clock, block: int):
        self.study, self.clock, self.block = study, clock, block
        self.blocks: list[float] = []
        self.acc, self.done, self.best40 = 0.0, 0, None

    def step(self) -> None:
        clock = self.clock
        t0 = clock()
        trial = self.study.ask()
        value = hartmann6(trial)
        self.study.tell(trial, value)
        t1 = clock()
        hartmann6(_Fixed(dict(trial.params)))   # the objective's own arithmetic, re-timed on fixed values
        self.acc += (t1 - t0) - (clock() - t1)
        self.done += 1
        if self.done == 40:
            self.best40 = self.study.best_value
        if self.done % self.block == 0:
            self.blocks.append(1000 * self.acc / self.block)
            self.acc = 0.0


def lockstep(makers: dict, seed: int, n_trials: int, block: int, clock) -> dict:
    runners = {name: Runner(make(seed), clock, block) for name, make in makers.items()}
    for _ in range(n_trials):
        for r in runners.values():
            r.step()
    return runners


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=5, help="seeds for best@40 (seed 0 is also the timed run)")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = ap.parse_args()
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    clock = CLOCKS[args.clock]
    makers = {
        "lamina Bayesian": lambda s: tune.create_study(strategy=tune.Bayesian(seed=s)),
        "optuna TPE": lambda s: optuna.create_study(sampler=optuna.samplers.TPESampler(seed=s)),
        "lamina Random": lambda s: tune.create_study(strategy=tune.Random(seed=s)),
    }
    print(f"Hartmann-6 (minimum -3.32237), {args.trials} trials, clock {args.clock}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, optuna {optuna.__version__}")
    print(f"before: {machine_info()}")
    timed = lockstep(makers, 0, args.trials, args.block, clock)
    n_blocks = len(timed["lamina Bayesian"].blocks)
    print(f"\nms/trial (ask + tell, objective excluded), mean over each block of {args.block} trials")
    print(f"{'trials':>7} " + " ".join(f"{name:>16}" for name in makers) + f" {'lamina/TPE':>11}")
    for k in range(n_blocks):
        row = [timed[name].blocks[k] for name in makers]
        ratio = timed["lamina Bayesian"].blocks[k] / timed["optuna TPE"].blocks[k]
        print(f"{(k + 1) * args.block:>7} " + " ".join(f"{v:>16.2f}" for v in row) + f" {ratio:>11.2f}")
    total = {name: statistics.mean(timed[name].blocks) for name in makers}
    print(f"{'mean':>7} " + " ".join(f"{total[name]:>16.2f}" for name in makers)
          + f" {total['lamina Bayesian'] / total['optuna TPE']:>11.2f}")
    print(f"\nbest value after 40 trials, seeds 0..{args.seeds - 1}")
    bests = {name: [timed[name].best40] for name in makers}
    for seed in range(1, args.seeds):
        for name, r in lockstep(makers, seed, 40, 40, clock).items():
            bests[name].append(r.best40)
    for name in makers:
        print(f"{name:<16} median {statistics.median(bests[name]):.4f}   per seed "
              + " ".join(f"{b:.4f}" for b in bests[name]))
    print(f"\nafter: {machine_info()}")


if __name__ == "__main__":
    main()
