"""A SIGKILLed tune master takes its pool workers with it: none is left holding the data and the dead master's
pipes (and the journal's lock, which they inherited), and the journal then resumes with nothing lost."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from lamina import tune

psutil = pytest.importorskip("psutil")

SRC = str(Path(tune.__file__).resolve().parents[2])
N_TRIALS = 12

MASTER = textwrap.dedent("""
    import sys, time
    from concurrent.futures import ProcessPoolExecutor
    sys.path.insert(0, {src!r})
    from lamina import tune

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(0.3)
        return x

    study = tune.create_study(strategy=tune.Random(seed=3), storage={path!r})
    study.optimize(objective, n_trials={n}, n_workers=3, executor={executor})
""")


def finishes(path):
    recs = [json.loads(line) for line in Path(path).read_text().splitlines()]
    return Counter(r["number"] for r in recs if r["op"] == "finish")


def wait_for_workers(master, n, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        kids = master.children()
        if len(kids) >= n:
            return kids
        time.sleep(0.02)
    raise AssertionError(f"the master started {len(master.children())} of {n} workers")


def assert_all_gone(procs, timeout=5.0):
    """Every process in ``procs`` exits within ``timeout`` seconds (a zombie counts as gone)."""
    deadline = time.time() + timeout
    alive = list(procs)
    while alive and time.time() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    for p in alive:                       # clean up before failing
        p.kill()
    assert not alive, f"workers {[p.pid for p in alive]} outlived their SIGKILLed master"


def test_workers_exit_when_the_tune_master_is_killed_and_the_journal_resumes(tmp_path):
    path = str(tmp_path / "kill.jsonl")
    proc = subprocess.Popen([sys.executable, "-c", MASTER.format(src=SRC, path=path, n=N_TRIALS, executor=None)])
    try:
        workers = wait_for_workers(psutil.Process(proc.pid), 3)
        deadline = time.time() + 30
        while time.time() < deadline and not (os.path.exists(path) and finishes(path)):
            time.sleep(0.02)
        assert all(w.is_running() for w in workers)         # mid-search: all busy
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert_all_gone(workers)
    done = set(finishes(path))
    assert 0 < len(done) < N_TRIALS
    study = tune.create_study(strategy=tune.Random(seed=3), storage=path)    # the lock died with them
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=N_TRIALS - len(done))
    assert finishes(path) == Counter(range(N_TRIALS))


def test_orphans_of_a_hand_made_pool_do_not_keep_the_journal_locked(tmp_path):
    """A plain ProcessPoolExecutor's workers outlive a killed master (nothing makes them watch it), but they
    closed their copy of the lock at fork: the journal can be resumed while they still run."""
    path = str(tmp_path / "orphans.jsonl")
    code = MASTER.format(src=SRC, path=path, n=N_TRIALS, executor="ProcessPoolExecutor(3)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    workers = []
    try:
        workers = wait_for_workers(psutil.Process(proc.pid), 3)
        deadline = time.time() + 30
        while time.time() < deadline and not (os.path.exists(path) and finishes(path)):
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert any(w.is_running() for w in workers)
        study = tune.create_study(strategy=tune.Random(seed=3), storage=path)
        done = set(finishes(path))
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=N_TRIALS - len(done))
        assert finishes(path) == Counter(range(N_TRIALS))
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        for w in workers:
            if w.is_running():
                w.kill()
