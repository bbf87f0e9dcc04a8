"""Bench: lamina's Bayesian strategy against Optuna's default sampler (TPE), side by side.

For Branin (2-D, minimum 0.397887) and Hartmann-6 (6-D, minimum -3.32237):
the best value after 50 trials, median over 10 seeds, plus the wall time of the
strategy itself per trial (ask + tell, the objective excluded).  Random search
is shown as a floor.  Both libraries are driven through their ask/tell
interface in this process, so the timings compare like with like.

    /work/venv/bin/pip install optuna           # bench extra
    /work/venv/bin/python bench/tune_bayes.py [--seeds 10] [--trials 50]

Writes bench/results/tune_bayes.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
from lamina import tune


def branin(trial):
    x = trial.suggest_float("x", -5.0, 10.0)
    y = trial.suggest_float("y", 0.0, 15.0)
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
               [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(trial):
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)])
    return -float(_ALPHA @ np.exp(-np.sum(_A * (x - _P) ** 2, axis=1)))


PROBLEMS = {"branin": (branin, 0.397887), "hartmann6": (hartmann6, -3.32237)}


def _loop(study, objective, n_trials):
    """Run ``n_trials`` through ask/tell; strategy time = (ask + objective + tell) minus the
    objective's own arithmetic (re-timed on fixed values), since both libraries sample some
    values lazily inside ``suggest_*``."""
    overhead = 0.0
    for _ in range(n_trials):
        t0 = time.perf_counter()
        trial = study.ask()
        value = objective(trial)
        study.tell(trial, value)
        overhead += time.perf_counter() - t0 - _objective_time(objective, dict(trial.params))
    return study.best_value, overhead / n_trials


class _Fixed:
    def __init__(self, params):
        self.params = params

    def suggest_float(self, name, *args, **kwargs):
        return self.params[name]


def _objective_time(objective, params) -> float:
    fixed = _Fixed(params)
    t0 = time.perf_counter()
    objective(fixed)
    return time.perf_counter() - t0


def run_lamina(strategy, objective, n_trials):
    return _loop(tune.create_study(strategy=strategy), objective, n_trials)


def run_optuna(seed, objective, n_trials):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return _loop(optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed)), objective, n_trials)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=50)
    args = ap.parse_args()
    try:
        import optuna
        optuna_version = optuna.__version__
    except ImportError:
        sys.exit("bench/tune_bayes.py needs optuna: /work/venv/bin/pip install optuna")
    seeds = range(args.seeds)
    results = {}
    print(f"{args.trials} trials, median over {args.seeds} seeds; optuna {optuna_version}; "
          f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    print(f"{'problem':<10} {'strategy':<22} {'median best':>12} {'gap to min':>11} {'IQR':>19} {'ms/trial':>9}")
    for pname, (objective, fmin) in PROBLEMS.items():
        runners = {
            "lamina Bayesian": lambda s, f=objective: run_lamina(tune.Bayesian(seed=s), f, args.trials),
            "optuna TPE (default)": lambda s, f=objective: run_optuna(s, f, args.trials),
            "lamina Random": lambda s, f=objective: run_lamina(tune.Random(seed=s), f, args.trials),
        }
        results[pname] = {}
        for name, fn in runners.items():
            out = [fn(s) for s in seeds]
            best = [b for b, _ in out]
            ms = 1000 * statistics.mean(t for _, t in out)
            q1, q3 = np.percentile(best, [25, 75])
            med = statistics.median(best)
            results[pname][name] = {"median_best": med, "best_per_seed": best, "ms_per_trial": ms}
            print(f"{pname:<10} {name:<22} {med:>12.5f} {med - fmin:>11.5f} [{q1:>8.4f}, {q3:>8.4f}] {ms:>9.2f}")
        lam = results[pname]["lamina Bayesian"]["median_best"]
        tpe = results[pname]["optuna TPE (default)"]["median_best"]
        print(f"{pname:<10} lamina Bayesian {'beats' if lam < tpe else 'does NOT beat'} TPE "
              f"(gap to minimum {lam - fmin:.5f} vs {tpe - fmin:.5f})")
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "tune_bayes.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"trials": args.trials, "seeds": args.seeds, "optuna": optuna_version, "results": results}, f,
                  indent=1)
    os.replace(tmp, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
