"""The training loop of ``Word2Vec.fit`` (see ``word2vec.py``).

Per epoch: subsample the corpus (each occurrence of word w kept with probability √(t/f_w) + t/f_w),
walk it with the skip-gram or CBOW batch generator of ``lamina.text``, draw the negatives, and take one SGD step per batch on the
summed loss — forward and backward through the fused negative-sampling op, row-sparse gradients,
``optim.SGD``.  The learning rate falls linearly from ``lr`` (first word) to ``min_lr`` (last word
of the last epoch).  Everything per batch is whole-array NumPy: no Python loop over words.

A batch differs from word2vec's one-pair-at-a-time SGD in one way that matters: a word met n times
in the batch gets n gradients computed with the same, stale, vectors and applied at once — for the
most frequent words (n in the hundreds as negatives) that step overshoots, and the vectors blow up
(GCIDE, 4096 pairs per batch: mean overlap@10 with gensim 0.29 instead of 0.60). Sequential SGD
instead saturates (σ(u·v) → 0 after a few steps). ``row_cap`` bounds it: the summed gradient of a
row seen n > row_cap times is scaled by row_cap / n (the update of ``row_cap`` examples, in their
mean direction). With 32 the rare and middle words keep the exact gradient and quality matches
the unbatched updates (overlap 0.59-0.60 at 1024-4096 pairs per batch).
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from .. import optim
from ..sparse import RowSparseGrad
from ..text import (
    NegativeSampler,
    Vocabulary,
    cbow_batches,
    keep_probabilities,
    skipgram_batches,
)
from ..text._util import as_index_array, check_int, make_rng
from .word2vec_batches import WeightedSkipGramBatches

_OP = "Word2Vec.fit"


class _Run:
    """What callbacks see as ``self.trainer``: the model, the optimizer, the history, ``stop_training``."""

    def __init__(self, model, optimizer, epochs):
        self.model, self.optimizer, self.epochs = model, optimizer, epochs
        self.history = {"loss": [], "words_per_sec": [], "lr": []}
        self.stop_training = False


def _call(callbacks, hook, *args):
    for c in callbacks:
        f = getattr(c, hook, None)
        if f is not None:
            f(*args)


def _check_float(value, name, lo=0.0):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value < lo:
        raise ValueError(f"{_OP}: {name} must be a finite number >= {lo}, got {value!r}")
    return float(value)


def _prepare(model, corpus, vocab):
    """Word ids to train on (UNK removed), the count of every word, and the corpus length."""
    ids = as_index_array(corpus, _OP, "corpus")
    n_corpus = ids.size
    V = model.vocab_size
    if ids.size and int(ids.max()) >= V:
        raise ValueError(f"{_OP}: corpus holds word id {int(ids.max())} but the model has vocab_size {V}")
    if vocab is None:
        counts = np.bincount(ids, minlength=V).astype(np.float64)
        model.words, model._unk_rows = None, 0
    else:
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"{_OP}: vocab must be a lamina.text.Vocabulary, got {type(vocab).__name__}")
        if len(vocab) != V:
            raise ValueError(f"{_OP}: the vocabulary has {len(vocab)} words but the model has vocab_size {V}")
        counts = vocab.counts.astype(np.float64)
        counts[vocab.unk_index] = 0  # out-of-vocabulary words are dropped, never sampled
        ids = ids[ids != vocab.unk_index]
        model.words, model._unk_rows = vocab.words, 1
    model.counts = counts.astype(np.int64)
    return ids, counts, n_corpus


class _Examples:
    """Turns (batch, labels) of the batch generators into (inputs, targets) of the loss, and draws the negatives."""

    def __init__(self, model, num_skips, sampler):
        self.model, self.num_skips, self.sampler = model, num_skips, sampler

    def __call__(self, batch, labels, centres: int):
        m, s = self.model, self.num_skips
        if m.mode == "cbow":
            inputs, positive = batch[:centres], labels[:centres, 0]
        elif m.shared_negatives or m.loss_type == "softmax":
            inputs, positive = labels[: centres * s].reshape(centres, s), batch[: centres * s: s]
        else:
            inputs, positive = labels[: centres * s], batch[: centres * s]
        if m.loss_type == "softmax":
            return inputs, positive
        targets = np.empty((positive.size, 1 + m.negative), dtype=np.int64)
        targets[:, 0] = positive
        targets[:, 1:] = self.sampler.sample((positive.size, m.negative))
        return inputs, targets


def _cap_rows(param, cap: float) -> None:
    """The gradient of a word seen n > ``cap`` times in the batch scaled by cap / n: each of its n entries in
    ``param.grad`` scaled alike (the gradient stays uncoalesced, and factored if it was)."""
    grad = param.grad
    if grad.__class__ is not RowSparseGrad:
        return
    seen = np.bincount(grad.indices)[grad.indices]  # per entry: how often its row occurs in the batch
    over = seen > cap
    if not over.any():
        return
    param.grad = grad.scaled(np.where(over, cap / np.maximum(seen, 1), 1.0).astype(grad.dtype))


class _Settings(NamedTuple):
    """fit's checked arguments; a batch holds ``rows`` (context word, centre) pairs of ``centres_per_batch`` centres."""

    epochs: int
    window: int
    num_skips: int
    lr: float
    min_lr: float
    sample: float
    context: str
    skipgram: bool
    centres_per_batch: int
    rows: int


