"""tune.Grid takes its search space positionally as well as by keyword, and explains wrong arguments."""
from __future__ import annotations

import pytest

from lamina import tune


def _values(strategy):
    seen = []

    def objective(trial):
        a = trial.suggest_categorical("a", [1, 2, 3])
        b = trial.suggest_categorical("b", ["x", "y"])
        seen.append((a, b))
        return float(a)

    study = tune.create_study(strategy=strategy)
    study.optimize(objective, n_trials=20)
    return seen


def test_positional_search_space_is_the_keyword_one():
    space = {"a": [1, 2, 3], "b": ["x", "y"]}
    positional = _values(tune.Grid(space))
    keyword = _values(tune.Grid(search_space=space))
    assert positional == keyword
    assert sorted(positional) == sorted((a, b) for a in (1, 2, 3) for b in ("x", "y"))


def test_per_parameter_point_counts_stay_n_points():
    g = tune.Grid({"a": 3, "b": 4})
    assert g.n_points == {"a": 3, "b": 4}


@pytest.mark.parametrize("args,kwargs,match", [
    (("five",), {}, "n_points must be an int"),
    ((2.5,), {}, "n_points must be an int"),
    (({"a": [1, 2], "b": 3},), {}, r"n_points\['a'\] must be an int .*search_space="),
    ((), {"search_space": [1, 2, 3]}, "search_space must be a dict"),
    ((), {"search_space": {"a": 3}}, r"search_space\['a'\] must be a list"),
    (({"a": [1]},), {"search_space": {"a": [2]}}, "both as the first argument"),
])
def test_wrong_arguments_raise_clear_type_errors(args, kwargs, match):
    with pytest.raises(TypeError, match=match):
        tune.Grid(*args, **kwargs)


def test_zero_points_is_a_value_error():
    with pytest.raises(ValueError, match="n_points must be >= 1"):
        tune.Grid(0)
