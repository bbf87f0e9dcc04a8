"""Keras-style callbacks for ``fit``.

Hooks: ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_epoch_end(epoch, logs)``, ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)`` and
``on_backward_end(batch, logs)`` (after ``loss.backward()``, before the optimizer step: where
gradients can be read or clipped) and ``on_checkpoint(epoch, logs)`` (after every callback's
``on_epoch_end``: the run's state for the epoch is complete; ``ModelCheckpoint`` writes its files
there). A callback reaches the run through ``self.trainer`` (``.model``, ``.optimizer``,
``.scheduler``, ``.history``, ``.stop_training``).

A callback with state (best score, epochs waited, saved weights, a plateau schedule's counters)
returns it from ``state_dict()``; every checkpoint holds the state of every callback, and a resumed
run loads it before training begins, so it goes on exactly as if it had never stopped.
"""
from __future__ import annotations

import copy
import csv
import io
import math
import os

import numpy as np

from ..optim import lr_scheduler
from .checkpoint import save_checkpoint


class Callback:
    trainer = None

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    @property
    def model(self):
        return self.trainer.model

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_backward_end(self, batch, logs=None): ...
    def on_checkpoint(self, epoch, logs=None): ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class CallbackList(Callback):
    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)

    def set_trainer(self, trainer):
        for c in self.callbacks:
            c.set_trainer(trainer)

    def _call(self, name, *args):
        for c in self.callbacks:
            getattr(c, name)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs)

    def on_backward_end(self, batch, logs=None):
        self._call("on_backward_end", batch, logs)

    def on_checkpoint(self, epoch, logs=None):
        self._call("on_checkpoint", epoch, logs)


class LambdaCallback(Callback):
    """Build a callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if not name.startswith("on_"):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


def _monitor_value(logs, monitor):
    if monitor not in logs:
        raise KeyError(f"monitor {monitor!r} is not in the logs; available: {sorted(logs)} "
                       "(val_* metrics need validation data)")
    return float(logs[monitor])


def _better(mode, monitor):
    if mode == "auto":
        mode = "max" if any(s in monitor for s in ("acc", "auc", "score")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    ``restore_best_weights`` puts back the weights of the best epoch."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto", restore_best_weights=False,
                 baseline=None):
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = _better(mode, monitor)
        self.restore_best_weights, self.baseline = restore_best_weights, baseline
        self.best = None
        self.best_epoch = None
        self.wait = 0
        self.stopped_epoch = None
        self._best_state = None

    def _improved(self, value):
        if self.best is None:
            return self.baseline is None or (value < self.baseline if self.mode == "min" else value > self.baseline)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        value = _monitor_value(logs or {}, self.monitor)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_state = {k: np.array(v.numpy(), copy=True) for k, v in self.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.trainer.stop_training = True
                if self.restore_best_weights and self._best_state is not None:
                    self.model.load_state_dict(self._best_state)

    def state_dict(self):
        """best score and epoch, epochs waited, the epoch it stopped at and (``restore_best_weights``) the
        best epoch's weights (copies)."""
        weights = None if self._best_state is None else {k: v.copy() for k, v in self._best_state.items()}
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": weights}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch = state.get("stopped_epoch")
        weights = state.get("best_weights")
        self._best_state = None if weights is None else {
            k: np.array(v.numpy() if hasattr(v, "numpy") else v, copy=True) for k, v in weights.items()}


class ModelCheckpoint(Callback):
    """Save a full checkpoint (model, optimizer, scheduler, RNG states, history, every callback's state,
    epoch) after each epoch to ``dirpath/last.safetensors`` and, when ``monitor`` improves, to
    ``dirpath/best.safetensors``.  Whether the epoch is the best is decided in ``on_epoch_end``; the files
    are written (atomically) in ``on_checkpoint``, once every callback has handled the epoch, so a
    checkpoint holds the state after the epoch, this callback's best score included."""

    def __init__(self, dirpath, monitor="val_loss", mode="auto", save_best=True, save_last=True):
        self.dirpath, self.monitor = dirpath, monitor
        self.mode = _better(mode, monitor)
        self.save_best, self.save_last = save_best, save_last
        self.best = None
        self._is_best = False
        self.best_path = os.path.join(dirpath, "best.safetensors")
        self.last_path = os.path.join(dirpath, "last.safetensors")

    def on_epoch_end(self, epoch, logs=None):
        self._is_best = False
        if self.save_best and self.monitor in (logs or {}):
            v = float(logs[self.monitor])
            if self.best is None or (v < self.best if self.mode == "min" else v > self.best):
                self.best, self._is_best = v, True

    def on_checkpoint(self, epoch, logs=None):
        os.makedirs(self.dirpath, exist_ok=True)
        # best first: a run killed between the two writes resumes from the previous last checkpoint, redoes
        # this epoch and writes the same best file again (the other order would leave a stale best file
        # behind a last checkpoint that already counts this epoch as the best)
        if self._is_best:
            save_checkpoint(self.best_path, self.trainer, epoch)
        if self.save_last:
            save_checkpoint(self.last_path, self.trainer, epoch)

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class LearningRateScheduler(Callback):
    """Set each group's learning rate from ``schedule(epoch, lr) -> new_lr`` at the start of every epoch."""

    def __init__(self, schedule, verbose=False):
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        for g in self.trainer.optimizer.param_groups:
            g["lr"] = float(self.schedule(epoch, g["lr"]))
        if self.verbose:
            print(f"epoch {epoch}: learning rate {self.trainer.optimizer.param_groups[0]['lr']:.6g}")


