"""Strategies: Grid covers its grid, Random is reproducible, Bayesian beats Random,
Evolutionary improves; the ask/tell protocol."""
import itertools
import math

import numpy as np
import pytest

from lamina import tune


def branin(trial):
    x = trial.suggest_float("x", -5.0, 10.0)
    y = trial.suggest_float("y", 0.0, 15.0)
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def sphere(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(4))


def run(strategy, objective, n):
    study = tune.create_study(strategy=strategy)
    study.optimize(objective, n_trials=n)
    return study


# ------------------------------------------------------------------ Grid
def test_grid_covers_the_whole_grid_once():
    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        k = trial.suggest_int("k", 1, 2)
        c = trial.suggest_categorical("c", ["a", "b", "c"])
        return x + k + "abc".index(c)

    study = run(tune.Grid(n_points=3), objective, 100)
    combos = [(t.params["x"], t.params["k"], t.params["c"]) for t in study.trials]
    assert len(combos) == 18 == len(set(combos))
    assert set(combos) == set(itertools.product([0.0, 0.5, 1.0], [1, 2], ["a", "b", "c"]))
    assert study.best_params == {"x": 0.0, "k": 1, "c": "a"}


def test_grid_discretises_log_int_and_step_ranges():
    d = tune.FloatDistribution.checked("lr", 1e-3, 1.0, log=True)
    assert np.allclose(d.grid(4), [1e-3, 1e-2, 1e-1, 1.0])
    assert tune.IntDistribution.checked("n", 1, 3).grid(5) == [1, 2, 3]
    assert tune.IntDistribution.checked("n", 0, 100).grid(5) == [0, 25, 50, 75, 100]
    assert tune.FloatDistribution.checked("p", 0.0, 1.0, step=0.5).grid(10) == [0.0, 0.5, 1.0]


def test_grid_with_conditional_parameters_enumerates_each_branch():
    def objective(trial):
        if trial.suggest_categorical("opt", ["sgd", "adam"]) == "sgd":
            return trial.suggest_float("momentum", 0.0, 1.0)
        return trial.suggest_float("beta", 0.0, 1.0)

    study = run(tune.Grid(n_points=3), objective, 100)
    seen = sorted((t.params["opt"], t.params.get("momentum"), t.params.get("beta")) for t in study.trials)
    assert seen == sorted([("sgd", m, None) for m in (0.0, 0.5, 1.0)] + [("adam", None, b) for b in (0.0, 0.5, 1.0)])


def test_grid_with_given_search_space_and_parallel_asks():
    grid = tune.Grid(search_space={"a": [1, 2, 3], "b": ["x", "y"]})
    trials = grid.ask(10)
    assert len(trials) == 6 and len({tuple(t._fixed.items()) for t in trials}) == 6
    assert grid.ask(1) == []


# ------------------------------------------------------------------ Random
def test_random_is_reproducible_per_seed():
    def params(seed):
        return [t.params for t in run(tune.Random(seed=seed), sphere, 10).trials]

    assert params(5) == params(5)
    assert params(5) != params(6)


# ------------------------------------------------------------------ Bayesian
def test_bayesian_beats_random_on_branin_median_over_seeds():
    bayes = [run(tune.Bayesian(seed=s, n_candidates=1000), branin, 25).best_value for s in range(5)]
    rand = [run(tune.Random(seed=s), branin, 25).best_value for s in range(5)]
    assert np.median(bayes) < np.median(rand)
    assert np.median(bayes) < 0.5          # global minimum 0.397887


def test_bayesian_same_seed_same_trials():
    a = [t.params for t in run(tune.Bayesian(seed=1, n_candidates=300, n_startup_trials=4), branin, 8).trials]
    b = [t.params for t in run(tune.Bayesian(seed=1, n_candidates=300, n_startup_trials=4), branin, 8).trials]
    assert a == b


def test_bayesian_constant_liar_makes_parallel_asks_differ():
    strategy = tune.Bayesian(seed=0, n_startup_trials=5, n_candidates=500)
    for t in strategy.ask(5):
        strategy.tell(t, branin(t))
    batch = strategy.ask(4)
    assert all(t._fixed for t in batch)
    points = np.array([[t._fixed["x"], t._fixed["y"]] for t in batch])
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1)
    assert dist[np.triu_indices(4, 1)].min() > 1e-3


