"""lamina.tune: hyperparameter search, Optuna-style (define-by-run), run by a master over many workers.

    from lamina import tune

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        width = trial.suggest_int("width", 16, 256, log=True)
        opt = trial.suggest_categorical("optimizer", ["sgd", "adam"])
        ...
        return validation_loss

    study = tune.create_study(direction="minimize", strategy=tune.Bayesian(), storage="search.jsonl", seed=0)
    study.optimize(objective, n_trials=50, n_workers=4)   # 4 worker processes
    print(study.best_params, study.best_value)

Strategies (``ask(n)`` / ``tell(trial, value)``): ``Grid``, ``Random``,
``Bayesian`` (Gaussian process + expected improvement), ``Evolutionary``.
Pruners: ``MedianPruner``, ``SuccessiveHalvingPruner``.  A study runs trials
on any ``concurrent.futures.Executor`` (default: a process pool), records
them in an append-only journal and resumes from it after a kill.
"""
from ..optim.hypergradient import SGDHD, AdamHD
from .cv import cross_val_score, kfold
from .distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution, SearchSpaceError
from .hyperdescent import HyperparameterOptimizer, tune_by_hypergradient
from .hypergradient import HypergradientResult, functional_call, hypergradient
from .importance import param_importances
from .plots import plot_optimization_history, plot_parallel_coordinate, plot_param_importances, plot_slice
from .pruners import BasePruner, MedianPruner, NopPruner, SuccessiveHalvingPruner
from .sql_storage import SQLiteStorage
from .storage import JournalLockedError, JournalStorage, NotAJournalError
from .strategies import Bayesian, Evolutionary, Grid, Random, Strategy
from .studies import SharedStudy, create_study, load_study
from .study import Study
from .trial import FAILED, PRUNED, Trial, TrialPruned, TrialState

__all__ = [
    "Trial", "TrialState", "TrialPruned", "FAILED", "PRUNED",
    "Distribution", "FloatDistribution", "IntDistribution", "CategoricalDistribution", "SearchSpaceError",
    "Strategy", "Grid", "Random", "Bayesian", "Evolutionary",
    "BasePruner", "NopPruner", "MedianPruner", "SuccessiveHalvingPruner",
    "Study", "create_study", "JournalStorage", "JournalLockedError", "NotAJournalError", "load_study", "SharedStudy", "SQLiteStorage",
    "param_importances", "plot_optimization_history", "plot_param_importances", "plot_slice",
    "plot_parallel_coordinate", "kfold", "cross_val_score",
    "hypergradient", "HypergradientResult", "functional_call", "HyperparameterOptimizer", "tune_by_hypergradient",
    "SGDHD", "AdamHD",
]
