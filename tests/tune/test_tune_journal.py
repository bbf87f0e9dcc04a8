"""Persistence: the JSON-lines journal, resuming after a kill, exactly-once accounting."""
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
from lamina.tune.trial import TrialState

SRC = str(Path(tune.__file__).resolve().parents[2])


def objective(trial):
    x = trial.suggest_float("x", -2.0, 2.0)
    c = trial.suggest_categorical("c", ["a", "b"])
    for step in range(3):
        trial.report(x * x + step, step)
    trial.set_user_attr("c_is_a", c == "a")
    return x * x + (0.5 if c == "b" else 0.0)


def records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def finishes(path):
    return Counter(r["number"] for r in records(path) if r["op"] == "finish")


def test_journal_round_trip(tmp_path):
    path = tmp_path / "study.jsonl"
    study = tune.create_study(strategy=tune.Random(seed=0), storage=path)
    study.optimize(objective, n_trials=6)
    loaded = tune.create_study(strategy=tune.Random(), storage=path)
    assert loaded.seed == 0                    # the journal's seed is used
    for a, b in zip(study.trials, loaded.trials):
        assert (a.number, a.state, a.value, a.params, a.distributions, a.intermediate_values, a.user_attrs) == \
               (b.number, b.state, b.value, b.params, b.distributions, b.intermediate_values, b.user_attrs)
    assert loaded.best_params == study.best_params
    assert records(path)[0]["op"] == "study"
    with pytest.raises(ValueError, match="'minimize' study"):
        tune.create_study(direction="maximize", storage=path)


def test_resumed_bayesian_study_continues_exactly(tmp_path):
    def strategy():
        return tune.Bayesian(seed=3, n_startup_trials=4, n_candidates=300)

    straight = tune.create_study(strategy=strategy())
    straight.optimize(objective, n_trials=9)
    path = tmp_path / "b.jsonl"
    tune.create_study(strategy=strategy(), storage=path).optimize(objective, n_trials=5)
    resumed = tune.create_study(strategy=strategy(), storage=path)
    resumed.optimize(objective, n_trials=4)
    assert [t.params for t in resumed.trials] == [t.params for t in straight.trials]


def test_simulated_kill_truncated_journal_and_running_trials(tmp_path):
    path = tmp_path / "k.jsonl"
    full = tune.create_study(strategy=tune.Random(seed=1), storage=path)
    full.optimize(objective, n_trials=8)
    recs = records(path)
    # keep the header, starts of 0..5 and finishes of 0..3: trials 4 and 5 were RUNNING at the kill,
    # and the master died in the middle of writing the next line
    keep = [r for r in recs if r["op"] == "study" or (r["op"] == "start" and r["number"] <= 5)
            or (r["op"] == "finish" and r["number"] <= 3)]
    text = "".join(json.dumps(r) + "\n" for r in keep) + '{"op": "finish", "number": 4, "sta'
    path.write_text(text)
    evaluated = []

    def counting(trial):
        evaluated.append(trial.number)
        return objective(trial)

    with pytest.warns(UserWarning, match="torn"):
        resumed = tune.create_study(strategy=tune.Random(seed=1), storage=path)
    assert [t.state for t in resumed.trials] == [TrialState.COMPLETE] * 4 + [TrialState.RUNNING] * 2
    resumed.optimize(counting, n_trials=4)
    assert evaluated == [4, 5, 6, 7]           # running trials re-run first, completed ones never
    assert [t.params for t in resumed.trials] == [t.params for t in full.trials]
    assert [t.value for t in resumed.trials] == [t.value for t in full.trials]
    assert finishes(path) == Counter(range(8))  # every trial finished exactly once


def test_corrupt_middle_line_is_an_error(tmp_path):
    path = tmp_path / "c.jsonl"
    tune.create_study(strategy=tune.Random(seed=0), storage=path).optimize(objective, n_trials=2)
    lines = path.read_text().splitlines()
    lines[1] = "garbage"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="corrupt"):
        tune.create_study(storage=path)


MASTER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from lamina import tune

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(0.03)
        return x

    study = tune.create_study(strategy=tune.Random(seed=9), storage={path!r})
    study.optimize(objective, n_trials=40)
""")


def test_real_kill_of_the_master_then_resume(tmp_path):
    path = str(tmp_path / "real.jsonl")
    proc = subprocess.Popen([sys.executable, "-c", MASTER.format(src=SRC, path=path)])
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(path) and len(finishes(path)) >= 10:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done_before = set(finishes(path))
    assert len(done_before) >= 10
    evaluated = []

    def counting(trial):
        evaluated.append(trial.number)
        return trial.suggest_float("x", 0.0, 1.0)

    study = tune.create_study(strategy=tune.Random(seed=9), storage=path)
    study.optimize(counting, n_trials=40 - len(done_before))
    assert not set(evaluated) & done_before
    assert finishes(path) == Counter(range(40))
    reference = tune.create_study(strategy=tune.Random(seed=9))
    reference.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=40)
    assert [t.params for t in study.trials] == [t.params for t in reference.trials]


def test_batch_mode_resume_with_a_process_pool_matches_an_uninterrupted_run(tmp_path):
    def strategy():
        return tune.Bayesian(seed=5, n_startup_trials=4, n_candidates=300)

    straight = tune.create_study(strategy=strategy())
    straight.optimize(objective, n_trials=8, n_workers=2, batch_mode=True)
    path = tmp_path / "pool.jsonl"
    tune.create_study(strategy=strategy(), storage=path).optimize(objective, n_trials=8, n_workers=2,
                                                                 batch_mode=True)
    # cut the journal after the third batch was handed out but before its results came back
    recs = records(path)
    cut = [i for i, r in enumerate(recs) if r["op"] == "start" and r["number"] == 5][0]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs[:cut + 1]))
    resumed = tune.create_study(strategy=strategy(), storage=path)
    assert [t.state for t in resumed.trials][4:] == [TrialState.RUNNING] * 2
    resumed.optimize(objective, n_trials=4, n_workers=2, batch_mode=True)
    assert [t.params for t in resumed.trials] == [t.params for t in straight.trials]
    assert finishes(path) == Counter(range(8))
