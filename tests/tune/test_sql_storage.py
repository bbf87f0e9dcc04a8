"""Studies in a SQLite database: Optuna-style opening, processes sharing one study, heartbeats, export."""
import multiprocessing
import os
import signal
import sqlite3
import time
import warnings

import optuna
import pytest

from lamina import tune
from lamina.tune.sql_storage import SQLiteStorage


def _url(tmp_path, name="study.db"):
    return f"sqlite:///{tmp_path / name}"


def _quadratic(trial):
    x = trial.suggest_float("x", -4.0, 4.0)
    k = trial.suggest_int("k", 0, 3)
    trial.report(x * x, 0)
    return (x - 1.0) ** 2 + k


# ----------------------------------------------------------------------------- opening studies
def test_create_and_load_study_by_name(tmp_path):
    url = _url(tmp_path)
    study = tune.create_study(storage=url, study_name="lr", strategy=tune.Random(seed=0))
    study.optimize(_quadratic, n_trials=5)
    assert study.study_name == "lr" and isinstance(study, tune.SharedStudy)
    with pytest.raises(ValueError, match="already exists.*load_if_exists=True"):
        tune.create_study(storage=url, study_name="lr")
    again = tune.create_study(storage=url, study_name="lr", load_if_exists=True, strategy=tune.Random(seed=0))
    loaded = tune.load_study(study_name="lr", storage=url, strategy=tune.Random(seed=0))
    for other in (again, loaded):
        assert [(t.number, t.state, t.value, t.params) for t in other.trials] == \
               [(t.number, t.state, t.value, t.params) for t in study.trials]
    assert loaded.direction == "minimize" and loaded.best_params == study.best_params
    assert tune.load_study(storage=url, strategy=tune.Random()).study_name == "lr"   # the only study: no name needed
    tune.create_study(storage=url, study_name="other", direction="maximize")
    with pytest.raises(ValueError, match=r"holds 2 studies \(\['lr', 'other'\]\); give study_name"):
        tune.load_study(storage=url)
    with pytest.raises(ValueError, match="no study named 'nope'"):
        tune.load_study(study_name="nope", storage=url)
    assert tune.load_study(study_name="other", storage=url).direction == "maximize"
    for s in (study, again, loaded):
        s.storage.close()


def test_a_fresh_name_is_made_when_none_is_given(tmp_path):
    a = tune.create_study(storage=_url(tmp_path))
    b = tune.create_study(storage=_url(tmp_path))
    assert a.study_name != b.study_name and a.study_name.startswith("study-")


def test_a_resumed_study_continues_the_numbering_and_the_strategy(tmp_path):
    url = _url(tmp_path)
    first = tune.create_study(storage=url, study_name="s", strategy=tune.Bayesian(n_startup_trials=3, seed=1))
    first.optimize(_quadratic, n_trials=4)
    first.storage.close()
    second = tune.load_study(study_name="s", storage=url, strategy=tune.Bayesian(n_startup_trials=3, seed=1))
    second.optimize(_quadratic, n_trials=3)
    assert [t.number for t in second.trials] == list(range(7))
    assert all(t.state == tune.TrialState.COMPLETE for t in second.trials)


def test_journal_paths_still_work_and_load_study_reads_them(tmp_path):
    path = tmp_path / "search.jsonl"
    study = tune.create_study(storage=str(path), strategy=tune.Random(seed=0))
    study.optimize(_quadratic, n_trials=3)
    assert tune.load_study(storage=str(path), strategy=tune.Random(seed=0)).best_value == study.best_value


@pytest.mark.parametrize("storage", ["postgres://user@host/db", "foo:bar", "mysql+pymysql://u@h/d",
                                     "sqlite:///:memory:", "sqlite://study.db"])
def test_storages_lamina_does_not_understand_are_refused_with_what_it_accepts(tmp_path, monkeypatch, storage):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="sqlite:///"):
        tune.create_study(storage=storage)
    with pytest.raises(ValueError, match="sqlite:///"):
        tune.Study(storage=storage)
    assert os.listdir(tmp_path) == []


