"""Study.optimize: process pools, any executor, failures, retries, batch mode, table."""
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lamina import tune
from lamina.tune.trial import TrialState


# module-level objectives: a process pool pickles them by name
def quadratic(trial):
    x = trial.suggest_float("x", -3.0, 3.0)
    y = trial.suggest_int("y", -3, 3)
    return (x - 1) ** 2 + y * y


def faulty(trial):
    kind = trial.suggest_categorical("kind", ["ok", "raise", "nan", "exit", "none"])
    if kind == "raise":
        raise RuntimeError("objective exploded")
    if kind == "nan":
        return float("nan")
    if kind == "exit":
        os._exit(3)            # the worker process dies
    if kind == "none":
        return None
    return 1.0


def killer_and_innocent(trial):
    kill = trial.suggest_categorical("kill", [False, True])
    if kill:
        time.sleep(0.1)
        os._exit(1)
    time.sleep(0.5)
    return 2.0


def test_process_pool_gives_the_same_trials_as_inline():
    inline = tune.create_study(strategy=tune.Random(seed=4))
    inline.optimize(quadratic, n_trials=8)
    pooled = tune.create_study(strategy=tune.Random(seed=4))
    pooled.optimize(quadratic, n_trials=8, n_workers=2)
    assert [t.params for t in pooled.trials] == [t.params for t in inline.trials]
    assert [t.value for t in pooled.trials] == [t.value for t in inline.trials]
    assert pooled.best_value == inline.best_value


def test_failures_are_recorded_and_the_study_goes_on():
    study = tune.create_study(strategy=tune.Grid(search_space={"kind": ["ok", "raise", "nan", "exit", "none"]}))
    study.optimize(faulty, n_trials=10, n_workers=2)
    by_kind = {}
    for t in study.trials:
        by_kind.setdefault(t._fixed["kind"], []).append(t)
    assert len(study.trials) == 5
    assert all(t.state == TrialState.COMPLETE for t in by_kind["ok"])
    assert "objective exploded" in by_kind["raise"][0].error
    assert "NaN" in by_kind["nan"][0].error
    assert "worker process died" in by_kind["exit"][0].error
    assert "returned None" in by_kind["none"][0].error
    for kind in ("raise", "nan", "exit", "none"):
        assert by_kind[kind][0].state == TrialState.FAIL
    assert study.best_value == 1.0


def test_dead_worker_does_not_fail_the_trial_running_beside_it():
    study = tune.create_study(strategy=tune.Grid(search_space={"kill": [False, True]}))
    study.optimize(killer_and_innocent, n_trials=2, n_workers=2)
    innocent, killer = study.trials
    assert innocent.params == {"kill": False} and innocent.state == TrialState.COMPLETE and innocent.value == 2.0
    assert killer.state == TrialState.FAIL and "worker process died" in killer.error


def test_exceptions_outside_catch_are_recorded_then_raised():
    def objective(trial):
        trial.suggest_float("x", 0, 1)
        raise KeyError("not caught")

    study = tune.create_study(strategy=tune.Random(seed=0))
    with pytest.raises(KeyError, match="not caught"):
        study.optimize(objective, n_trials=5, catch=(ValueError,))
    assert [t.state for t in study.trials] == [TrialState.FAIL]


def test_retries_rerun_failed_trials_with_the_same_values():
    attempts = {}

    def flaky(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        attempts[x] = attempts.get(x, 0) + 1
        if attempts[x] < 3:
            raise RuntimeError("transient")
        return x

    study = tune.create_study(strategy=tune.Random(seed=1))
    study.optimize(flaky, n_trials=2, max_retries=2)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) == 2 and states.count(TrialState.FAIL) == 4
    assert set(attempts.values()) == {3}
    retries = [t for t in study.trials if "retry_of" in t.system_attrs]
    originals = [t for t in study.trials if "retry_of" not in t.system_attrs]
    assert len(originals) == 2 and len(retries) == 4
    assert {t.system_attrs["retry_of"] for t in retries} == {t.number for t in originals}
    for t in retries:
        assert t.params == study.trials[t.system_attrs["retry_of"]].params


