"""A Dask distributed executor works like the process pool."""
import distributed

from lamina import tune


def objective(trial):
    x = trial.suggest_float("x", -3.0, 3.0)
    if x > 2.5:
        raise RuntimeError("fails on the cluster too")
    return (x - 1.0) ** 2


def test_dask_local_cluster_executor():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        study = tune.create_study(strategy=tune.Random(seed=0))
        study.optimize(objective, n_trials=12, executor=client.get_executor(), n_workers=2)
    reference = tune.create_study(strategy=tune.Random(seed=0))
    reference.optimize(objective, n_trials=12)
    assert [t.params for t in study.trials] == [t.params for t in reference.trials]
    assert [t.state for t in study.trials] == [t.state for t in reference.trials]
    assert any(t.state == tune.TrialState.FAIL for t in study.trials)
