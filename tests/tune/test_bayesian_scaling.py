"""Past ``n_exact`` observations the Bayesian strategy's cost per trial stops growing: the GP sees at
most ``max_points`` observations (the best half and the most recent rest), and its hyperparameters are
refitted on a geometric schedule, warm-started."""
from __future__ import annotations

import numpy as np

from lamina import tune
from lamina.tune import gp as gp_module


def _quadratic(trial):
    x = trial.suggest_float("x", -2.0, 2.0)
    y = trial.suggest_float("y", -2.0, 2.0)
    return (x - 0.3) ** 2 + (y + 0.5) ** 2


def test_the_gp_sees_at_most_max_points_the_best_half_among_them(monkeypatch):
    fits = []
    real_fit = gp_module.GaussianProcess.fit

    def counting_fit(self, X, y, rng, theta0=None):
        fits.append((len(X), theta0 is not None))
        return real_fit(self, X, y, rng, theta0=theta0)

    monkeypatch.setattr(gp_module.GaussianProcess, "fit", counting_fit)
    strategy = tune.Bayesian(seed=0, n_startup_trials=5, n_exact=12, max_points=16, n_candidates=200)
    study = tune.create_study(strategy=strategy)
    study.optimize(_quadratic, n_trials=60)
    gp = strategy.gp
    assert gp is not None and len(gp.X) == 16
    losses = np.array([t.value for t in study.trials])
    # the 8 best observations are among the GP's points
    best8 = np.sort(losses)[:8]
    enc = {tuple(np.round(strategy._encode({"x": t.distributions["x"], "y": t.distributions["y"]}, t.params), 12))
           for t in study.trials if t.value <= best8[-1]}
    points = {tuple(np.round(p, 12)) for p in gp.X}
    assert enc <= points
    # cold fits up to n_exact observations, then a few warm refits, not one per trial
    cold = [n for n, warm in fits if not warm]
    warm = [n for n, warm in fits if warm]
    assert max(cold) <= 16 and len(cold) == 12 - 5 + 1
    assert 1 <= len(warm) <= 15
    assert study.best_value < 0.01


def test_below_n_exact_every_ask_refits_from_scratch(monkeypatch):
    warm_fits = []
    real_fit = gp_module.GaussianProcess.fit

    def counting_fit(self, X, y, rng, theta0=None):
        warm_fits.append(theta0 is not None)
        return real_fit(self, X, y, rng, theta0=theta0)

    monkeypatch.setattr(gp_module.GaussianProcess, "fit", counting_fit)
    study = tune.create_study(strategy=tune.Bayesian(seed=1, n_startup_trials=5, n_candidates=200))
    study.optimize(_quadratic, n_trials=20)
    assert len(warm_fits) == 15 and not any(warm_fits)


def test_bad_scaling_options_are_refused():
    import pytest

    with pytest.raises(ValueError, match="max_points"):
        tune.Bayesian(max_points=2)


def test_between_refits_the_gp_is_updated_not_refactorised_and_keeps_the_subset_rule(monkeypatch):
    calls = {"condition": 0, "updated": 0}
    real_condition, real_updated = gp_module.GaussianProcess.condition, gp_module.GaussianProcess.updated

    def counting_condition(self, X, y):
        calls["condition"] += 1
        return real_condition(self, X, y)

    def counting_updated(self, keep, Xn, y):
        calls["updated"] += 1
        return real_updated(self, keep, Xn, y)

    monkeypatch.setattr(gp_module.GaussianProcess, "condition", counting_condition)
    monkeypatch.setattr(gp_module.GaussianProcess, "updated", counting_updated)
    strategy = tune.Bayesian(seed=2, n_startup_trials=5, n_exact=12, max_points=16, n_candidates=200)
    study = tune.create_study(strategy=strategy)
    for _ in range(70):
        trial = study.ask()
        study.tell(trial, _quadratic(trial))
        obs, losses = strategy._observations()
        if len(obs) > 12 and strategy.gp is not None:
            assert len(strategy.gp.X) <= 16
    assert calls["updated"] > 30 and calls["condition"] < 30
    # the GP's points are those the subset rule picks now (in another order), and its posterior is
    # that of a fresh conditioning on them
    study.ask()
    obs, losses = strategy._observations()
    space = strategy._shared_space(obs)
    gp = strategy.gp
    chosen = strategy._encoded(space, obs)[strategy._subset(np.asarray(losses))]
    assert len(gp.X) == 16
    assert {tuple(p) for p in np.round(gp.X, 12)} == {tuple(p) for p in np.round(chosen, 12)}
    fresh = gp_module.GaussianProcess()
    fresh.theta = gp.theta
    real_condition(fresh, gp.X, gp.y)
    Xs = np.random.default_rng(3).random((50, 2))
    for a, b in zip(gp.predict(Xs), fresh.predict(Xs)):
        assert np.allclose(a, b, rtol=1e-8, atol=1e-8)


def test_observation_and_encoding_caches_follow_the_told_trials():
    strategy = tune.Bayesian(seed=4, n_startup_trials=3, n_candidates=100)
    study = tune.create_study(strategy=strategy)
    for i in range(12):
        trial = study.ask()
        study.tell(trial, tune.FAILED if i % 4 == 3 else _quadratic(trial))
    obs, losses = strategy._observations()
    told = [t for t in study.trials if t.value is not None]
    assert [t.number for t in obs] == [t.number for t in told] and losses == [t.value for t in told]
    space = strategy._shared_space(obs)
    assert np.array_equal(strategy._encoded(space, obs), np.stack([strategy._encode(space, t.params) for t in obs]))
