"""Bench: master/workers speed-up and a fault run (seed 004).

1. Speed-up: a study of 16 trials that each sleep 1 s, with 1 worker and with
   2 workers, on the standard-library process pool and on a Dask LocalCluster
   (``client.get_executor()``; skipped without ``dask[distributed]``).
   Goal: >= 1.8x with 2 workers.
2. Fault run: a master (a separate process, 2 pool workers, journal on disk)
   runs 16 trials of 0.5 s; this script kills one worker process (SIGKILL),
   later kills the master (SIGKILL), then resumes the study from the journal
   and checks that every trial 0..15 has exactly one ``finish`` record and
   that no finished trial was evaluated again.

    /work/venv/bin/python bench/tune_parallel.py [--skip-speedup] [--skip-fault]

Writes bench/results/tune_parallel.json.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
from lamina import tune

HERE = os.path.abspath(__file__)


def sleepy(trial):
    """A 1-second 'training run'."""
    x = trial.suggest_float("x", 0.0, 1.0)
    time.sleep(1.0)
    return x


def logged(trial):
    """A 0.5-second trial that logs each evaluation (number, pid) to $TUNE_EVAL_LOG."""
    x = trial.suggest_float("x", 0.0, 1.0)
    with open(os.environ["TUNE_EVAL_LOG"], "a") as f:
        f.write(f"{trial.number} {os.getpid()}\n")
    time.sleep(0.5)
    return (x - 0.3) ** 2


def timed_study(**optimize_kwargs) -> float:
    study = tune.create_study(strategy=tune.Random(seed=0))
    t0 = time.perf_counter()
    study.optimize(sleepy, n_trials=16, **optimize_kwargs)
    elapsed = time.perf_counter() - t0
    assert len(study.get_trials([tune.TrialState.COMPLETE])) == 16
    return elapsed


def speedup() -> dict:
    out = {}
    t1 = timed_study()                                                # 1 worker: in the master process
    with ProcessPoolExecutor(1) as ex:
        p1 = timed_study(executor=ex, n_workers=1)
    p2 = timed_study(n_workers=2)                                     # default: a process pool
    out["process_pool"] = {"inline_1_worker_s": t1, "pool_1_worker_s": p1, "pool_2_workers_s": p2,
                           "speedup_vs_inline": t1 / p2, "speedup_vs_pool_1": p1 / p2}
    print(f"process pool : 1 worker inline {t1:6.2f} s | pool 1 worker {p1:6.2f} s | "
          f"pool 2 workers {p2:6.2f} s | speed-up {t1 / p2:.2f}x (vs pool-1 {p1 / p2:.2f}x)")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask         : skipped (pip install 'dask[distributed]')")
        return out
    res = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            res[n] = timed_study(executor=client.get_executor(), n_workers=n)
    out["dask_local_cluster"] = {"1_worker_s": res[1], "2_workers_s": res[2], "speedup": res[1] / res[2]}
    print(f"dask cluster : 1 worker {res[1]:6.2f} s | 2 workers {res[2]:6.2f} s | speed-up {res[1] / res[2]:.2f}x")
    return out


# ------------------------------------------------------------------ fault run
def master(journal: str) -> None:
    study = tune.create_study(strategy=tune.Random(seed=11), storage=journal)
    study.optimize(logged, n_trials=16, n_workers=2)


def _children(pid: int) -> list[int]:
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(k) for k in f.read().split()]
        except FileNotFoundError:
            pass
    return kids


def _finishes(journal: str) -> Counter:
    c = Counter()
    if not os.path.exists(journal):
        return c
    with open(journal) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("op") == "finish":
                c[rec["number"]] += 1
    return c


def _wait_for(cond, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    raise TimeoutError("fault run: the master made no progress")


def fault_run() -> dict:
    tmp = tempfile.mkdtemp(prefix="tune_fault_")
    journal, evals = os.path.join(tmp, "study.jsonl"), os.path.join(tmp, "evals.log")
    env = dict(os.environ, TUNE_EVAL_LOG=evals)
    proc = subprocess.Popen([sys.executable, HERE, "--master", journal], env=env)
    try:
        _wait_for(lambda: len(_finishes(journal)) >= 3)
        workers = _children(proc.pid)
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)                          # 1. a worker dies
        killed_worker_at = len(_finishes(journal))
        _wait_for(lambda: len(_finishes(journal)) >= 9)
        kids = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)                        # 2. the master dies
        killed_master_at = len(_finishes(journal))
        for k in kids:                                           # its pool workers (ours too)
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        proc.wait()
    before = _finishes(journal)
    evaluated_before = Counter(int(line.split()[0]) for line in open(evals))
    os.environ["TUNE_EVAL_LOG"] = evals
    study = tune.create_study(strategy=tune.Random(seed=11), storage=journal)   # 3. resume
    running = [t.number for t in study.trials if t.state == tune.TrialState.RUNNING]
    study.optimize(logged, n_trials=16 - len(before), n_workers=2)
    after = _finishes(journal)
    evaluated = Counter(int(line.split()[0]) for line in open(evals))
    re_evaluated_finished = [n for n in before if evaluated[n] > evaluated_before[n]]
    states = Counter(t.state.value for t in study.trials)
    ok = after == Counter(range(16)) and not re_evaluated_finished
    report = {
        "worker_killed_after_finished": killed_worker_at, "master_killed_after_finished": killed_master_at,
        "running_at_master_kill": running, "finish_records_per_trial": dict(sorted(after.items())),
        "evaluations_per_trial": dict(sorted(evaluated.items())), "states": dict(states),
        "finished_trials_re_evaluated": re_evaluated_finished, "every_trial_exactly_once": ok,
    }
    print(f"fault run    : worker killed after {killed_worker_at} finished trials, master killed after "
          f"{killed_master_at}; {len(running)} RUNNING trials re-run on resume {running}")
    print(f"               evaluations per trial {dict(sorted(evaluated.items()))}")
    print(f"               final states {dict(states)}; finish records per trial all 1: "
          f"{after == Counter(range(16))}; finished trials re-evaluated: {re_evaluated_finished}")
    print(f"               every trial accounted for exactly once: {ok}")
    return report


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--master":
        master(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-speedup", action="store_true")
    ap.add_argument("--skip-fault", action="store_true")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    results = {}
    if not args.skip_speedup:
        results["speedup"] = speedup()
    if not args.skip_fault:
        results["fault_run"] = fault_run()
    out_dir = os.path.join(os.path.dirname(HERE), "results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "tune_parallel.json")
    with open(path + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
