"""Skip-gram and CBOW training batches.

Both walk a cursor over the corpus ``data`` (word indices) like the word2vec tutorial's
``generate_batch``. A *centre* (target) word needs a full window, so the
centres are ``data[w], data[w+1], ..., data[n-1-w]`` (``w`` = window radius); after the last
one the cursor wraps to ``data[w]`` again. Consecutive batches continue where the previous one
stopped. Each batch is built with array operations (fancy indexing of windows; ``argsort`` of
random keys to draw distinct context words), never a Python loop per word.

The tutorial's example, data = "anarchism originated as a term of abuse first", batch_size 8::

    skip-gram, num_skips=2, skip_window=1: batch  originated originated as as a a term term
                                           labels as anarchism a originated as term of a
    CBOW, R=1: batch[0] = [anarchism, as], label originated; batch[1] = [originated, a], label as ...
"""
from __future__ import annotations

import numpy as np

from ._util import as_index_array, check_int, make_rng


class _WindowBatches:
    """An endless iterator of batches over the centres of ``data`` that have a full window."""

    _op = "batches"

    def __init__(self, data, batch_size: int, window: int, window_name: str):
        op = self._op
        self.batch_size = check_int(batch_size, "batch_size", op)
        self._window = check_int(window, window_name, op)
        self.data = as_index_array(data, op)
        span = 2 * self._window + 1
        if self.data.size < span:
            raise ValueError(
                f"{op}: data has {self.data.size} words, fewer than one window of "
                f"2*{window_name}+1 = {span} words"
            )
        self._num_centres = self.data.size - 2 * self._window
        # offsets of the context words around a centre: -w..-1, 1..w (before, then after)
        self._offsets = np.concatenate([np.arange(-self._window, 0), np.arange(1, self._window + 1)])
        self.position = 0  # number of centre words used so far, over all epochs

    @property
    def cursor(self) -> int:
        """Index in ``data`` of the next centre word."""
        return self._window + self.position % self._num_centres

    @property
    def epoch(self) -> int:
        """How many times the cursor has wrapped around the data."""
        return self.position // self._num_centres

    @property
    def centres_per_epoch(self) -> int:
        return self._num_centres

    def reset(self) -> None:
        """Move the cursor back to the first centre word."""
        self.position = 0

    def _take_centres(self, n: int) -> np.ndarray:
        """Positions in ``data`` of the next ``n`` centre words (wrapping around), advancing the cursor."""
        k = self.position + np.arange(n, dtype=np.int64)
        self.position += n
        return self._window + k % self._num_centres

    def __iter__(self):
        return self


class SkipGramBatches(_WindowBatches):
    """Skip-gram batches: ``(batch, labels)`` with shapes ``(batch_size,)`` and ``(batch_size, 1)``.

    Each centre word fills ``num_skips`` consecutive rows of ``batch``; its ``num_skips`` labels
    are distinct context words drawn uniformly at random from ``data[i-skip_window : i+skip_window+1]``
    minus the centre. A batch holds ``batch_size // num_skips`` consecutive centres.
    """

    _op = "skipgram_batches"

    def __init__(self, data, batch_size: int, num_skips: int, skip_window: int, seed=None):
        super().__init__(data, batch_size, skip_window, "skip_window")
        op = self._op
        self.num_skips = check_int(num_skips, "num_skips", op)
        self.skip_window = self._window
        if self.batch_size % self.num_skips:
            raise ValueError(
                f"{op}: batch_size ({self.batch_size}) must be a multiple of num_skips ({self.num_skips})"
            )
        if self.num_skips > 2 * self.skip_window:
            raise ValueError(
                f"{op}: num_skips ({self.num_skips}) must be <= 2*skip_window ({2 * self.skip_window}): "
                "a centre word has only that many distinct context words"
            )
        self._rng = make_rng(seed, op)

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.batch_size // self.num_skips
        centres = self._take_centres(n)
        # num_skips distinct context slots per centre: the first columns of a random permutation
        keys = self._rng.random((n, self._offsets.size))
        slots = np.argsort(keys, axis=1)[:, : self.num_skips]
        context = centres[:, None] + self._offsets[slots]  # (n, num_skips) positions in data
        batch = np.repeat(self.data[centres], self.num_skips)
        labels = self.data[context].reshape(self.batch_size, 1)
        return batch, labels

    def __repr__(self) -> str:
        return (
            f"SkipGramBatches(words={self.data.size}, batch_size={self.batch_size}, "
            f"num_skips={self.num_skips}, skip_window={self.skip_window}, cursor={self.cursor})"
        )


class CBOWBatches(_WindowBatches):
    """CBOW batches: ``(batch, labels)`` with shapes ``(batch_size, 2R)`` and ``(batch_size, 1)``.

    Row ``j`` of ``batch`` is the context of the target ``labels[j]``: the ``R`` words before it
    then the ``R`` words after it, in corpus order. Consecutive rows are consecutive targets.
    """

    _op = "cbow_batches"

    def __init__(self, data, batch_size: int, R: int):
        super().__init__(data, batch_size, R, "R")
        self.R = self._window

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        centres = self._take_centres(self.batch_size)
        batch = self.data[centres[:, None] + self._offsets]  # (batch_size, 2R)
        labels = self.data[centres].reshape(self.batch_size, 1)
        return batch, labels

    def __repr__(self) -> str:
        return f"CBOWBatches(words={self.data.size}, batch_size={self.batch_size}, R={self.R}, cursor={self.cursor})"


def skipgram_batches(data, batch_size: int, num_skips: int, skip_window: int, seed=None) -> SkipGramBatches:
    """An endless iterator of skip-gram ``(batch, labels)`` pairs over ``data`` (see :class:`SkipGramBatches`).

    ``batch_size`` must be a multiple of ``num_skips`` and ``num_skips <= 2*skip_window``.
    ``seed`` (int, ``numpy.random.Generator`` or ``None`` for lamina's global generator) drives
    the choice of context words.
    """
    return SkipGramBatches(data, batch_size, num_skips, skip_window, seed)


def cbow_batches(data, batch_size: int, R: int) -> CBOWBatches:
    """An endless iterator of CBOW ``(context, labels)`` pairs with ``2R`` context words (see :class:`CBOWBatches`)."""
    return CBOWBatches(data, batch_size, R)
