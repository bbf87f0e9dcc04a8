"""The objective behind ``lamina tune``: one trial is a short training run of ``lamina train``'s
default model (the small CNN on the UCI digits shipped with lamina), without a run folder; the
run is built by ``lamina.train.builders`` from a run configuration.

Search space (define-by-run)::

    lr            log-uniform  [1e-4, 0.3]
    width         int, log     [8, 64]        (channels of the CNN's first layer; fixed by --width)
    optimizer     categorical  sgd | momentum | adam | rmsprop
    weight_decay  log-uniform  [1e-6, 1e-2]

The data are loaded once by the master and travel with the objective (a picklable object),
so worker processes do not read files.  After every epoch the trial reports the validation
metric, so a pruner can stop it early; the value of a trial is the last epoch's validation
loss (or accuracy).
"""
from __future__ import annotations

import math

from .. import nn, train
from ..train.builders import build_model, build_optimizer, build_scheduler
from .trial import TrialPruned

__all__ = ["TrainObjective", "SEARCH_OPTIMIZERS"]

SEARCH_OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")


class TrainObjective:
    """``TrainObjective(data, base_config, epochs, metric="val_loss", width=None)``; ``objective(trial)``."""

    def __init__(self, data, base_config, epochs: int, metric: str = "val_loss", width: int | None = None,
                 width_range=(8, 64)):
        if metric not in ("val_loss", "val_accuracy"):
            raise ValueError(f"TrainObjective: metric must be 'val_loss' or 'val_accuracy', got {metric!r}")
        self.data, self.base, self.epochs, self.metric = data, base_config, int(epochs), metric
        self.width, self.width_range = width, width_range

    def suggest(self, trial) -> dict:
        params = {
            "lr": trial.suggest_float("lr", 1e-4, 0.3, log=True),
            "width": self.width if self.width is not None else trial.suggest_int("width", *self.width_range, log=True),
            "optimizer": trial.suggest_categorical("optimizer", list(SEARCH_OPTIMIZERS)),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        }
        return params

    def __call__(self, trial) -> float:
        params = self.suggest(trial)
        cfg = self.base.updated({**params, "epochs": self.epochs}, source="tune")
        model = build_model(cfg, self.data)
        opt = build_optimizer(cfg, model.parameters())
        sched = build_scheduler(cfg, opt, math.ceil(len(self.data.X_train) / cfg.batch_size))
        metric = self.metric

        def report(epoch, logs):
            value = float(logs[metric])
            if not math.isfinite(value) or not math.isfinite(float(logs.get("loss", 0.0))):
                raise FloatingPointError(f"training diverged at epoch {epoch} (loss {logs.get('loss')}, "
                                         f"{metric} {value}) with {params}")
            trial.report(value, epoch)
            if trial.should_prune():
                raise TrialPruned(f"pruned after epoch {epoch} ({metric} {value:.4f})")

        history = train.fit(model, nn.CrossEntropyLoss(), opt, (self.data.X_train, self.data.y_train),
                            val=(self.data.X_val, self.data.y_val), epochs=self.epochs, batch_size=cfg.batch_size,
                            scheduler=sched, seed=cfg.seed, progress=False,
                            callbacks=[train.LambdaCallback(on_epoch_end=report)])
        trial.set_user_attr("val_accuracy", float(history["val_accuracy"][-1]))
        trial.set_user_attr("val_loss", float(history["val_loss"][-1]))
        return float(history[metric][-1])
