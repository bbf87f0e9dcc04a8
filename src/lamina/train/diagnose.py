"""Over- or underfitting? A verdict read from the training and validation curves.

The table it follows:

=====================================  ================  =====================================================
what the curves show                   verdict           what to try
=====================================  ================  =====================================================
training error high                    ``underfitting``  a bigger model, train longer, another architecture
validation error high, training low    ``overfitting``   more data, regularization, another architecture
both low                               ``fine``          —
=====================================  ================  =====================================================

``diagnose(history)`` reads the last epoch of ``loss`` / ``val_loss`` (and ``accuracy`` / ``val_accuracy`` when
logged; error = 1 − accuracy) and decides, in this order:

1. **underfitting** when the training error is above ``max_train_error`` (default 0.10), or — without an
   accuracy curve — the training loss is above ``max_train_loss`` (default 0.30 nats: the cross-entropy of
   putting e^−0.3 ≈ 0.74 on the right class on average). Training error comes first: a model that does not
   fit its own training data has nothing to generalize yet.
2. **overfitting** when any of
   * the error gap, validation error − training error, is above ``max_error_gap`` (default 0.05 = 5 points);
   * the loss gap, val_loss − loss, is above ``max_loss_gap`` (default 0.10 nats) *and* val_loss > 2 · loss;
   * the validation loss has risen more than ``max_loss_gap`` above its minimum (val_loss_T − min_t val_loss_t)
     while the training loss went on falling (loss_T < loss at the epoch of that minimum).
3. **fine** otherwise.

The training loss and accuracy are those ``fit`` logs: running means over the epoch's batches, with dropout
and batch-norm in training mode, so the training loss can sit slightly above the validation loss.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .callbacks import Callback

__all__ = ["Verdict", "diagnose", "FitDiagnosis"]

_ADVICE = {
    "underfitting": "a bigger model, train longer, or a different architecture",
    "overfitting": "more data, regularization (weight decay, dropout, early stopping), or a different architecture",
    "fine": "nothing to change",
}


@dataclass(frozen=True)
class Verdict:
    """``kind`` ("underfitting", "overfitting" or "fine"), ``reason`` (the rule that decided, with its numbers),
    ``advice``, and the numbers read from the curves (the last epoch's; errors are None without accuracy)."""

    kind: str
    reason: str
    advice: str
    epochs: int
    train_loss: float
    val_loss: float
    best_val_loss: float
    best_epoch: int
    train_error: float | None = None
    val_error: float | None = None

    @property
    def loss_gap(self) -> float:
        """val_loss − train_loss at the last epoch."""
        return self.val_loss - self.train_loss

    @property
    def error_gap(self) -> float | None:
        """val_error − train_error at the last epoch (None without accuracy curves)."""
        if self.train_error is None or self.val_error is None:
            return None
        return self.val_error - self.train_error

    def numbers(self) -> str:
        s = f"train loss {self.train_loss:.3f}, val loss {self.val_loss:.3f} (gap {self.loss_gap:+.3f})"
        if self.error_gap is not None:
            s += (f"; train error {self.train_error:.1%}, val error {self.val_error:.1%} "
                  f"(gap {100 * self.error_gap:+.1f} points)")
        return s + f"; best val loss {self.best_val_loss:.3f} at epoch {self.best_epoch + 1} of {self.epochs}"

    def __str__(self) -> str:
        text = f"verdict: {self.kind} — {self.numbers()}"
        return text if self.kind == "fine" else f"{text}. {self.reason}; try {self.advice}"


def _columns(history) -> dict:
    cols = getattr(history, "history", history)
    if not hasattr(cols, "get"):
        raise TypeError(f"diagnose: expected a History or a dict of per-epoch lists, got {type(history).__name__}")
    return cols


def _finite(cols: dict, key: str) -> list[tuple[int, float]]:
    """(epoch, value) of the finite values of column ``key`` (History fills missing epochs with NaN)."""
    out = []
    for i, v in enumerate(cols.get(key) or []):
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append((i, f))
    return out


def _last(cols: dict, key: str) -> float | None:
    vals = _finite(cols, key)
    return vals[-1][1] if vals else None


def _check_thresholds(thresholds: dict) -> None:
    for name, v in thresholds.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"diagnose: {name} must be a finite number >= 0, got {v!r}")