def test_a_study_object_made_directly_on_a_database_says_how_to_open_it(tmp_path):
    with pytest.raises(ValueError, match="tune.create_study"):
        tune.Study(storage=_url(tmp_path))


# ----------------------------------------------------------------------------- two workers in one process
def _shared(url, name="s", grace=0.5, interval=0.1, strategy=None):
    store = SQLiteStorage(url, heartbeat_interval=interval, grace_period=grace)
    return tune.create_study(storage=store, study_name=name, load_if_exists=True,
                             strategy=strategy or tune.Random(seed=0))


def test_two_workers_never_get_the_same_number_and_see_each_others_results(tmp_path):
    url = _url(tmp_path)
    a, b = _shared(url), _shared(url)
    ta, tb = a.ask(), b.ask()
    assert ta.number != tb.number
    ta.suggest_float("x", 0, 1)
    a.tell(ta, 1.0)
    tb.suggest_float("x", 0, 1)
    b.tell(tb, 0.5)
    tc = a.ask()
    assert tc.number == 2 and a.best_value == 0.5
    assert [t.state.value for t in b.trials] == ["COMPLETE", "COMPLETE", "RUNNING"]
    a.tell(tc, tune.FAILED)
    b.enqueue_trial({"x": 0.25})
    td = a.ask()
    assert td.system_attrs.get("enqueued") and td.suggest_float("x", 0, 1) == 0.25
    a.tell(td, 0.0625)
    assert [t.number for t in b.trials] == [0, 1, 2, 3]
    for s in (a, b):
        s.storage.close()


def test_a_grid_is_split_between_workers_without_repeats(tmp_path):
    url = _url(tmp_path)
    space = {"x": list(range(6))}
    a = _shared(url, strategy=tune.Grid(search_space=space))
    b = _shared(url, strategy=tune.Grid(search_space=space))
    seen = []
    for study in (a, b, a, b, a, b):
        t = study.ask()
        seen.append(t.suggest_int("x", 0, 5))
        study.tell(t, float(seen[-1]))
    assert sorted(seen) == list(range(6))
    with pytest.raises(RuntimeError, match="nothing left"):
        a.ask()
    for s in (a, b):
        s.storage.close()


def test_a_dead_workers_trial_is_failed_retried_once_and_a_late_result_is_dropped(tmp_path):
    url = _url(tmp_path)
    dead = _shared(url, interval=60.0, grace=120.0)     # its heartbeat thread will not beat during the test
    t = dead.ask()
    x = t.suggest_float("x", 0, 1)
    with sqlite3.connect(tmp_path / "study.db") as db:   # its last heartbeat: long ago
        db.execute("UPDATE lamina_trials SET heartbeat = heartbeat - 100 WHERE number = ?", (t.number,))
    alive = _shared(url, grace=0.5)
    retry = alive.ask()
    assert retry.system_attrs["retry_of"] == t.number and retry.system_attrs["retry_count"] == 1
    failed = alive.trials[t.number]
    assert failed.state == tune.TrialState.FAIL and "stopped sending heartbeats" in failed.error
    assert retry.suggest_float("x", 0, 1) == x         # the same values: same fixed values and draw
    alive.tell(retry, 0.3)
    with pytest.warns(UserWarning, match="declared it dead.*dropped"):
        dead.tell(t, 0.1)
    final = tune.load_study(study_name="s", storage=url, strategy=tune.Random(seed=0))
    assert [(s.number, s.state.value) for s in final.trials] == [(0, "FAIL"), (1, "COMPLETE")]
    assert final.best_value == 0.3
    for s in (dead, alive, final):
        s.storage.close()


# ----------------------------------------------------------------------------- processes and SIGKILL
def _work(url, victim_flag):
    """One worker process: open the shared grid study and optimize until the grid is covered."""
    store = SQLiteStorage(url, heartbeat_interval=0.1, grace_period=3.0)
    study = tune.create_study(storage=store, study_name="grid", load_if_exists=True,
                              strategy=tune.Grid(search_space={"x": list(range(12))}))

    def objective(trial):
        x = trial.suggest_int("x", 0, 11)
        if victim_flag is not None:
            open(victim_flag, "w").close()
            time.sleep(120)                     # killed here
        time.sleep(0.05)
        return float(x * x)

    study.optimize(objective, n_trials=12)
    store.close()


