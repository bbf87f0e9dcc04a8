"""``fit``, ``evaluate`` and ``predict``: the PyTorch training loop, written once.

    for epoch in range(epochs):
        for x, y in batches:                 # shuffled with the run's seed
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(); loss.backward(); optimizer.step()
        validate; scheduler.step(); callbacks.on_epoch_end(epoch, logs)

``Trainer`` holds the run's state (model, optimizer, scheduler, history, the data order's
generator), so a checkpoint can capture all of it and a resumed run continues bit for bit.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..backend import Generator, get_rng_state, rng, set_rng_state
from ..nn.functional import accuracy
from ..nn.utils import clip_grad_norm_
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..tensor import Tensor, as_tensor
from ..utils.data import DataLoader, Dataset, TensorDataset
from .callbacks import CallbackList, ProgressBar
from .callbacks import History as _HistoryCallback
from .history import History


def _as_dataset(data, what):
    if data is None or isinstance(data, (Dataset, DataLoader)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return TensorDataset(*(d if isinstance(d, Tensor) else as_tensor(np.asarray(d)) for d in data))
    raise TypeError(f"fit: {what} must be a Dataset, a DataLoader or an (inputs, targets) pair, "
                    f"got {type(data).__name__}")


def _metric_fn(m):
    if callable(m):
        return getattr(m, "__name__", "metric"), m
    if m in ("accuracy", "acc"):
        return "accuracy", lambda out, y: float(accuracy(out, y).item())
    raise ValueError(f"fit: unknown metric {m!r}; use 'accuracy' or a function (output, target) -> float")


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch
    raise TypeError("fit: each batch must be an (inputs, targets) pair")


class Trainer:
    """The state of one training run; ``fit`` is ``Trainer(...).fit(...)``."""

    def __init__(self, model, loss_fn, optimizer, scheduler=None, metrics=("accuracy",), callbacks=(),
                 seed: int | None = None, progress: bool = True, grad_clip: float | None = None):
        self.model, self.loss_fn, self.optimizer, self.scheduler = model, loss_fn, optimizer, scheduler
        self.metrics = [_metric_fn(m) for m in (metrics or ())]
        self.user_callbacks = list(callbacks or ())
        self.progress = progress
        self.grad_clip = grad_clip
        self.history = History()
        self.stop_training = False
        self.epoch = 0
        self.epochs = 0
        self.steps_per_epoch = 0
        self.seed = seed
        self.generator = Generator().manual_seed(seed) if seed is not None else Generator().manual_seed(
            int(rng().integers(0, 2**63 - 1)))
        self._running: dict = {}

    # -------------------------------------------------------------- state for checkpoints
    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": {"global": get_rng_state(), "data": self.generator.get_state()},
            "history": self.history.state_dict(),
            "callbacks": [c.state_dict() for c in self.user_callbacks],
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"]["global"])
        self.generator.set_state(state["rng"]["data"])
        self.history.load_state_dict(state["history"])
        for c, s in zip(self.user_callbacks, state.get("callbacks", [])):
            c.load_state_dict(s)
        self.epoch = int(state["epoch"]) + 1

    # -------------------------------------------------------------- the loop
    def running_logs(self) -> dict:
        n = self._running.get("n", 0)
        return {k: v / n for k, v in self._running.items() if k != "n"} if n else {}

    def _loader(self, data, batch_size, shuffle):
        if isinstance(data, DataLoader):
            return data
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=self.generator)

    def _train_step(self, x, y):
        out = self.model(x)
        loss = self.loss_fn(out, y)
        self.optimizer.zero_grad()
        loss.backward()
        return out, loss

    def fit(self, train, val=None, epochs: int = 1, batch_size: int = 32, shuffle: bool = True) -> History:
        train = _as_dataset(train, "train")
        val = _as_dataset(val, "val")
        loader = self._loader(train, batch_size, shuffle)
        val_loader = self._loader(val, batch_size, False) if val is not None else None
        self.epochs = epochs
        self.steps_per_epoch = len(loader)
        cbs = self._callback_list()
        self.stop_training = False
        cbs.on_train_begin({})
        while self.epoch < epochs and not self.stop_training:
            epoch = self.epoch
            logs = self._train_epoch(loader, cbs, epoch)
            if val_loader is not None:
                for k, v in evaluate(self.model, self.loss_fn, val_loader, metrics=self.metrics).items():
                    logs[f"val_{k}"] = v
            logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
            self._step_scheduler(logs)
            cbs.on_epoch_end(epoch, logs)
            self.epoch += 1
        cbs.on_train_end({})
        return self.history

    def _callback_list(self) -> CallbackList:
        # callbacks that add entries to the epoch logs run first, then the history records the logs,
        # then the callbacks that act on them (checkpoints, early stopping, CSV, progress bar)
        producers = [c for c in self.user_callbacks if getattr(c, "produces_logs", False)]
        consumers = [c for c in self.user_callbacks if not getattr(c, "produces_logs", False)]
        callbacks = producers + [_HistoryCallback()] + consumers
        if self.progress:
            callbacks.append(ProgressBar())
        cbs = CallbackList(callbacks)
        cbs.set_trainer(self)
        return cbs

    def _train_epoch(self, loader, cbs: CallbackList, epoch: int) -> dict:
        """One pass over the training data; returns the epoch's logs (running loss and metrics)."""
        self.model.train()
        self._running = {"n": 0}
        logs: dict = {}
        cbs.on_epoch_begin(epoch, logs)
        for b, batch in enumerate(loader):
            self._train_batch(b, batch, cbs)
            if self.stop_training:
                break
        logs.update(self.running_logs())
        return logs

    def _train_batch(self, b: int, batch, cbs: CallbackList) -> None:
        x, y = _split_batch(batch)
        cbs.on_batch_begin(b, {})
        out, loss = self._train_step(x, y)
        cbs.on_backward_end(b, {})
        if self.grad_clip is not None:
            clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        lv = float(loss.item())
        self.history.batch_losses.append(lv)
        n = len(y)
        self._running["n"] += n
        self._running["loss"] = self._running.get("loss", 0.0) + lv * n
        for name, fn in self.metrics:
            self._running[name] = self._running.get(name, 0.0) + fn(out, y) * n
        cbs.on_batch_end(b, {"loss": lv, "size": n})

    def _step_scheduler(self, logs: dict) -> None:
        """Once per epoch; ReduceLROnPlateau gets the validation loss (the training loss without validation)."""
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs.get("loss")))
        else:
            self.scheduler.step()


