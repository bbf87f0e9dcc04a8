"""``TensorBoard``: Keras's callback, writing a run's curves for ``tensorboard --logdir``.

    fit(model, loss, opt, train, val, epochs=20, callbacks=[train.TensorBoard("logs/mlp", histogram_freq=1)])

Like Keras, it writes two runs, ``<log_dir>/train`` and ``<log_dir>/validation``, so a metric and its
``val_`` twin share one chart: ``epoch_loss``, ``epoch_accuracy`` (any metric), ``epoch_learning_rate``.
With ``diagnostics=True`` the train run also gets, per epoch, the L2 gradient norm of every parameter
averaged over the batches (``grad_norm/<name>``, ``grad_norm/total``) and the share of dead ReLU units
(``dead_relu/<layer>``: units that output 0 for every example of a batch) or saturated sigmoid/tanh
outputs (``saturated/<layer>``), as ``GradientNormMonitor`` and ``ActivationMonitor`` compute them.
``histogram_freq=k`` adds a histogram of every parameter every k epochs (0: none);
``update_freq='batch'`` (or an int n: every n batches) adds ``batch_loss`` against the global step.
"""
from __future__ import annotations

import os

from ..utils.tensorboard import SummaryWriter
from .callbacks import Callback
from .diagnostics import ActivationMonitor, GradientNormMonitor

__all__ = ["TensorBoard"]


def _epoch_tag(key: str) -> str:
    """Keras's tag of an epoch log entry: ``epoch_<name>``; grouped diagnostics keep their ``group/`` path."""
    if key == "lr":
        return "epoch_learning_rate"
    return key if "/" in key else f"epoch_{key}"


class TensorBoard(Callback):
    """``TensorBoard(log_dir='logs', histogram_freq=0, update_freq='epoch', diagnostics=True)``."""

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, update_freq: str | int = "epoch",
                 diagnostics: bool = True):
        if histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0, got {histogram_freq}")
        if update_freq not in ("epoch", "batch") and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or an int > 0, got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.batch_every = 0 if update_freq == "epoch" else 1 if update_freq == "batch" else int(update_freq)
        self.monitors: list[Callback] = [GradientNormMonitor(), ActivationMonitor()] if diagnostics else []
        self._writers: dict[str, SummaryWriter] = {}
        self._epoch = 0

    def _writer(self, run: str) -> SummaryWriter:
        if run not in self._writers:
            self._writers[run] = SummaryWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    def set_trainer(self, trainer) -> None:
        super().set_trainer(trainer)
        for m in self.monitors:
            m.set_trainer(trainer)

    def on_train_begin(self, logs=None):
        self._writer("train")
        for m in self.monitors:
            m.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        for m in self.monitors:
            m.on_epoch_begin(epoch, logs)

    def on_backward_end(self, batch, logs=None):
        for m in self.monitors:
            m.on_backward_end(batch, logs)

    def on_batch_end(self, batch, logs=None):
        for m in self.monitors:
            m.on_batch_end(batch, logs)
        if self.batch_every and (batch + 1) % self.batch_every == 0 and "loss" in (logs or {}):
            step = self._epoch * self.trainer.steps_per_epoch + batch
            self._writer("train").add_scalar("batch_loss", logs["loss"], step)

    def on_epoch_end(self, epoch, logs=None):
        diagnostics: dict = {}
        for m in self.monitors:
            m.on_epoch_end(epoch, diagnostics)
        for key, value in {**diagnostics, **(logs or {})}.items():
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self._writer(run).add_scalar(_epoch_tag(name), value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for name, p in self.model.named_parameters():
                self._writer("train").add_histogram(name, p, epoch)
        for w in self._writers.values():
            w.flush()

    def state_dict(self) -> dict:
        """Its monitors' states.  Resumed, it writes new event files into the same runs (TensorBoard merges
        them; epochs after the checkpoint logged by the interrupted session show up twice, the newer last)."""
        return {"monitors": [m.state_dict() for m in self.monitors]}

    def load_state_dict(self, state: dict) -> None:
        for m, s in zip(self.monitors, state.get("monitors", [])):
            m.load_state_dict(s)

    def on_train_end(self, logs=None):
        for m in self.monitors:
            m.on_train_end(logs)
        for w in self._writers.values():
            w.close()
        self._writers = {}
