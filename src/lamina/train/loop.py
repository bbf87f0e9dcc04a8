"""``fit``, ``evaluate`` and ``predict``: the PyTorch training loop, written once.

    for epoch in range(epochs):
        for x, y in batches:                 # shuffled with the run's seed
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(); loss.backward(); optimizer.step()
        validate; scheduler.step(); callbacks.on_epoch_end(epoch, logs); callbacks.on_checkpoint(epoch, logs)

``Trainer`` holds the run's state (model, optimizer, scheduler, history, the data order's
generator, every callback's state and whether training stopped), so a checkpoint can capture all
of it and a resumed run continues bit for bit.  Checkpoints are written in ``on_checkpoint``, after
every callback has handled the epoch, so the state they hold is the whole state after that epoch.

Metrics follow the task that the loss names (``metrics='auto'``, the default): accuracy for a
classification loss (cross-entropy, NLL, hinge, BCE with logits: scores read at 0; BCE on
probabilities: at 0.5), the mean absolute error ``mae = mean |ŷ − y|`` for a regression loss (MSE,
L1, Huber, smooth L1), none for a loss lamina does not know.
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
from .checkpoint import load_checkpoint
from .history import History


def _as_dataset(data, what):
    if data is None or isinstance(data, (Dataset, DataLoader)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return TensorDataset(*(d if isinstance(d, Tensor) else as_tensor(np.asarray(d)) for d in data))
    raise TypeError(f"fit: {what} must be a Dataset, a DataLoader or an (inputs, targets) pair, "
                    f"got {type(data).__name__}")


_CLASSIFICATION = {"CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "HingeLoss", "MultiLabelSoftMarginLoss",
                   "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "hinge_loss",
                   "multilabel_soft_margin_loss"}
_PROBABILITIES = {"BCELoss", "binary_cross_entropy"}        # scores are probabilities: positive above 0.5
_REGRESSION = {"MSELoss", "HalfMSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "mse_loss", "half_mse_loss",
               "l1_loss", "huber_loss", "smooth_l1_loss"}


def _loss_name(loss_fn) -> str:
    if loss_fn is None:
        return ""
    return loss_fn.__name__ if hasattr(loss_fn, "__name__") else type(loss_fn).__name__


def task_of(loss_fn) -> str | None:
    """'classification', 'regression' or None (a loss lamina does not know)."""
    name = _loss_name(loss_fn)
    if name in _CLASSIFICATION or name in _PROBABILITIES:
        return "classification"
    if name in _REGRESSION:
        return "regression"
    return None


def mean_absolute_error(out, y) -> float:
    """mae = mean |ŷ − y| (a target with the output's number of values takes the output's shape)."""
    o = out._data if isinstance(out, Tensor) else np.asarray(out)
    t = y._data if isinstance(y, Tensor) else np.asarray(y)
    if o.shape != t.shape and o.size == t.size:
        t = t.reshape(o.shape)
    return float(np.abs(o - t).mean())


def _metric_fn(m, loss_fn=None):
    if callable(m):
        return getattr(m, "__name__", "metric"), m
    name = _loss_name(loss_fn)
    if m in ("accuracy", "acc"):
        if task_of(loss_fn) == "regression":
            raise ValueError(f"fit: metric 'accuracy' needs a classification loss; {name} is a regression loss "
                             "(use 'mae', or metrics='auto')")
        threshold = 0.5 if name in _PROBABILITIES else 0.0
        return "accuracy", lambda out, y: float(accuracy(out, y, threshold=threshold).item())
    if m in ("mae", "mean_absolute_error"):
        return "mae", mean_absolute_error
    raise ValueError(f"fit: unknown metric {m!r}; use 'accuracy', 'mae', 'auto' or a function (output, target) "
                     "-> float")


def _metric_fns(metrics, loss_fn) -> list:
    """(name, fn) pairs: ``'auto'`` is accuracy for a classification loss, mae for a regression loss, else none."""
    if isinstance(metrics, str) and metrics == "auto":
        task = task_of(loss_fn)
        metrics = ("accuracy",) if task == "classification" else ("mae",) if task == "regression" else ()
    elif isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    return [m if isinstance(m, tuple) else _metric_fn(m, loss_fn) for m in (metrics or ())]


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch
    raise TypeError("fit: each batch must be an (inputs, targets) pair")


class Trainer:
    """The state of one training run; ``fit`` is ``Trainer(...).fit(...)``."""

    def __init__(self, model, loss_fn, optimizer, scheduler=None, metrics="auto", callbacks=(),
                 seed: int | None = None, progress: bool = True, grad_clip: float | None = None):
        self.model, self.loss_fn, self.optimizer, self.scheduler = model, loss_fn, optimizer, scheduler
        self.metrics = _metric_fns(metrics, loss_fn)
        self.user_callbacks = list(callbacks or ())
        self.progress = progress
        self.grad_clip = grad_clip
        self.history = History()
        self.stop_training = False
        self._stopped = False       # a loaded checkpoint says training had stopped (early stopping, NaN)
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
            "callbacks": [{"type": type(c).__name__, "state": c.state_dict()} for c in self.user_callbacks],
            "stop_training": bool(self.stop_training),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"]["global"])
        self.generator.set_state(state["rng"]["data"])
        self.history.load_state_dict(state["history"])
        self._load_callbacks(list(state.get("callbacks", [])))
        self._stopped = bool(state.get("stop_training", False))
        self.epoch = int(state["epoch"]) + 1

    def _load_callbacks(self, saved: list) -> None:
        """Each callback gets the saved state of the next callback of its type (in order); a callback the
        checkpoint has no state for keeps its own (a resumed run may add or drop, say, a checkpointer)."""
        by_type: dict[str, list] = {}
        legacy = []                                 # states saved without their type: matched by position
        for s in saved:
            if isinstance(s, dict) and set(s) == {"type", "state"}:
                by_type.setdefault(s["type"], []).append(s["state"])
            else:
                legacy.append(s)
        for i, c in enumerate(self.user_callbacks):
            states = by_type.get(type(c).__name__)
            if states:
                c.load_state_dict(states.pop(0))
            elif i < len(legacy):
                c.load_state_dict(legacy[i])

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
        self.stop_training, self._stopped = self._stopped, False    # a resumed run that had stopped stays so
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
            cbs.on_checkpoint(epoch, logs)
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


def fit(model, loss, optimizer, train, val=None, epochs: int = 1, batch_size: int = 32, metrics="auto",
        callbacks=(), scheduler=None, seed: int | None = None, shuffle: bool = True, progress: bool = True,
        grad_clip: float | None = None, resume: str | None = None) -> History:
    """Train ``model`` and return its ``History`` (Keras's ``fit`` for a PyTorch-style model).

    ``train`` / ``val``: a Dataset, a DataLoader, or an (inputs, targets) pair of arrays/tensors.
    ``metrics``: 'auto' (accuracy for a classification loss, mae for a regression loss), 'accuracy', 'mae'
    or functions (output, target) -> float. ``scheduler`` is stepped once per epoch (ReduceLROnPlateau with
    the validation loss). ``seed`` fixes the data order. ``resume``: a checkpoint written by
    ``ModelCheckpoint`` (same model, optimizer, scheduler and callbacks); training continues after its
    epoch, bit for bit as if it had never stopped."""
    trainer = Trainer(model, loss, optimizer, scheduler=scheduler, metrics=metrics, callbacks=callbacks, seed=seed,
                      progress=progress, grad_clip=grad_clip)
    if resume is not None:
        trainer.load_state_dict(load_checkpoint(resume))
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


def evaluate(model, loss_fn, data, batch_size: int = 256, metrics="auto") -> dict:
    """Mean loss and metrics over ``data`` in eval mode, without building a graph (``metrics`` as in ``fit``)."""
    metrics = _metric_fns(metrics, loss_fn)
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
