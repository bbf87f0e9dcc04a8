"""Median and successive-halving (ASHA) pruners, alone and inside a study."""
import pytest

from lamina import tune
from lamina.tune.trial import TrialState

C = TrialState.COMPLETE


def trial_with(reports):
    t = tune.Trial(99, seed=0)
    for step, v in reports.items():
        t.report(v, step)
    return t


def test_median_pruner_compares_with_median_at_same_step():
    history = [(C, {0: 1.0, 1: 0.8}), (C, {0: 2.0, 1: 0.6}), (C, {0: 3.0, 1: 0.4})]
    p = tune.MedianPruner(n_startup_trials=3)
    assert not p.prune(trial_with({0: 1.5}), history, "minimize")     # 1.5 < median 2.0
    assert p.prune(trial_with({0: 2.5}), history, "minimize")
    assert p.prune(trial_with({0: 1.5}), history, "maximize")         # 1.5 < 2.0 is worse when maximising
    assert not p.prune(trial_with({0: 9.0, 1: 0.5}), history, "minimize")  # best so far 0.5 < median 0.6
    assert not tune.MedianPruner(n_startup_trials=4).prune(trial_with({0: 9.0}), history, "minimize")
    assert not tune.MedianPruner(n_startup_trials=0, n_warmup_steps=1).prune(trial_with({0: 9.0}), history,
                                                                            "minimize")
    assert not p.prune(trial_with({5: 9.0}), history, "minimize")     # nobody reported step 5
    assert p.prune(trial_with({0: float("nan")}), history, "minimize")
    with pytest.raises(ValueError, match="interval_steps"):
        tune.MedianPruner(interval_steps=0)


def test_successive_halving_rungs():
    p = tune.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    assert [p.rung_resource(k) for k in range(3)] == [1, 3, 9]
    # 8 others reached rung 0 (step 1) with values 1..8; with the trial, 9 values -> top 3 survive
    history = [(C, {1: float(v), 3: float(v)}) for v in range(1, 9)]
    assert not p.prune(trial_with({1: 2.5}), history, "minimize")     # rank 3 of 9
    assert p.prune(trial_with({1: 3.5}), history, "minimize")         # rank 4 of 9
    assert not p.prune(trial_with({0: 100.0}), history, "minimize")   # step 0 is below the first rung
    assert not p.prune(trial_with({1: 2.5, 2: 100.0}), history, "minimize")  # between rungs: no decision
    assert p.prune(trial_with({1: 1.0, 2: 1.0, 3: 7.0}), history, "minimize")  # rung 1 (step 3)
    assert not p.prune(trial_with({1: 1.0}), [], "minimize")          # alone at the rung: promoted
    assert not p.prune(trial_with({1: 7.0}), history, "maximize")


def learning_curve(trial):
    quality = trial.suggest_float("q", 0.0, 1.0)
    for epoch in range(10):
        trial.report(quality + 1.0 / (epoch + 1), epoch)
        if trial.should_prune():
            raise tune.TrialPruned()
    return quality


@pytest.mark.parametrize("pruner", [tune.MedianPruner(n_startup_trials=3),
                                    tune.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)])
def test_pruners_stop_bad_trials_in_a_study(pruner):
    study = tune.create_study(strategy=tune.Random(seed=0), pruner=pruner)
    study.optimize(learning_curve, n_trials=30)
    pruned = study.get_trials([TrialState.PRUNED])
    complete = study.get_trials([TrialState.COMPLETE])
    assert len(pruned) >= 5 and len(complete) >= 3
    mean = lambda ts: sum(t.params["q"] for t in ts) / len(ts)  # noqa: E731
    assert mean(pruned) > mean(complete)
    assert all(len(t.intermediate_values) < 10 for t in pruned)
    assert study.best_value == min(t.value for t in complete)


def test_pruning_inside_pool_workers_uses_the_snapshot_handed_out():
    study = tune.create_study(strategy=tune.Random(seed=1), pruner=tune.MedianPruner(n_startup_trials=2))
    study.optimize(learning_curve, n_trials=16, n_workers=2, batch_mode=True)
    pruned = study.get_trials([TrialState.PRUNED])
    assert pruned and all(t.number >= 2 for t in pruned)   # the first batch saw no completed trial