def _settings(model, epochs, batch_size, window, num_skips, lr, min_lr, sample, context) -> _Settings:
    epochs = check_int(epochs, "epochs", _OP)
    if batch_size is None:  # the full softmax updates every output row at every step: smaller steps stay stable
        batch_size = 2048 if model.loss_type == "negative_sampling" else 128
    batch_size = check_int(batch_size, "batch_size", _OP)
    window = check_int(window, "window", _OP)
    lr, min_lr, sample = _check_float(lr, "lr"), _check_float(min_lr, "min_lr"), _check_float(sample, "sample")
    if min_lr > lr:
        raise ValueError(f"{_OP}: min_lr ({min_lr}) must be <= lr ({lr})")
    skipgram = model.mode == "skipgram"
    num_skips = _num_skips(num_skips, window, context, skipgram)
    per_centre = num_skips if skipgram else 2 * window  # batch_size counts (context word, centre) pairs
    centres_per_batch = max(1, batch_size // per_centre)
    return _Settings(epochs, window, num_skips, lr, min_lr, sample, context, skipgram, centres_per_batch,
                     centres_per_batch * per_centre)


def _num_skips(num_skips, window: int, context, skipgram: bool) -> int:
    """Context words per centre (default window + 1), checked against the window and the ``context`` rule."""
    num_skips = check_int(num_skips, "num_skips", _OP) if num_skips is not None else min(window + 1, 2 * window)
    if skipgram and num_skips > 2 * window:
        raise ValueError(f"{_OP}: num_skips ({num_skips}) must be <= 2*window ({2 * window})")
    if context not in ("distance", "uniform"):
        raise ValueError(f"{_OP}: context must be 'distance' or 'uniform', got {context!r}")
    if skipgram and context == "distance" and num_skips > window + 1:
        raise ValueError(f"{_OP}: context='distance' needs num_skips <= window + 1 ({window + 1}), got {num_skips}; "
                         "use context='uniform' for more context words per centre")
    return num_skips


def _check_corpus(ids: np.ndarray, counts: np.ndarray, window: int) -> None:
    if ids.size < 2 * window + 1:
        raise ValueError(f"{_OP}: the corpus has {ids.size} in-vocabulary words, fewer than one window of "
                         f"2*window+1 = {2 * window + 1}")
    if not counts.any():
        raise ValueError(f"{_OP}: every word of the corpus is UNK; nothing to train on")


def _sampler(model, counts: np.ndarray, rng):
    """The negative sampler (None for the full softmax), with a table of ~200 slots per word: one random
    slot per draw (5x faster than a binary search)."""
    if model.loss_type != "negative_sampling":
        return None
    table = int(min(10_000_000, max(100_000, 200 * counts.size)))
    return NegativeSampler(counts, seed=rng, table_size=table)


def _optimizer(model, cfg: _Settings):
    # CBOW: word2vec.c and gensim move each of the 2R context words by the whole gradient of their mean h,
    # i.e. 2R times the gradient of the mean; the same update is SGD with a 2R times larger rate on W_in.
    in_scale = 1.0 if cfg.skipgram else 2.0 * cfg.window
    return optim.SGD([{"params": [model.in_embed.weight], "scale": in_scale},
                      {"params": [model.out_embed.weight], "scale": 1.0}], lr=cfg.lr)


def _attach(callbacks, run: _Run) -> None:
    for c in callbacks:
        if hasattr(c, "set_trainer"):
            c.set_trainer(run)
        else:
            c.trainer = run


class _Loop:
    """One run of fit: the batches of each epoch, one SGD step per batch, the learning-rate schedule
    (linear in the corpus words done, UNK included), the progress bar and the callbacks."""

    def __init__(self, model, cfg: _Settings, ids, counts, n_corpus: int, rng, row_cap, callbacks):
        self.model, self.cfg, self.ids, self.n_corpus, self.rng = model, cfg, ids, n_corpus, rng
        self.row_cap, self.callbacks = row_cap, callbacks
        self.keep = keep_probabilities(counts, cfg.sample)
        self.examples = _Examples(model, cfg.num_skips, _sampler(model, counts, rng))
        self.opt = _optimizer(model, cfg)
        self.run = _Run(model, self.opt, cfg.epochs)
        self.total, self.done, self.shown, self.rate = float(cfg.epochs * n_corpus), 0.0, 0, cfg.lr
        self.bar = None

    def train(self, progress: bool) -> dict:
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.cfg.epochs * self.n_corpus, unit="word", unit_scale=True, desc="word2vec",
                            dynamic_ncols=True)
        _call(self.callbacks, "on_train_begin", {})
        try:
            for epoch in range(self.cfg.epochs):
                self._epoch(epoch)
                if self.run.stop_training:
                    break
        finally:
            if self.bar is not None:
                self.bar.close()
            self.model._wv = None
        _call(self.callbacks, "on_train_end", dict(self.run.history))
        return self.run.history

    def _batches(self):
        """This epoch's batch generator over the corpus subsampled anew (each word kept with ``keep``)."""
        cfg, ids = self.cfg, self.ids
        data = ids[self.rng.random(ids.size) < self.keep[ids]]
        if data.size < 2 * cfg.window + 1:  # a tiny corpus subsampled away: train on all of it
            data = ids
        if not cfg.skipgram:
            return cbow_batches(data, cfg.rows, cfg.window)
        batches = WeightedSkipGramBatches if cfg.context == "distance" else skipgram_batches
        return batches(data, cfg.rows, cfg.num_skips, cfg.window, seed=self.rng)

    def _epoch(self, epoch: int) -> None:
        _call(self.callbacks, "on_epoch_begin", epoch, {})
        self.end_epoch(epoch, *self.run_epoch(epoch))

    def run_epoch(self, epoch: int) -> tuple[float, int, float, float]:
        """The batches of one epoch: (summed loss, examples scored, corpus words done, seconds)."""
        t0, loss_sum, n_examples, epoch_words = time.perf_counter(), 0.0, 0, 0.0
        gen = self._batches()
        left = gen.centres_per_epoch
        words_per_centre = self.n_corpus / left
        step = 0
        while left > 0 and not self.run.stop_training:
            batch, labels = next(gen)
            centres = min(self.cfg.centres_per_batch, left)
            left -= centres
            value, scored = self._step(batch, labels, centres, epoch, step)
            loss_sum, n_examples = loss_sum + value, n_examples + scored
            words = centres * words_per_centre
            self.advance(words)
            epoch_words += words
            self._show(step, loss_sum, n_examples)
            _call(self.callbacks, "on_batch_end", step, {"loss": value / scored, "lr": self.rate})
            step += 1
        return loss_sum, n_examples, epoch_words, time.perf_counter() - t0

    def end_epoch(self, epoch: int, loss_sum: float, n_examples: int, epoch_words: float, seconds: float) -> None:
        """The epoch's logs (mean loss per example, words/s, lr): into the history, the bar and the callbacks."""
        logs = {"loss": loss_sum / max(n_examples, 1), "words_per_sec": epoch_words / max(seconds, 1e-9),
                "lr": self.rate}
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{logs['loss']:.4f}", lr=f"{self.rate:.2e}", refresh=False)
        for k, v in logs.items():
            self.run.history[k].append(v)
        _call(self.callbacks, "on_epoch_end", epoch, logs)

    def advance(self, words: float) -> None:
        """Count ``words`` corpus words as done (they set the learning rate)."""
        self.done += words

    def fraction_done(self) -> float:
        """The part of the whole run done so far, 0 to 1."""
        return self.done / self.total

    def _step(self, batch, labels, centres: int, epoch: int, step: int) -> tuple[float, int]:
        """One SGD step on the batch's summed loss; returns the loss and the number of (input, target) examples."""
        cfg, model, opt = self.cfg, self.model, self.opt
        inputs, targets = self.examples(batch, labels, centres)
        self.rate = cfg.lr - (cfg.lr - cfg.min_lr) * self.fraction_done()
        for group in opt.param_groups:
            group["lr"] = self.rate * group["scale"]
        loss = model(inputs, targets)
        opt.zero_grad()
        loss.backward()
        if self.row_cap is not None:
            _cap_rows(model.in_embed.weight, self.row_cap)
            _cap_rows(model.out_embed.weight, self.row_cap)
        opt.step()
        value = float(loss._data)
        if not math.isfinite(value):
            raise FloatingPointError(f"{_OP}: the loss became {value} at epoch {epoch + 1}, batch {step + 1}; "
                                     f"lower lr (now {cfg.lr})")
        return value, (inputs.size if cfg.skipgram else len(inputs))

    def _show(self, step: int, loss_sum: float, n_examples: int) -> None:
        if self.bar is None:
            return
        now = min(round(self.done), self.cfg.epochs * self.n_corpus)
        self.bar.update(now - self.shown)
        self.shown = now
        if step % 20 == 0:
            self.bar.set_postfix(loss=f"{loss_sum / n_examples:.4f}", lr=f"{self.rate:.2e}", refresh=False)


