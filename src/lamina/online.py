"""Online learning: learn from a stream, one example (or a small batch) at a time.

    repeat forever:
        get (x, y)            # e.g. a search, a purchase on a website
        update θ with it      # one gradient step; the example is then thrown away

It adapts when the relation drifts (user preferences change).  Progress is judged by
progressive validation: the loss of each example is computed *before* the update that
uses it (an honest estimate), averaged over the last ``window`` steps.

``OnlineTrainer(model, loss_fn, optimizer, window=100)`` works for any model — anything
callable whose parameters the optimizer holds (a ``lamina.nn.Module`` or a plain
function closing over tensors):

    trainer = OnlineTrainer(model, lamina.nn.MSELoss(), lamina.optim.SGD(model.parameters(), lr=0.01))
    trainer.fit_stream(pairs)           # pairs: any iterable of (x, y)
    trainer.running_loss                # mean pre-update loss over the last `window` steps

``stream(X, y, epochs=1, shuffle=False, seed=None)`` turns arrays into such a stream.
The classical models have their own ``partial_fit`` (``lamina.models.LinearRegression``:
recursive least squares; ``LogisticRegression``: SGD steps).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .tensor import Tensor, as_tensor

__all__ = ["OnlineTrainer", "stream"]


def _tensor(v) -> Tensor:
    if isinstance(v, Tensor):
        return v
    return as_tensor(np.asarray(v))


def _array(v) -> np.ndarray:
    return v._data if isinstance(v, Tensor) else np.asarray(v)


def _batches(pairs: Iterable, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stack each ``batch_size`` consecutive ``(x, y)`` pairs; the last batch may be smaller."""
    xs, ys = [], []
    for x, y in pairs:
        xs.append(_array(x))
        ys.append(_array(y))
        if len(xs) == batch_size:
            yield np.stack(xs), np.stack(ys)
            xs, ys = [], []
    if xs:
        yield np.stack(xs), np.stack(ys)


class OnlineTrainer:
    """``partial_fit(x, y)`` = one optimizer step on (x, y); ``fit_stream(pairs)`` runs a stream."""

    def __init__(self, model: Callable, loss_fn: Callable, optimizer, window: int = 100):
        if not callable(model):
            raise TypeError(f"OnlineTrainer: model must be callable (a Module or a function), "
                            f"got {type(model).__name__}")
        if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
            raise TypeError(f"OnlineTrainer: optimizer must have step() and zero_grad(), "
                            f"got {type(optimizer).__name__}")
        if window < 1:
            raise ValueError(f"OnlineTrainer: window must be >= 1, got {window}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.losses: list[float] = []
        self._recent: deque = deque(maxlen=int(window))
        self.steps = 0

    def partial_fit(self, x, y) -> float:
        """One update on the batch (x, y) as given (add the batch dimension yourself for a single
        sample, or use ``fit_stream``).  Returns the loss measured before the update."""
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(_tensor(x)), _tensor(y))
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            raise RuntimeError(f"OnlineTrainer.partial_fit: loss_fn must return a scalar tensor, got "
                               f"{tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__}")
        loss.backward()
        self.optimizer.step()
        value = float(loss.item())
        self.losses.append(value)
        self._recent.append(value)
        self.steps += 1
        return value

    def fit_stream(self, pairs: Iterable, batch_size: int = 1, max_steps: int | None = None,
                   callback: Callable | None = None) -> OnlineTrainer:
        """Consume ``(x, y)`` pairs (single samples), stacking ``batch_size`` of them per update.
        ``callback(trainer)`` runs after every full batch's update; returning True stops the stream, as do
        ``max_steps`` full batches. A last, smaller batch is still learned from."""
        if batch_size < 1:
            raise ValueError(f"OnlineTrainer.fit_stream: batch_size must be >= 1, got {batch_size}")
        for done, (xb, yb) in enumerate(_batches(pairs, batch_size), 1):
            self.partial_fit(xb, yb)
            if len(xb) < batch_size or (callback is not None and callback(self)):
                break
            if max_steps is not None and done >= max_steps:
                break
        return self

    @property
    def running_loss(self) -> float:
        """Mean pre-update loss over the last ``window`` steps (NaN before the first step)."""
        return float(np.mean(self._recent)) if self._recent else float("nan")


def stream(X, y, epochs: int = 1, shuffle: bool = False, seed: int | None = None) -> Iterator[tuple]:
    """Yield ``(X[i], y[i])`` pairs, ``epochs`` times over (reshuffled each time if ``shuffle``)."""
    xa, ya = _array(X), _array(y)
    if len(xa) != len(ya):
        raise ValueError(f"stream: X has {len(xa)} rows but y has {len(ya)}")
    rng = np.random.default_rng(seed)
    for _ in range(int(epochs)):
        order = rng.permutation(len(xa)) if shuffle else range(len(xa))
        for i in order:
            yield xa[i], ya[i]
