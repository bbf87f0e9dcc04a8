"""Parameter importance: how much of the variation of the objective each parameter explains.

A first-order, variance-based estimate (an "fANOVA-lite" main effect): for
parameter ``p`` the completed trials are grouped by the value of ``p``
(categoricals: one group per choice; numbers: ``g`` equal-count bins of the
unit-cube coordinate, ``g = clip(round(sqrt(m)), 2, 10)`` for ``m`` trials)
and the share of the variance of the objective explained by the group means
is measured with the bias-corrected epsilon-squared::

    eps2_p = max(0, (SS_between - (g - 1) MS_within) / SS_total)

The objective enters through its ranks (so one diverged trial cannot dominate)
and the ``eps2`` are normalised to sum to one.  Interactions between
parameters are not attributed.
"""
from __future__ import annotations

import math

import numpy as np

from .distributions import CategoricalDistribution
from .trial import TrialState

__all__ = ["param_importances"]


def _groups(dist, values) -> np.ndarray:
    if isinstance(dist, CategoricalDistribution):
        return np.array([dist.index(v) for v in values])
    u = np.array([dist.to_unit(v) for v in values])
    g = int(np.clip(round(math.sqrt(len(u))), 2, 10))
    edges = np.quantile(u, np.linspace(0, 1, g + 1)[1:-1])
    return np.searchsorted(edges, u, side="right")


def _epsilon_squared(groups: np.ndarray, y: np.ndarray) -> float:
    labels, inv = np.unique(groups, return_inverse=True)
    g, n = len(labels), len(y)
    if g < 2 or n <= g:
        return 0.0
    ss_total = float(np.sum((y - y.mean()) ** 2))
    if ss_total == 0:
        return 0.0
    counts = np.bincount(inv)
    means = np.bincount(inv, weights=y) / counts
    ss_between = float(np.sum(counts * (means - y.mean()) ** 2))
    ms_within = (ss_total - ss_between) / (n - g)
    return max(0.0, (ss_between - (g - 1) * ms_within) / ss_total)


def _importance(done: list, name: str) -> float:
    """ε² of the ranked objective grouped by parameter ``name`` (0 with fewer than 3 trials using it)."""
    sub = [t for t in done if name in t.params]
    if len(sub) < 3:
        return 0.0
    y = np.argsort(np.argsort([t.value for t in sub])).astype(float)
    return _epsilon_squared(_groups(sub[0].distributions[name], [t.params[name] for t in sub]), y)


def _finished(study) -> list:
    """The completed trials with a finite value."""
    return [t for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None
            and math.isfinite(t.value)]


def param_importances(study, params: list[str] | None = None) -> dict[str, float]:
    """``{name: importance}``, normalised to sum 1 (all 0 when nothing is explained), largest first."""
    done = _finished(study)
    if len(done) < 2:
        raise ValueError(f"param_importances: need at least 2 completed trials, got {len(done)}")
    names = params or list(dict.fromkeys(n for t in done for n in t.params))
    raw = {name: _importance(done, name) for name in names}
    total = sum(raw.values())
    out = {n: (v / total if total > 0 else 0.0) for n, v in raw.items()}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
