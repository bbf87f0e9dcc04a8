"""Training plots with matplotlib: loss/metric curves, a confusion matrix, and the
convergence plot (cost averaged over the last k iterations)."""
from __future__ import annotations

import numpy as np

from .._atomic import atomic_savefig


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path=None, title=None):
    plt = _plt()
    keys = [k for k in history.history if not k.startswith("val_") and k != "lr" and "/" not in k]
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(5 * max(len(keys), 1), 3.8), squeeze=False)
    for ax, k in zip(axes[0], keys):
        ax.plot(history.epoch, history.history[k], "o-", label=f"train {k}")
        if f"val_{k}" in history.history:
            ax.plot(history.epoch, history.history[f"val_{k}"], "s-", label=f"validation {k}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(k)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path:
        atomic_savefig(fig, path, dpi=110)
        plt.close(fig)
    return fig


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts: row = true class, column = predicted class."""
    t = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(y_pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: {t.size} true labels but {p.size} predictions")
    n = num_classes or int(max(t.max(initial=-1), p.max(initial=-1)) + 1)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def _annotate_cells(ax, cm, shown, normalize: bool) -> None:
    """Each cell's count (or share), white on the dark cells."""
    n = cm.shape[0]
    vmax = shown.max() if shown.size else 1
    for i in range(n):
        for j in range(n):
            txt = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
            ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                    color="white" if shown[i, j] > 0.6 * vmax else "black")


def plot_confusion_matrix(cm, path=None, labels=None, title="confusion matrix", normalize=False):
    plt = _plt()
    cm = np.asarray(cm)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    n = cm.shape[0]
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * n, 1.0 + 0.5 * n))
    im = ax.imshow(shown, cmap="Blues")
    labels = labels if labels is not None else [str(i) for i in range(n)]
    ax.set_xticks(range(n), labels, rotation=45 if max(len(str(s)) for s in labels) > 2 else 0)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    _annotate_cells(ax, cm, shown, normalize)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    if path:
        atomic_savefig(fig, path, dpi=110)
        plt.close(fig)
    return fig


def running_average(values, k: int) -> np.ndarray:
    """Mean of the last k values at every step: a smoother convergence curve, (1/k) Σ_{i=t-k+1..t} cost_i."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(idx - k, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_convergence(batch_losses, k: int = 100, path=None):
    """Cost per iteration and its average over the last k iterations."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(batch_losses, alpha=0.3, label="cost per iteration")
    ax.plot(running_average(batch_losses, k), label=f"mean of last {k}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    if path:
        atomic_savefig(fig, path, dpi=110)
        plt.close(fig)
    return fig