class Prepared(NamedTuple):
    """fit's checked settings and data, before the training runs."""

    cfg: _Settings
    ids: np.ndarray
    counts: np.ndarray
    n_corpus: int
    rng: np.random.Generator
    workers: int


def prepare(model, corpus, vocab=None, *, epochs=5, batch_size=None, window=5, num_skips=None, lr=0.025,
            min_lr=1e-4, sample=1e-3, context="distance", seed=None, workers=1) -> Prepared:
    """Check fit's arguments and corpus (the errors of fit come from here)."""
    cfg = _settings(model, epochs, batch_size, window, num_skips, lr, min_lr, sample, context)
    workers = check_int(workers, "workers", _OP)
    if workers > 1 and not model.sparse:
        raise ValueError(f"{_OP}: workers > 1 needs sparse=True (each worker updates only its batch's rows)")
    ids, counts, n_corpus = _prepare(model, corpus, vocab)
    _check_corpus(ids, counts, cfg.window)
    return Prepared(cfg, ids, counts, n_corpus, make_rng(seed, _OP), workers)


def fit(model, prep: Prepared, row_cap=32, callbacks=(), progress=True) -> dict:
    """Train in this process (workers=1); returns the history."""
    loop = _Loop(model, prep.cfg, prep.ids, prep.counts, prep.n_corpus, prep.rng, row_cap, list(callbacks or ()))
    _attach(loop.callbacks, loop.run)
    return loop.train(progress)
