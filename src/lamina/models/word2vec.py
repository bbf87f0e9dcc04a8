"""``Word2Vec``: skip-gram and CBOW word embeddings (Mikolov et al. 2013).

Two (vocab, dim) matrices: W_in (the word vectors kept at the end, word2vec's init
uniform(−0.5/dim, 0.5/dim)) and W_out (zeros). The batch generators of ``lamina.text`` give the examples:

* skip-gram (``skipgram_batches``: each centre word with ``num_skips`` distinct context words of
  its window) — as in word2vec.c and gensim, the context word is the input and the centre word the
  target of each (centre, context) pair;
* CBOW (``cbow_batches``: the 2R words around a target) — the input is the mean of the 2R vectors.

Loss ``"negative_sampling"``: −log σ(u_o·v) − Σ_k log σ(−u_k·v) with k = ``negative`` words drawn
from the unigram^0.75 distribution (``lamina.text.NegativeSampler``), as one fused op
(``negative_sampling.py``); with ``shared_negatives`` (default) the context words of one centre
share its k negatives (Ji et al. 2016), 6x less memory traffic than a draw per pair.  Loss
``"softmax"``: full softmax over the vocabulary (cross-entropy of h·W_outᵀ), for small vocabularies.

``fit`` runs plain SGD through lamina's engine and ``optim.SGD`` on row-sparse gradients (a step
touches only the batch's rows), with subsampling of frequent words redrawn every epoch and a
learning rate decaying linearly from ``lr`` to ``min_lr`` over the run, as word2vec.c and gensim do.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..nn import functional as F
from ..ops.negative_sampling import negative_sampling_loss
from ..tensor import Tensor
from .keyed_vectors import KeyedVectors
from .word2vec_fit import fit, prepare
from .word2vec_workers import fit_in_workers

__all__ = ["KeyedVectors", "Word2Vec"]

_MODES = ("skipgram", "cbow")
_LOSSES = ("negative_sampling", "softmax")


class Word2Vec(nn.Module):
    """``Word2Vec(vocab_size, dim=100, mode="skipgram", negative=5, loss="negative_sampling", sparse=True)``.

    ``model(inputs, targets)`` is the summed loss of a batch: ``inputs`` (N, S) word ids of W_in (S
    context words for CBOW, S words sharing their targets for skip-gram); ``targets`` (N, 1 + negative)
    with the true word in column 0 and the negatives after it, or (N,) true words for ``loss="softmax"``.
    After ``fit``, ``model.wv`` holds the vectors (a :class:`KeyedVectors`).
    """

    def __init__(self, vocab_size: int, dim: int = 100, mode: str = "skipgram", negative: int = 5,
                 loss: str = "negative_sampling", sparse: bool = True, shared_negatives: bool = True, dtype=None):
        super().__init__()
        for name, v, lo in (("vocab_size", vocab_size, 2), ("dim", dim, 1), ("negative", negative, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"Word2Vec: {name} must be an int >= {lo}, got {v!r}")
        if mode not in _MODES:
            raise ValueError(f"Word2Vec: mode must be one of {_MODES}, got {mode!r}")
        if loss not in _LOSSES:
            raise ValueError(f"Word2Vec: loss must be one of {_LOSSES}, got {loss!r}")
        self.vocab_size, self.dim, self.mode, self.negative = int(vocab_size), int(dim), mode, int(negative)
        self.loss_type, self.sparse, self.shared_negatives = loss, bool(sparse), bool(shared_negatives)
        dtype = np.float32 if dtype is None else dtype
        self.in_embed = nn.Embedding(self.vocab_size, self.dim, sparse=self.sparse, dtype=dtype)
        self.out_embed = nn.Embedding(self.vocab_size, self.dim, sparse=self.sparse and loss == "negative_sampling",
                                      dtype=dtype)
        self.reset_parameters()
        self.words: list[str] | None = None
        self.counts: np.ndarray | None = None
        self._unk_rows = 0  # 1 when row 0 is a Vocabulary's UNK, left out of wv
        self._wv: KeyedVectors | None = None

    def reset_parameters(self) -> None:
        """word2vec's start: W_in ~ uniform(−0.5/dim, 0.5/dim), W_out = 0."""
        nn.init.uniform_(self.in_embed.weight, -0.5 / self.dim, 0.5 / self.dim)
        nn.init.zeros_(self.out_embed.weight)

    # ------------------------------------------------------------------ loss of a batch
    def forward(self, inputs, targets) -> Tensor:
        inputs = np.asarray(inputs._data if isinstance(inputs, Tensor) else inputs)
        targets = np.asarray(targets._data if isinstance(targets, Tensor) else targets)
        if inputs.ndim == 1:
            inputs = inputs[:, None]
        combine = "mean" if self.mode == "cbow" else "each"
        if self.loss_type == "negative_sampling":
            return negative_sampling_loss(self.in_embed.weight, self.out_embed.weight, inputs, targets, combine,
                                          sparse=self.sparse)
        targets = targets.reshape(-1)
        if targets.shape[0] != inputs.shape[0]:
            raise ValueError(f"Word2Vec: softmax targets must be one word per example ({inputs.shape[0]}), got "
                             f"shape {tuple(targets.shape)}")
        h = self.in_embed(inputs)  # (N, S, dim)
        if combine == "mean":
            h = h.mean(1)
        else:
            h = h.reshape(-1, self.dim)
            targets = np.repeat(targets, inputs.shape[1])
        logits = h @ self.out_embed.weight.t()
        return F.cross_entropy(logits, Tensor._make(targets.astype(np.int64)), reduction="sum")

    # ------------------------------------------------------------------ training
    def fit(self, corpus, vocab=None, epochs: int = 5, batch_size: int | None = None, window: int = 5,
            num_skips: int | None = None, lr: float = 0.025, min_lr: float = 1e-4, sample: float = 1e-3,
            context: str = "distance", row_cap: float | None = 32, seed=None, callbacks=(),
            progress: bool = True, workers: int = 1) -> dict:
        """Train on ``corpus`` (word ids, e.g. ``vocab.encode(words)``); returns the history
        ``{"loss": [...], "words_per_sec": [...], "lr": [...]}`` (one value per epoch).

        Args:
            vocab: the ``lamina.text.Vocabulary`` of the ids (gives the counts for subsampling and
                negative sampling, and the words of ``wv``). Occurrences of its ``UNK`` (id 0) are removed
                before windows are formed, as word2vec drops out-of-vocabulary words. Without it the
                counts are those of ``corpus`` and the words are the ids as strings.
            batch_size: (context word, centre word) pairs per SGD step, rounded down to whole centres (multiples
                of ``num_skips``, or of 2·window for CBOW); default 2048, or 128 with ``loss="softmax"`` (the
                full softmax updates every output row at every step).
            window: skip_window of the skip-gram batches / R of the CBOW batches.
            num_skips: context words per centre (skip-gram), default ``window + 1``: the average number
                word2vec's randomly shrunk windows use, so a word costs the same work as in gensim.
            lr, min_lr: the learning rate decays linearly from ``lr`` to ``min_lr`` over all epochs.
            sample: subsampling threshold t — a word of frequency f is kept with probability
                √(t/f) + t/f (word2vec.c); 0 keeps every word.
            context: how skip-gram picks a centre's ``num_skips`` distinct context words: ``"distance"``
                (default) with word2vec's preference for near words (a word at distance d with probability
                ∝ window − d + 1, see ``word2vec_batches.py``), ``"uniform"`` uniformly among the window's
                words, as ``lamina.text.skipgram_batches`` does.
            row_cap: a word seen n > row_cap times in one batch gets its summed gradient scaled by row_cap / n
                (see ``word2vec_fit.py``: keeps big batches from overshooting on frequent words); None: exact
                SGD on the summed loss.
            seed: int (or numpy Generator) for subsampling, windows and negatives.
            callbacks: objects with any of the Keras-style hooks ``on_train_begin(logs)``,
                ``on_epoch_begin(epoch, logs)``, ``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``,
                ``on_train_end(logs)`` (e.g. ``lamina.train`` callbacks); ``stop_training = True`` on the run
                (``callback.trainer``) stops at the end of the batch.
            progress: a tqdm bar over the corpus words with words/s, loss and lr.
            workers: processes training at once (Hogwild SGD on shared matrices, as gensim's ``workers``; see
                ``word2vec_workers.py``). With more than one, callbacks see epochs only (no ``on_batch_end``)
                and runs are not bit-reproducible; needs ``sparse=True`` and the 'fork' start method.
        """
        prep = prepare(self, corpus, vocab, epochs=epochs, batch_size=batch_size, window=window,
                       num_skips=num_skips, lr=lr, min_lr=min_lr, sample=sample, context=context, seed=seed,
                       workers=workers)
        train = fit if prep.workers == 1 else fit_in_workers
        return train(self, prep, row_cap=row_cap, callbacks=callbacks, progress=progress)

    # ------------------------------------------------------------------ vectors and queries
    @property
    def wv(self) -> KeyedVectors:
        """The input vectors as :class:`KeyedVectors` (without the ``UNK`` row of a lamina Vocabulary), sharing
        memory with ``in_embed.weight``; rebuilt after each ``fit``."""
        w = self.in_embed.weight._data
        if self._wv is None or self._wv.vectors.base is not w:
            words = self.words if self.words is not None else [str(i) for i in range(self.vocab_size)]
            start = self._unk_rows
            counts = None if self.counts is None else self.counts[start:]
            self._wv = KeyedVectors(words[start:], w[start:], counts)
        return self._wv

    def most_similar(self, word, k: int = 10, **kw):
        return self.wv.most_similar(word, k, **kw)

    def similarity(self, a: str, b: str) -> float:
        return self.wv.similarity(a, b)

    def analogy(self, a: str, b: str, c: str, k: int = 1):
        return self.wv.analogy(a, b, c, k)

    def save_word2vec_format(self, path) -> None:
        self.wv.save_word2vec_format(path)

    # ------------------------------------------------------------------ a context in, a centre word out
    def center_probabilities(self, context) -> np.ndarray:
        """The model's distribution of the centre word given the ``context`` words, over the words of ``wv``
        (``wv.index_to_key`` order; a lamina Vocabulary's ``UNK`` is left out, as it is never a target):

            h = (1/|C|) Σ_{c ∈ C} v_c                          the mean of the context words' input vectors (W_in)
            p(w | C) = exp(u_w · h) / Σ_{w'} exp(u_{w'} · h)     softmax over the output vectors u (W_out)

        W_out is ``out_embed.weight``: with ``loss="negative_sampling"`` the vectors word2vec calls ``syn1neg``,
        with ``loss="softmax"`` the output layer itself. For CBOW, h is exactly the input the model was trained
        on, and with ``loss="softmax"`` this is the trained model's own P(centre | context). With negative
        sampling the training scored each word alone, σ(u_w · h), and the softmax normalises those scores over
        the vocabulary, as gensim's ``predict_output_word`` does. For skip-gram (trained on one context word
        at a time) the same mean is used, also as gensim does. Computed in float64; the values sum to 1.

        ``context``: a list of words (or one string, split on whitespace); a word not in the vocabulary
        raises ``KeyError`` naming it."""
        words = context.split() if isinstance(context, str) else list(context)
        if not words:
            raise ValueError("predict_center: give at least one context word, got none")
        wv = self.wv
        missing = [w for w in words if w not in wv]
        if missing:
            raise KeyError(f"predict_center: context word{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(repr(w) for w in missing)} not in the vocabulary ({len(wv)} words)")
        start = self._unk_rows
        ids = np.array([wv.key_to_index[w] for w in words]) + start
        h = self.in_embed.weight._data[ids].astype(np.float64).mean(axis=0)
        scores = self.out_embed.weight._data[start:].astype(np.float64) @ h
        e = np.exp(scores - scores.max())
        return e / e.sum()

    def predict_center(self, context, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` most probable centre words of ``context`` as ``(word, probability)`` pairs, best first,
        from the distribution of :meth:`center_probabilities` (softmax over the output vectors of the mean of
        the context's input vectors). ``model.predict_center(["the", "sat", "on"], topn=3)``."""
        if isinstance(topn, bool) or not isinstance(topn, (int, np.integer)) or topn < 1:
            raise ValueError(f"predict_center: topn must be an int >= 1, got {topn!r}")
        p = self.center_probabilities(context)
        k = min(int(topn), p.size)
        top = np.argpartition(-p, k - 1)[:k]
        top = top[np.argsort(-p[top], kind="stable")]
        keys = self.wv.index_to_key
        return [(keys[i], float(p[i])) for i in top.tolist()]

    def predict_output_word(self, context_words_list, topn: int = 10) -> list[tuple[str, float]]:
        """gensim's name of :meth:`predict_center`."""
        return self.predict_center(context_words_list, topn)

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, dim={self.dim}, mode={self.mode!r}, loss={self.loss_type!r}, "
                f"negative={self.negative}, sparse={self.sparse}")