class ReduceLROnPlateau(Callback):
    """Keras's callback on ``optim.lr_scheduler.ReduceLROnPlateau`` (so PyTorch's numbers): after
    each epoch, once ``monitor`` has not improved on its best by more than ``min_delta`` for more
    than ``patience`` epochs, every group's learning rate becomes max(lr·factor, min_lr); then
    ``cooldown`` epochs pass before bad epochs are counted again.  The scheduler is
    ``self.scheduler`` (built when training begins)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4, cooldown=0,
                 min_lr=0.0):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.mode = _better(mode, monitor)
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.scheduler: lr_scheduler.ReduceLROnPlateau | None = None
        self._loaded: dict | None = None    # state loaded before the scheduler exists

    def on_train_begin(self, logs=None):
        optimizer = self.trainer.optimizer
        if self.scheduler is None or self.scheduler.optimizer is not optimizer:
            self.scheduler = lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=self.mode, factor=self.factor, patience=self.patience, threshold=self.min_delta,
                threshold_mode="abs", cooldown=self.cooldown, min_lr=self.min_lr)
        if self._loaded is not None:
            self.load_state_dict(self._loaded)

    def on_epoch_end(self, epoch, logs=None):
        if self.scheduler is None:
            raise RuntimeError("ReduceLROnPlateau: on_epoch_end before on_train_begin (use it through fit)")
        self.scheduler.step(_monitor_value(logs or {}, self.monitor))

    def state_dict(self):
        """The plateau schedule's counters: best score, bad epochs, cooldown left, epochs seen."""
        if self.scheduler is None:
            return dict(self._loaded or {})
        sched = self.scheduler
        return {"best": sched.best, "num_bad_epochs": sched.num_bad_epochs, "cooldown_counter": sched.cooldown_counter,
                "last_epoch": sched.last_epoch, "last_lr": list(sched._last_lr)}

    def load_state_dict(self, state):
        if self.scheduler is None:
            self._loaded = dict(state)
            return
        sched = self.scheduler
        sched.best = sched.mode_worse if state.get("best") is None else float(state["best"])
        sched.num_bad_epochs = int(state.get("num_bad_epochs", state.get("wait", 0)))
        sched.cooldown_counter = int(state.get("cooldown_counter", 0))
        sched.last_epoch = int(state.get("last_epoch", sched.last_epoch))
        if "last_lr" in state:
            sched._last_lr = [float(v) for v in state["last_lr"]]
        self._loaded = None


class NaNLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class TerminateOnNaN(Callback):
    """Stop training when a batch loss is NaN or infinite (``raise_error=True`` raises NaNLossError)."""

    def __init__(self, raise_error=False):
        self.raise_error = raise_error
        self.triggered_at = None

    def state_dict(self):
        return {"triggered_at": self.triggered_at}

    def load_state_dict(self, state):
        self.triggered_at = state.get("triggered_at")

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.triggered_at = batch
            self.trainer.stop_training = True
            if self.raise_error:
                raise NaNLossError(f"loss became {loss} at batch {batch} of epoch {self.trainer.epoch}; "
                                   "lower the learning rate or check the inputs")


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file (rewritten atomically after each epoch)."""

    def __init__(self, filename, separator=","):
        self.filename, self.separator = filename, separator

    def on_epoch_end(self, epoch, logs=None):
        from .._atomic import atomic_write

        h = self.trainer.history
        keys = list(h.history)
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=self.separator)
        w.writerow(["epoch"] + keys)
        for i, e in enumerate(h.epoch):
            w.writerow([e] + [h.history[k][i] for k in keys])
        atomic_write(self.filename, buf.getvalue().encode())


class ProgressBar(Callback):
    """A tqdm bar per epoch: batches done, running loss and metrics, rate and ETA."""

    def __init__(self, leave=True, file=None, disable=None):
        self.leave, self.file, self.disable = leave, file, disable
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm  # optional dependency

        t = self.trainer
        self._bar = tqdm(total=t.steps_per_epoch, desc=f"epoch {epoch + 1}/{t.epochs}", unit="batch",
                         leave=self.leave, file=self.file, disable=self.disable, dynamic_ncols=True)

    def on_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            shown = {k: f"{v:.4g}" for k, v in self.trainer.running_logs().items()}
            self._bar.set_postfix(shown, refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in (logs or {}).items()
                                   if isinstance(v, float) and "/" not in k})
            self._bar.close()
            self._bar = None


class History(Callback):
    """Internal: records epoch logs into ``trainer.history``."""

    def on_epoch_end(self, epoch, logs=None):
        self.trainer.history.append(epoch, copy.copy(logs or {}))
