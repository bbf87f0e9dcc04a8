"""One master at a time on a journal: a second one is refused naming the first one's PID, masters that take turns
see each other's trials, and two started at once never run a grid point twice nor lose one on a later resume."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
from conftest import assert_one_line_error

from lamina import tune
from lamina.tune.trial import TrialState

SRC = str(Path(tune.__file__).resolve().parents[2])
GRID = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]

MASTER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from lamina import tune

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 7.0)
        time.sleep({sleep})
        return x

    strategy = tune.Grid(search_space={{"x": {grid!r}}}) if {grid!r} else tune.Random(seed=9)
    study = tune.create_study(strategy=strategy, storage={path!r})
    try:
        study.optimize(objective, n_trials={n_trials})
    except tune.JournalLockedError as e:
        print(e, flush=True)
        sys.exit(3)
    print("ran", sum(t.state.is_finished() for t in study.trials), flush=True)
""")


def _master(path, n_trials=None, sleep=0.05, grid=None):
    code = MASTER.format(src=SRC, path=str(path), n_trials=n_trials, sleep=sleep, grid=grid or [])
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def finishes(path):
    return Counter(r["number"] for r in records(path) if r["op"] == "finish")


def _wait_for_start(path, proc, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if Path(path).exists() and any(r["op"] == "start" for r in records(path)):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the master never started a trial")


def x_of(trial):
    return trial.suggest_float("x", 0.0, 7.0)


def test_a_second_master_is_refused_naming_the_first_ones_pid(tmp_path, fast_digits, cli):
    path = tmp_path / "busy.jsonl"
    proc = _master(path, n_trials=200)
    try:
        _wait_for_start(path, proc)
        reader = tune.load_study(storage=str(path), strategy=tune.Random())   # looking needs no lock
        assert reader.trials and reader.trials[0].number == 0
        with pytest.raises(tune.JournalLockedError, match=f"PID {proc.pid}") as info:
            reader.optimize(x_of, n_trials=1)
        assert info.value.holder.split()[0] == str(proc.pid)
        with pytest.raises(tune.JournalLockedError, match=f"PID {proc.pid}"):
            reader.ask()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")             # written by Random, opened with Bayesian
            result = cli("tune", "--trials", "1", "--epochs", "1", "--width", "4", "--quiet", "--storage", path)
        assert_one_line_error(result, "--storage", "in use by another master", f"PID {proc.pid}")
        assert proc.poll() is None                      # the first master goes on
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    resumed = tune.create_study(strategy=tune.Random(seed=9), storage=path)   # the dead master's lock is gone
    before = set(finishes(path))
    resumed.optimize(x_of, n_trials=2)
    assert set(finishes(path)) - before                 # it wrote


def test_two_masters_started_at_once_run_each_grid_point_once(tmp_path):
    path = tmp_path / "grid.jsonl"
    procs = [_master(path, sleep=0.1, grid=GRID) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) in ([0, 0], [0, 3]), (codes, outs)
    for other, (out, _err), code in zip(procs[::-1], outs, codes):
        if code == 3:                                    # refused: the message names the winner
            assert f"PID {other.pid}" in out and "in use by another master" in out, out
    recs = records(path)
    assert [r["op"] for r in recs].count("study") == 1
    done = [r for r in recs if r["op"] == "finish"]
    assert sorted(r["params"]["x"] for r in done) == GRID          # every grid point, each once
    assert Counter(r["number"] for r in done) == Counter(range(len(GRID)))
    assert Counter(r["number"] for r in recs if r["op"] == "start") == Counter(range(len(GRID)))
    # a later resume: nothing lost, nothing run again
    evaluated = []

    def counting(trial):
        evaluated.append(trial.number)
        return x_of(trial)

    resumed = tune.create_study(strategy=tune.Grid(search_space={"x": GRID}), storage=path)
    assert [t.state for t in resumed.trials] == [TrialState.COMPLETE] * len(GRID)
    resumed.optimize(counting, timeout=60)
    assert evaluated == []
    assert sorted(t.params["x"] for t in resumed.trials) == GRID
    assert finishes(path) == Counter(range(len(GRID)))


def test_masters_taking_turns_see_each_others_trials(tmp_path):
    path = tmp_path / "turns.jsonl"
    first = tune.create_study(strategy=tune.Random(seed=4), storage=path)
    second = tune.create_study(strategy=tune.Random(seed=4), storage=path)   # both opened before any trial
    first.optimize(x_of, n_trials=3)
    second.optimize(x_of, n_trials=3)          # re-reads the journal first: numbers 3, 4, 5
    first.optimize(x_of, n_trials=2)           # and this one 6, 7
    assert finishes(path) == Counter(range(8))
    reference = tune.create_study(strategy=tune.Random(seed=4))
    reference.optimize(x_of, n_trials=8)
    assert [t.params for t in first.trials] == [t.params for t in reference.trials]
    assert [t.number for t in second.trials] == list(range(6))
    assert not (tmp_path / "turns.jsonl.lock").exists()       # removed by the last holder


def test_a_manual_trial_holds_the_journal_until_it_is_told(tmp_path):
    path = tmp_path / "manual.jsonl"
    a = tune.create_study(strategy=tune.Random(seed=1), storage=path)
    b = tune.create_study(strategy=tune.Random(seed=1), storage=path)
    trial = a.ask()
    lock = tmp_path / "manual.jsonl.lock"
    assert lock.read_text().split()[0] == str(os.getpid())
    with pytest.raises(tune.JournalLockedError, match=f"another study of this process \\(PID {os.getpid()}\\)"):
        b.optimize(x_of, n_trials=1)
    a.tell(trial, x_of(trial))
    b.optimize(x_of, n_trials=2)
    assert [t.number for t in b.trials] == [0, 1, 2] and b.trials[0].state == TrialState.COMPLETE
    assert finishes(path) == Counter(range(3))


def test_a_reader_never_cuts_the_line_a_live_master_is_writing(tmp_path):
    path = tmp_path / "live.jsonl"
    master = tune.create_study(strategy=tune.Random(seed=2), storage=path)
    master.optimize(x_of, n_trials=2)
    with master.lock():
        with open(path, "ab") as f:            # the master in the middle of writing a record
            f.write(b'{"op":"start","numb')
        content = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            reader = tune.load_study(storage=str(path), strategy=tune.Random())
        assert path.read_bytes() == content
        assert len(reader.trials) == 2
        with open(path, "ab") as f:            # ... and finishing it
            f.write(b'er":2,"fixed":{},"seed":2,"draw":null,"fallback":"random","system_attrs":{}}\n')
    assert [t.state for t in tune.load_study(storage=str(path), strategy=tune.Random()).trials] == [TrialState.COMPLETE] * 2 + \
        [TrialState.RUNNING]
