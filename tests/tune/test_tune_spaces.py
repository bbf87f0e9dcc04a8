"""Search spaces: distributions, define-by-run suggest, and the errors of bad spaces."""
import math

import numpy as np
import pytest

from lamina import tune
from lamina.tune.distributions import distribution_from_dict


def test_float_int_categorical_values_in_range():
    study = tune.create_study(strategy=tune.Random(seed=0))
    seen = []

    def objective(trial):
        a = trial.suggest_float("a", -2.0, 3.0)
        b = trial.suggest_float("b", 1e-4, 1e-1, log=True)
        c = trial.suggest_float("c", 0.0, 1.0, step=0.25)
        d = trial.suggest_int("d", 2, 20, step=3)
        e = trial.suggest_int("e", 1, 1024, log=True)
        f = trial.suggest_categorical("f", ["sgd", "adam", None, 3])
        seen.append((a, b, c, d, e, f))
        return a

    study.optimize(objective, n_trials=200)
    a, b, c, d, e, f = zip(*seen)
    assert all(-2 <= v <= 3 for v in a) and all(isinstance(v, float) for v in a)
    assert all(1e-4 <= v <= 1e-1 for v in b)
    # log-uniform: about half of the draws below the geometric midpoint
    assert 0.35 < np.mean(np.array(b) < math.sqrt(1e-4 * 1e-1)) < 0.65
    assert set(c) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert set(d) <= {2, 5, 8, 11, 14, 17, 20} and len(set(d)) == 7
    assert all(isinstance(v, int) and 1 <= v <= 1024 for v in e)
    assert set(f) == {"sgd", "adam", None, 3}


def test_unit_mapping_round_trips():
    dists = [tune.FloatDistribution.checked("x", 0.5, 8.0, log=True),
             tune.FloatDistribution.checked("x", -1, 1, step=0.1),
             tune.IntDistribution.checked("x", 3, 30, step=3),
             tune.IntDistribution.checked("x", 1, 100, log=True),
             tune.CategoricalDistribution.checked("x", ["a", True, 1.5])]
    rng = np.random.default_rng(0)
    for d in dists:
        for _ in range(50):
            v = d.sample(rng)
            assert d.contains(v)
            back = d.from_unit(d.to_unit(v))
            assert back == (pytest.approx(v, rel=1e-12) if isinstance(v, float) else v)
        assert distribution_from_dict(d.to_dict()) == d


def test_step_adjusts_high_to_last_reachable_value():
    d = tune.FloatDistribution.checked("x", 0.0, 1.0, step=0.3)
    assert math.isclose(d.high, 0.9)
    assert tune.IntDistribution.checked("n", 1, 10, step=4).high == 9


def test_conditional_parameters_are_plain_ifs():
    study = tune.create_study(strategy=tune.Random(seed=3))

    def objective(trial):
        if trial.suggest_categorical("opt", ["sgd", "adam"]) == "sgd":
            return trial.suggest_float("momentum", 0.0, 0.99)
        return trial.suggest_float("beta2", 0.9, 0.9999)

    study.optimize(objective, n_trials=30)
    for t in study.trials:
        expected = {"opt", "momentum"} if t.params["opt"] == "sgd" else {"opt", "beta2"}
        assert set(t.params) == expected


def test_same_name_same_range_returns_same_value():
    trial = tune.Trial(0, seed=1)
    assert trial.suggest_float("x", 0, 1) == trial.suggest_float("x", 0, 1)


@pytest.mark.parametrize("call, words", [
    (lambda t: t.suggest_float("lr", 1.0, 0.1), ["lr", "low=1.0", "high=0.1"]),
    (lambda t: t.suggest_float("lr", 0.0, 1.0, log=True), ["lr", "log=True", "low=0.0"]),
    (lambda t: t.suggest_float("lr", -1.0, 1.0, log=True), ["lr", "low=-1.0"]),
    (lambda t: t.suggest_int("width", 10, 5), ["width", "low=10", "high=5"]),
    (lambda t: t.suggest_int("width", 0, 5, log=True), ["width", "low=0"]),
    (lambda t: t.suggest_int("width", 1.5, 5), ["width", "1.5"]),
    (lambda t: t.suggest_categorical("opt", []), ["opt", "empty"]),
    (lambda t: t.suggest_categorical("opt", [[1, 2]]), ["opt", "[1, 2]"]),
    (lambda t: t.suggest_float("lr", 0.0, 1.0, step=-0.1), ["lr", "step"]),
    (lambda t: t.suggest_float("lr", 1e-3, 1.0, log=True, step=0.1), ["lr", "step", "log"]),
    (lambda t: t.suggest_float("lr", 0.0, float("inf")), ["lr", "finite"]),
])
def test_bad_spaces_raise_clear_errors(call, words):
    with pytest.raises(tune.SearchSpaceError) as info:
        call(tune.Trial(0, seed=0))
    for w in words:
        assert w in str(info.value)
    assert isinstance(info.value, ValueError)


def test_name_suggested_twice_with_different_ranges_in_one_trial():
    trial = tune.Trial(0, seed=0)
    trial.suggest_float("lr", 0.0, 1.0)
    with pytest.raises(tune.SearchSpaceError, match=r"'lr'.*float\[0.0, 1.0\].*float\[0.0, 2.0\]"):
        trial.suggest_float("lr", 0.0, 2.0)
    with pytest.raises(tune.SearchSpaceError, match="'lr'"):
        trial.suggest_int("lr", 0, 1)


def test_name_with_different_ranges_across_trials_stops_the_study():
    study = tune.create_study(strategy=tune.Random(seed=0))
    calls = []

    def objective(trial):
        calls.append(trial.number)
        return trial.suggest_float("x", 0.0, 1.0 + trial.number)

    # SearchSpaceError is re-raised even though catch=(Exception,) covers ValueError
    with pytest.raises(tune.SearchSpaceError, match=r"'x'.*earlier trial"):
        study.optimize(objective, n_trials=5)
    assert calls == [0, 1]
    assert study.trials[1].state == tune.TrialState.FAIL


def test_report_and_user_attrs_validation():
    trial = tune.Trial(0, seed=0)
    with pytest.raises(ValueError, match="step"):
        trial.report(1.0, -1)
    with pytest.raises(TypeError, match="JSON"):
        trial.set_user_attr("model", object())
    trial.report(0.5, 0)
    with pytest.warns(UserWarning, match="already reported"):
        trial.report(0.4, 0)
    assert trial.intermediate_values == {0: 0.5}
