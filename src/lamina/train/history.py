"""``History``: what ``fit`` returns — the logs of every epoch, and curves drawn from them."""
from __future__ import annotations

import csv
import io
import math

from .._atomic import atomic_write
from .plots import plot_history


class History:
    """Per-epoch logs (``history.history['loss']`` is the list of train losses, as in Keras)
    plus per-batch losses (``history.batch_losses``)."""

    def __init__(self):
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}
        self.batch_losses: list[float] = []

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        n = len(self.epoch)
        for k, v in logs.items():
            col = self.history.setdefault(k, [math.nan] * (n - 1))
            col.append(float(v) if isinstance(v, (int, float)) else v)
        for col in self.history.values():
            if len(col) < n:
                col.append(math.nan)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def last(self, key, default=None):
        col = self.history.get(key)
        return col[-1] if col else default

    def state_dict(self) -> dict:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
                "batch_losses": list(self.batch_losses)}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = list(state["epoch"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.batch_losses = list(state.get("batch_losses", []))

    def to_csv(self, path: str) -> str:
        """Write one row per epoch (written atomically)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        keys = list(self.history)
        w.writerow(["epoch"] + keys)
        for i, e in enumerate(self.epoch):
            w.writerow([e] + [self.history[k][i] for k in keys])
        atomic_write(path, buf.getvalue().encode())
        return path

    def plot(self, path: str | None = None, title: str | None = None):
        """Loss and metric curves, train and validation side by side; saved as PNG or SVG by ``path``'s
        extension. Returns the matplotlib figure."""
        return plot_history(self, path, title)

    def __repr__(self):
        last = {k: v[-1] for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"
