"""Plots of a study with matplotlib (imported inside the functions; optional dependency).

* ``plot_optimization_history``: every completed value by trial number and the
  best value so far.
* ``plot_param_importances``: ``importance.param_importances`` as bars.
* ``plot_slice``: objective against each parameter (log axis for log parameters).
* ``plot_parallel_coordinate``: one vertical axis per parameter (unit-cube
  coordinates, categorical choices labelled), one line per trial coloured by
  its value.

Each returns a ``matplotlib.figure.Figure`` (built without pyplot, so no GUI
backend is needed) and, given ``path`` (``.png``, ``.svg``, ``.pdf``), writes
it atomically (temporary file + ``os.replace``).
"""
from __future__ import annotations

import math

import numpy as np

from .._atomic import atomic_savefig
from .distributions import CategoricalDistribution
from .importance import param_importances
from .trial import TrialState

__all__ = ["plot_optimization_history", "plot_param_importances", "plot_slice", "plot_parallel_coordinate"]


def _figure(**kw):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("lamina.tune plots need matplotlib (pip install matplotlib)") from None
    return Figure(**kw)


def _save(fig, path) -> None:
    if path is None:
        return
    atomic_savefig(fig, path, parents=False, bbox_inches="tight")


def _completed(study):
    done = [t for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None
            and math.isfinite(t.value)]
    if not done:
        raise ValueError("plot: the study has no completed trial with a finite value")
    return done


def _param_names(done, params):
    names = list(dict.fromkeys(n for t in done for n in t.params))
    if params is None:
        return names
    missing = [p for p in params if p not in names]
    if missing:
        raise ValueError(f"plot: unknown parameters {missing}; the study has {names}")
    return list(params)


def plot_optimization_history(study, path=None):
    """Values by trial number and the running best."""
    done = _completed(study)
    x = np.array([t.number for t in done])
    y = np.array([t.value for t in done])
    best = np.minimum.accumulate(y) if study.direction == "minimize" else np.maximum.accumulate(y)
    fig = _figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    ax.scatter(x, y, s=14, color="tab:blue", label="objective value")
    ax.step(x, best, where="post", color="tab:red", label="best value")
    ax.set_xlabel("trial")
    ax.set_ylabel("objective value")
    ax.set_title("Optimization history")
    ax.legend()
    _save(fig, path)
    return fig


def plot_param_importances(study, path=None, params=None):
    """Horizontal bars of ``param_importances`` (largest on top)."""
    imp = param_importances(study, params)
    names = list(imp)[::-1]
    fig = _figure(figsize=(6.4, 0.5 + 0.4 * max(1, len(names))))
    ax = fig.subplots()
    ax.barh(names, [imp[n] for n in names], color="tab:blue")
    ax.set_xlabel("importance (share of explained variance of the ranked objective)")
    ax.set_title("Parameter importance")
    _save(fig, path)
    return fig


def _slice_axis(ax, sub: list, name: str) -> None:
    """Objective against parameter ``name`` (categories at their index, log axis for log scales)."""
    dist = sub[0].distributions[name]
    if isinstance(dist, CategoricalDistribution):
        xs = [dist.index(t.params[name]) for t in sub]
        ax.set_xticks(range(len(dist.choices)), [str(c) for c in dist.choices])
    else:
        xs = [t.params[name] for t in sub]
        if dist.log:
            ax.set_xscale("log")
    ax.scatter(xs, [t.value for t in sub], c=[t.number for t in sub], cmap="viridis", s=14)
    ax.set_xlabel(name)


def plot_slice(study, params=None, path=None):
    """Objective against each parameter, points coloured by trial number."""
    done = _completed(study)
    names = _param_names(done, params)
    fig = _figure(figsize=(3.2 * max(1, len(names)), 3.2))
    axes = np.atleast_1d(fig.subplots(1, max(1, len(names)), squeeze=False)[0])
    for ax, name in zip(axes, names):
        _slice_axis(ax, [t for t in done if name in t.params], name)
    axes[0].set_ylabel("objective value")
    fig.suptitle("Slice plot")
    _save(fig, path)
    return fig


def _label_categories(ax, xs, names: list, dists: dict) -> None:
    for x, n in zip(xs, names):
        d = dists[n]
        if isinstance(d, CategoricalDistribution):
            for c in d.choices:
                ax.annotate(str(c), (x, d.to_unit(c)), fontsize=7, xytext=(3, 0), textcoords="offset points")


def _trial_lines(ax, xs, sub: list, values, names: list, dists: dict, color, minimize: bool) -> None:
    """One line per trial through (scaled value, unit coordinate of each parameter), best drawn last."""
    vspan = (values.max() - values.min()) or 1.0
    for t, v in sorted(zip(sub, values), key=lambda tv: -tv[1] if minimize else tv[1]):
        ys = [(v - values.min()) / vspan] + [dists[n].to_unit(t.params[n]) for n in names]
        ax.plot(xs, ys, color=color(v), alpha=0.7, lw=1)


def plot_parallel_coordinate(study, params=None, path=None):
    """One axis per parameter (unit-cube coordinate), one line per trial coloured by value."""
    from matplotlib import cm, colormaps, colors  # optional dependency
    done = _completed(study)
    names = _param_names(done, params)
    sub = [t for t in done if all(n in t.params for n in names)]
    if not sub:
        raise ValueError(f"plot_parallel_coordinate: no completed trial has all of {names}")
    dists = {n: sub[0].distributions[n] for n in names}
    values = np.array([t.value for t in sub])
    norm = colors.Normalize(values.min(), values.max())
    minimize = study.direction == "minimize"
    cmap = colormaps["viridis_r" if minimize else "viridis"]
    fig = _figure(figsize=(1.6 * (len(names) + 1) + 1, 4.0))
    ax = fig.subplots()
    xs = np.arange(len(names) + 1)
    _trial_lines(ax, xs, sub, values, names, dists, lambda v: cmap(norm(v)), minimize)
    _label_categories(ax, xs[1:], names, dists)
    for x in xs:
        ax.axvline(x, color="black", lw=0.8)
    ax.set_xticks(xs, ["objective"] + names)
    ax.set_yticks([0, 1], ["low", "high"])
    ax.set_title("Parallel coordinates")
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="objective value")
    _save(fig, path)
    return fig