def test_bayesian_mixed_space_and_maximize():
    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        width = trial.suggest_int("width", 1, 64)
        opt = trial.suggest_categorical("opt", ["sgd", "adam", "rmsprop"])
        return -((math.log10(lr) + 2) ** 2) - ((width - 20) / 10) ** 2 - (opt != "adam")

    study = tune.create_study(direction="maximize", strategy=tune.Bayesian(seed=0, n_candidates=500))
    study.optimize(objective, n_trials=30)
    assert study.best_value > -0.3
    assert study.best_params["opt"] == "adam"
    assert all(isinstance(t.params["width"], int) for t in study.trials)


# ------------------------------------------------------------------ Evolutionary
def test_evolutionary_follows_the_seed_steps_and_improves():
    P = 10
    strategy = tune.Evolutionary(population_size=P, replace_fraction=0.5, seed=0)
    study = run(strategy, sphere, 80)
    trials = study.trials
    assert all(t._fixed == {} for t in trials[:P])                 # step 1: random tuples
    assert all(t._fixed for t in trials[P:])                       # step 4: crossover + mutation
    assert strategy.generation == 1 + (80 - P) // strategy.n_replace
    survivors = strategy._survivors
    assert len(survivors) == P - strategy.n_replace
    initial = sorted(t.value for t in trials[:P])
    # ranked survivors are all better than the median of the random population
    assert max(t.value for t in survivors) < initial[P // 2]
    assert study.best_value < initial[0] / 4


def test_evolutionary_child_genes_come_from_parents_or_mutation():
    strategy = tune.Evolutionary(population_size=6, replace_fraction=0.5, mutation_rate=0.0, seed=3)

    def objective(trial):
        return trial.suggest_categorical("a", list(range(10))) + trial.suggest_int("b", 0, 1000)

    study = tune.Study(strategy=strategy)
    study.optimize(objective, n_trials=6)
    survivors = strategy._survivors
    assert len(survivors) == 3 and [t.value for t in survivors] == sorted(t.value for t in study.trials)[:3]
    genes = {g: {p.params[g] for p in survivors} for g in ("a", "b")}
    for child in strategy.ask(20):
        foreign = [g for g in ("a", "b") if child._fixed[g] not in genes[g]]
        # crossover only; a mutation only when the child equals a parent (then one gene moves)
        assert len(foreign) <= 1
        assert (child._fixed["a"], child._fixed["b"]) not in {(p.params["a"], p.params["b"]) for p in survivors}


def test_evolutionary_with_kfold_fitness():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = X @ rng.normal(size=5) + 0.5 * rng.normal(size=60)

    def ridge_mse(alpha):
        def fit_score(Xtr, ytr, Xva, yva):
            w = np.linalg.solve(Xtr.T @ Xtr + alpha * np.eye(5), Xtr.T @ ytr)
            return np.mean((Xva @ w - yva) ** 2)
        return tune.cross_val_score(fit_score, X, y, k=5)

    study = run(tune.Evolutionary(population_size=6, seed=0),
                lambda t: ridge_mse(t.suggest_float("alpha", 1e-3, 1e4, log=True)), 20)
    assert study.best_params["alpha"] < 100       # heavy shrinkage is worse on this data
    folds = list(tune.kfold(10, k=3, seed=0))
    assert sorted(np.concatenate([va for _, va in folds]).tolist()) == list(range(10))


# ------------------------------------------------------------------ protocol
def test_tell_accepts_failed_pruned_and_nan():
    strategy = tune.Random(seed=0)
    a, b, c = strategy.ask(3)
    strategy.tell(a, tune.FAILED)
    strategy.tell(b, tune.PRUNED)
    strategy.tell(c, float("nan"))
    assert [t.state for t in strategy.trials] == [tune.TrialState.FAIL, tune.TrialState.PRUNED,
                                                   tune.TrialState.FAIL]
    with pytest.raises(TypeError, match="tune.FAILED"):
        strategy.tell(strategy.ask(1)[0], "1.0x")


def test_grid_trial_that_died_before_suggesting_covers_only_its_own_combination():
    grid = tune.Grid(search_space={"a": [1, 2, 3]})
    first, second = grid.ask(2)
    grid.tell(first, tune.FAILED)          # e.g. its worker died: no params came back
    assert first.params == {}
    rest = grid.ask(5)
    assert [t._fixed for t in rest] == [{"a": 3}]
    probe = tune.Grid()
    p = probe.ask(2)
    assert len(p) == 1                     # one probe while the space is unknown
    probe.tell(p[0], tune.FAILED)
    assert len(probe.ask(1)) == 1          # a failed probe is followed by another probe