def test_four_processes_share_a_study_and_a_killed_workers_trial_is_run_exactly_once_more(tmp_path):
    url = _url(tmp_path)
    tune.create_study(storage=url, study_name="grid", strategy=tune.Grid(search_space={"x": list(range(12))}))
    ctx = multiprocessing.get_context("spawn")
    flag = tmp_path / "victim-started"
    victim = ctx.Process(target=_work, args=(url, str(flag)))
    victim.start()
    deadline = time.monotonic() + 120
    while not flag.exists():
        assert time.monotonic() < deadline and victim.is_alive(), "the victim never started its trial"
        time.sleep(0.05)
    others = [ctx.Process(target=_work, args=(url, None)) for _ in range(3)]
    for p in others:
        p.start()
    time.sleep(0.5)
    os.kill(victim.pid, signal.SIGKILL)                 # mid-trial: its trial stays RUNNING in the database
    victim.join()
    for p in others:
        p.join(180)
        assert p.exitcode == 0
    study = tune.load_study(study_name="grid", storage=url, strategy=tune.Grid(search_space={"x": list(range(12))}))
    trials = study.trials
    assert [t.number for t in trials] == list(range(13))        # 12 grid points + 1 retry, no number twice
    failed = [t for t in trials if t.state == tune.TrialState.FAIL]
    assert len(failed) == 1 and failed[0].number == 0 and "heartbeats" in failed[0].error
    done = [t for t in trials if t.state == tune.TrialState.COMPLETE]
    assert sorted(t.params["x"] for t in done) == list(range(12))  # every point exactly once
    (retry,) = [t for t in done if "retry_of" in t.system_attrs]
    assert retry.system_attrs["retry_of"] == 0 and retry.params["x"] == 0 and retry.value == 0.0
    with sqlite3.connect(tmp_path / "study.db") as db:
        assert db.execute("SELECT COUNT(*) FROM lamina_trials WHERE state = 'RUNNING'").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM lamina_queue WHERE trial IS NULL").fetchone() == (0,)
    study.storage.close()


# ----------------------------------------------------------------------------- export to Optuna
def test_to_optuna_copies_trials_values_params_and_distributions(tmp_path):
    study = tune.create_study(storage=_url(tmp_path), study_name="q", strategy=tune.Random(seed=3))
    study.optimize(_quadratic, n_trials=6)
    t = study.ask()
    t.suggest_float("x", -4.0, 4.0)
    study.tell(t, tune.FAILED)
    target = f"sqlite:///{tmp_path / 'optuna.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.to_optuna(target)
    loaded = optuna.load_study(study_name="q", storage=target)
    assert loaded.direction == optuna.study.StudyDirection.MINIMIZE
    assert len(loaded.trials) == 7
    for ours, theirs in zip(study.trials, loaded.trials, strict=True):
        assert theirs.number == ours.number and theirs.state.name == ours.state.value
        assert theirs.params == ours.params and theirs.value == ours.value
        assert theirs.intermediate_values == ours.intermediate_values
    assert loaded.trials[0].distributions["x"] == optuna.distributions.FloatDistribution(-4.0, 4.0)
    assert loaded.trials[0].distributions["k"] == optuna.distributions.IntDistribution(0, 3)
    assert loaded.best_value == study.best_value and loaded.best_params == study.best_params
    assert loaded.trials[6].state.name == "FAIL" and loaded.trials[6].params == {"x": study.trials[6].params["x"]}
    study.storage.close()


def test_to_optuna_without_optuna_says_what_to_install(tmp_path, monkeypatch):
    import sys

    study = tune.create_study(strategy=tune.Random(seed=0))
    study.optimize(_quadratic, n_trials=1)
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ModuleNotFoundError, match=r"^study.to_optuna needs the optuna package: "
                                                  r"pip install 'lamina\[optuna\]'$"):
        study.to_optuna("sqlite:///x.db")