def fit(model, loss, optimizer, train, val=None, epochs: int = 1, batch_size: int = 32, metrics=("accuracy",),
        callbacks=(), scheduler=None, seed: int | None = None, shuffle: bool = True, progress: bool = True,
        grad_clip: float | None = None) -> History:
    """Train ``model`` and return its ``History`` (Keras's ``fit`` for a PyTorch-style model).

    ``train`` / ``val``: a Dataset, a DataLoader, or an (inputs, targets) pair of arrays/tensors.
    ``metrics``: 'accuracy' or functions (output, target) -> float. ``scheduler`` is stepped once per
    epoch (ReduceLROnPlateau with the validation loss). ``seed`` fixes the data order."""
    trainer = Trainer(model, loss, optimizer, scheduler=scheduler, metrics=metrics, callbacks=callbacks, seed=seed,
                      progress=progress, grad_clip=grad_clip)
    return trainer.fit(train, val, epochs=epochs, batch_size=batch_size, shuffle=shuffle)


def _sums(model, loss_fn, loader, metrics) -> tuple[dict, int]:
    """Loss and metrics summed over the batches (each weighted by its size), and the number of samples."""
    sums: dict = {}
    n = 0
    with no_grad():
        for batch in loader:
            x, y = _split_batch(batch)
            out = model(x)
            k = len(y)
            n += k
            if loss_fn is not None:
                sums["loss"] = sums.get("loss", 0.0) + float(loss_fn(out, y).item()) * k
            for name, fn in metrics:
                sums[name] = sums.get(name, 0.0) + fn(out, y) * k
    return sums, n


def evaluate(model, loss_fn, data, batch_size: int = 256, metrics=("accuracy",)) -> dict:
    """Mean loss and metrics over ``data`` in eval mode, without building a graph."""
    metrics = [m if isinstance(m, tuple) else _metric_fn(m) for m in (metrics or ())]
    data = _as_dataset(data, "data")
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=batch_size)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        sums, n = _sums(model, loss_fn, loader, metrics)
    finally:
        model.train(was_training)
    return {k: v / n for k, v in sums.items()} if n else {k: math.nan for k in sums}


def predict(model, data, batch_size: int = 256) -> Tensor:
    """Model outputs for every input in ``data`` (a Dataset of (x, y) pairs, a DataLoader, or an array
    / tensor of inputs), concatenated, in eval mode and without a graph. Zero inputs in an array / tensor
    give the model's output for a batch of none, e.g. shape (0, classes)."""
    inputs = None
    if isinstance(data, (np.ndarray, Tensor)):
        inputs = data if isinstance(data, Tensor) else as_tensor(data)
        data = TensorDataset(inputs)
    data = _as_dataset(data, "data")
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=batch_size)
    was_training = getattr(model, "training", False)
    model.eval()
    outs = []
    try:
        with no_grad():
            for batch in loader:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                outs.append(model(x)._data)
            if not outs and inputs is not None:
                outs.append(model(inputs[:0])._data)
    finally:
        model.train(was_training)
    return Tensor._make(np.concatenate(outs) if outs else np.zeros((0,)))
