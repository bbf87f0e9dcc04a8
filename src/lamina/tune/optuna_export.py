"""``study.to_optuna(storage)``: a finished lamina study copied into an Optuna storage.

Optuna's plots (``optuna.visualization``) and ``optuna-dashboard`` then show it::

    optuna_study = study.to_optuna("sqlite:///optuna.db")
    optuna-dashboard sqlite:///optuna.db

Each finished trial becomes an Optuna trial (added in number order; the lamina number is kept
in ``system_attrs['lamina_number']``) with its state, value, parameters and distributions,
intermediate values, attributes and times; a failed trial's error goes to
``system_attrs['fail_reason']``, as Optuna records it. Trials still running are left out.
Needs ``pip install 'lamina[optuna]'``.
"""
from __future__ import annotations

import datetime
from typing import Any

from .distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution
from .trial import Trial, TrialState

__all__ = ["to_optuna"]

_INSTALL = "study.to_optuna needs the optuna package: pip install 'lamina[optuna]'"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ModuleNotFoundError(_INSTALL) from None
    return optuna


def _distribution(optuna, d: Distribution):
    if isinstance(d, FloatDistribution):
        return optuna.distributions.FloatDistribution(d.low, d.high, log=d.log, step=d.step)
    if isinstance(d, IntDistribution):
        return optuna.distributions.IntDistribution(d.low, d.high, log=d.log, step=d.step)
    if isinstance(d, CategoricalDistribution):
        return optuna.distributions.CategoricalDistribution(list(d.choices))
    raise TypeError(f"to_optuna: no Optuna distribution for {type(d).__name__}")


def _time(t: float | None) -> datetime.datetime | None:
    return None if t is None else datetime.datetime.fromtimestamp(t)


def _frozen(optuna, t: Trial):
    state = {TrialState.COMPLETE: optuna.trial.TrialState.COMPLETE, TrialState.PRUNED: optuna.trial.TrialState.PRUNED,
             TrialState.FAIL: optuna.trial.TrialState.FAIL}[t.state]
    system_attrs = {**t.system_attrs, "lamina_number": t.number}
    if t.error is not None:
        system_attrs["fail_reason"] = t.error
    return optuna.trial.FrozenTrial(
        number=t.number, state=state, value=t.value if t.state == TrialState.COMPLETE else None,
        datetime_start=_time(t.datetime_start), datetime_complete=_time(t.datetime_complete), params=dict(t.params),
        distributions={k: _distribution(optuna, d) for k, d in t.distributions.items()},
        user_attrs=dict(t.user_attrs), system_attrs=system_attrs, intermediate_values=dict(t.intermediate_values),
        trial_id=t.number)


def to_optuna(study: Any, storage: Any, study_name: str | None = None):
    """Create the study ``study_name`` (default: the lamina study's name, or a fresh one) in the Optuna
    ``storage`` and add every finished trial; returns the ``optuna.Study``."""
    optuna = _optuna()
    name = study_name if study_name is not None else getattr(study, "study_name", None)
    target = optuna.create_study(storage=storage, study_name=name, direction=study.direction)
    target.add_trials([_frozen(optuna, t) for t in study.trials if t.state.is_finished()])
    return target