def test_batch_mode_same_seed_same_trials_with_two_workers():
    def run():
        study = tune.create_study(strategy=tune.Bayesian(seed=2, n_startup_trials=4, n_candidates=300))
        study.optimize(quadratic, n_trials=10, n_workers=2, batch_mode=True)
        return [t.params for t in study.trials]

    first = run()
    assert first == run()
    assert len({tuple(p.items()) for p in first}) == 10


def test_any_executor_callbacks_stop_and_timeout():
    seen = []

    def callback(study, trial):
        seen.append(trial.number)
        if len(seen) == 5:
            study.stop()

    study = tune.create_study(strategy=tune.Random(seed=0))
    with ThreadPoolExecutor(3) as ex:       # any Executor; lambdas are fine with threads
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=50, executor=ex, callbacks=[callback])
    assert len(seen) >= 5 and len(study.trials) <= 5 + 3
    slow = tune.create_study(strategy=tune.Random(seed=0))
    slow.optimize(lambda t: time.sleep(0.05) or t.suggest_float("x", 0, 1), timeout=0.2)
    assert 1 <= len(slow.trials) <= 6


def test_unpicklable_objective_with_a_process_pool_is_a_clear_error():
    study = tune.create_study()
    with pytest.raises(TypeError, match="picklable"):
        study.optimize(lambda t: 0.0, n_trials=2, n_workers=2)


def test_ask_tell_enqueue_and_best():
    study = tune.create_study(direction="maximize", strategy=tune.Random(seed=0))
    with pytest.raises(ValueError, match="no completed trial"):
        _ = study.best_trial
    study.enqueue_trial({"x": 0.25})
    t = study.ask()
    assert t.suggest_float("x", 0.0, 1.0) == 0.25 and t.system_attrs["enqueued"]
    study.tell(t, 0.25)
    t2 = study.ask()
    study.tell(t2, t2.suggest_float("x", 0.0, 1.0))
    with pytest.raises(ValueError, match="already finished"):
        study.tell(t2, 1.0)
    assert study.best_value == max(0.25, t2.params["x"])
    study.enqueue_trial({"x": 2.0})
    with pytest.raises(tune.SearchSpaceError, match="outside"):
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1)


def test_trials_table_without_pandas():
    study = tune.create_study(strategy=tune.Random(seed=0))

    def objective(trial):
        trial.set_user_attr("tag", "a")
        if trial.suggest_categorical("c", ["p", "q"]) == "p":
            trial.suggest_int("n", 1, 3)
        return 1.0

    study.optimize(objective, n_trials=6)
    rows = study.trials_dataframe()
    assert [r["number"] for r in rows] == list(range(6))
    assert set(rows[0]) >= {"number", "state", "value", "duration", "params_c", "params_n", "user_attrs_tag"}
    assert all((r["params_n"] is None) == (r["params_c"] == "q") for r in rows)
    cols = study.trials_dataframe("columns")
    assert cols["state"] == ["COMPLETE"] * 6 and len(cols["params_c"]) == 6
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            study.trials_dataframe("pandas")
    else:
        assert study.trials_dataframe("pandas").shape[0] == 6
    with pytest.raises(ValueError, match="format"):
        study.trials_dataframe("xml")


def test_bad_arguments():
    study = tune.create_study()
    with pytest.raises(ValueError, match="direction"):
        tune.create_study(direction="up")
    with pytest.raises(ValueError, match="n_trials"):
        study.optimize(quadratic, n_trials=-1)
    with pytest.raises(ValueError, match="n_workers"):
        study.optimize(quadratic, n_trials=1, n_workers=0)
    assert math.isfinite(tune.create_study(strategy=tune.Random(seed=0)).strategy.seed)