def _curves(cols: dict) -> tuple[list, list]:
    """The finite (epoch, value) pairs of ``loss`` and ``val_loss``; both must be non-empty."""
    train, val = _finite(cols, "loss"), _finite(cols, "val_loss")
    if not train or not val:
        missing = " and ".join(k for k, c in (("loss", train), ("val_loss", val)) if not c)
        raise ValueError(f"diagnose: the history has no finite {missing} values (keys: {sorted(cols)}); the verdict "
                         "needs a training and a validation curve (fit(..., val=(X_val, y_val)))")
    return train, val


def _underfit_reason(train_loss, train_error, max_train_error, max_train_loss) -> str | None:
    if train_error is not None and train_error > max_train_error:
        return f"the training error {train_error:.1%} is above {max_train_error:.0%}"
    if train_error is None and train_loss > max_train_loss:
        return f"the training loss {train_loss:.3f} is above {max_train_loss:g}"
    return None


def _overfit_reason(train_loss, val_loss, train_error, val_error, best_val, best_epoch, loss_at_best,
                    max_error_gap, max_loss_gap) -> str | None:
    if val_error is not None and train_error is not None and val_error - train_error > max_error_gap:
        return (f"the validation error {val_error:.1%} is {100 * (val_error - train_error):.1f} "
                f"points above the training error {train_error:.1%} (more than {100 * max_error_gap:g})")
    if val_loss - train_loss > max_loss_gap and val_loss > 2 * train_loss:
        return (f"the validation loss {val_loss:.3f} is {val_loss - train_loss:.3f} above the "
                f"training loss {train_loss:.3f} (more than {max_loss_gap:g}, and over twice it)")
    if val_loss - best_val > max_loss_gap and loss_at_best is not None and train_loss < loss_at_best:
        return (f"the validation loss rose from {best_val:.3f} (epoch {best_epoch + 1}) to "
                f"{val_loss:.3f} while the training loss fell from {loss_at_best:.3f} to {train_loss:.3f}")
    return None


def diagnose(history, max_train_error: float = 0.10, max_train_loss: float = 0.30, max_error_gap: float = 0.05,
             max_loss_gap: float = 0.10) -> Verdict:
    """The verdict on a finished run's curves: "underfitting", "overfitting" or "fine" (rules and default
    thresholds in the module docstring). ``history``: what ``fit`` returns (a ``History``), or a dict with
    per-epoch lists ``loss`` and ``val_loss`` (and optionally ``accuracy`` and ``val_accuracy``)."""
    _check_thresholds({"max_train_error": max_train_error, "max_train_loss": max_train_loss,
                       "max_error_gap": max_error_gap, "max_loss_gap": max_loss_gap})
    cols = _columns(history)
    train, val = _curves(cols)
    train_loss, val_loss = train[-1][1], val[-1][1]
    best_epoch, best_val = min(val, key=lambda ev: ev[1])
    acc, val_acc = _last(cols, "accuracy"), _last(cols, "val_accuracy")
    train_error = None if acc is None else 1.0 - acc
    val_error = None if val_acc is None else 1.0 - val_acc
    epochs = max(train[-1][0], val[-1][0]) + 1
    kind, reason = "fine", "training and validation errors are both low"
    under = _underfit_reason(train_loss, train_error, max_train_error, max_train_loss)
    if under is not None:
        kind, reason = "underfitting", under
    else:
        over = _overfit_reason(train_loss, val_loss, train_error, val_error, best_val, best_epoch,
                               dict(train).get(best_epoch), max_error_gap, max_loss_gap)
        if over is not None:
            kind, reason = "overfitting", over
    return Verdict(kind, reason, _ADVICE[kind], epochs, train_loss, val_loss, best_val, best_epoch, train_error,
                   val_error)


class FitDiagnosis(Callback):
    """At the end of training, ``diagnose`` the run's history and keep the result in ``self.verdict``
    (printed with ``verbose``). Without a validation curve the verdict is None and, with ``verbose``, a line
    says why. Thresholds: the keyword arguments of ``diagnose``."""

    def __init__(self, verbose: bool = True, out=print, **thresholds):
        self.verbose, self.out, self.thresholds = verbose, out, thresholds
        diagnose({"loss": [0.0], "val_loss": [0.0]}, **thresholds)  # refuse bad thresholds now, not after training
        self.verdict: Verdict | None = None

    def on_train_end(self, logs=None):
        history = self.trainer.history if self.trainer is not None else None
        cols = _columns(history) if history is not None else {}
        if not _finite(cols, "loss") or not _finite(cols, "val_loss"):
            self.verdict = None
            if self.verbose:
                self.out("verdict: none — no validation curve (fit(..., val=...)) to compare the training curve with")
            return
        self.verdict = diagnose(history, **self.thresholds)
        if self.verbose:
            self.out(str(self.verdict))
