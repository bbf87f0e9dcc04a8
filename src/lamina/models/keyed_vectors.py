"""``KeyedVectors``: trained word vectors and the queries made on them.

Similar words have vectors pointing the same way, so every query uses the cosine similarity
cos(a, b) = a·b / (|a| |b|), computed for all words at once as one matrix-vector product with the
unit-normalised vectors.

* ``most_similar("king", k=10)`` — the k words of highest cosine similarity (the word excluded);
  ``most_similar(positive=[...], negative=[...])`` ranks by the cosine with the normalised sum
  (positives minus negatives), inputs excluded;
* ``analogy("king", "man", "woman")`` — a − b + c: "man is to king as woman is to ?" → queen;
* ``similarity(a, b)``;
* ``save_word2vec_format`` / ``load_word2vec_format`` — the word2vec text format: a header line
  "<words> <dim>", then one line per word, "<word> <v_1> ... <v_dim>" (written atomically);
* ``plot_pca(words)`` — the words' vectors projected on their first two principal axes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._atomic import atomic_savefig, atomic_write
from ..preprocessing import PCA

__all__ = ["KeyedVectors"]


class KeyedVectors:
    """Word vectors: ``vectors[i]`` is the vector of ``index_to_key[i]``.

    >>> kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    >>> kv.most_similar("a", k=1)[0][1]
    0.0
    """

    def __init__(self, words, vectors, counts=None):
        words = [str(w) for w in words]
        vectors = np.asarray(vectors)
        _check_vectors(words, vectors)
        self.index_to_key = words
        self.key_to_index = {w: i for i, w in enumerate(words)}
        if len(self.key_to_index) != len(words):
            raise ValueError("KeyedVectors: a word appears more than once")
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts)
        self._unit = None

    # ------------------------------------------------------------------ lookups
    @property
    def vector_size(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word) -> bool:
        return word in self.key_to_index

    def index(self, word: str) -> int:
        try:
            return self.key_to_index[word]
        except (KeyError, TypeError):
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self)} words)") from None

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index(word)]

    get_vector = __getitem__

    def unit_vectors(self) -> np.ndarray:
        """Every vector divided by its norm (zero vectors stay zero); cached until ``vectors`` is replaced."""
        if self._unit is None or self._unit[0] is not self.vectors:
            v = self.vectors.astype(np.float32, copy=False)
            norms = np.linalg.norm(v, axis=1, keepdims=True)
            self._unit = (self.vectors, v / np.where(norms > 0, norms, 1).astype(v.dtype))
        return self._unit[1]

    # ------------------------------------------------------------------ queries
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of the vectors of ``a`` and ``b``."""
        u = self.unit_vectors()
        return float(u[self.index(a)] @ u[self.index(b)])

    def _ranked(self, query: np.ndarray, exclude, k: int):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"most_similar: k must be an int >= 1, got {k!r}")
        sims = self.unit_vectors() @ query
        sims[list(exclude)] = -np.inf
        k = min(int(k), len(self) - len(set(exclude)))
        if k <= 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.index_to_key[i], float(sims[i])) for i in top.tolist()]

    def most_similar(self, word=None, k: int = 10, *, positive=None, negative=None, topn: int | None = None):
        """The ``k`` words closest to ``word`` by cosine similarity, as ``(word, similarity)`` pairs, best
        first (the query words excluded). ``positive``/``negative``: lists of words whose unit vectors are
        added / subtracted to make the query (gensim's convention); ``topn`` is an alias of ``k``."""
        k = topn if topn is not None else k
        pos, neg = _query_words(word, positive, negative)
        u = self.unit_vectors()
        ids_pos = [self.index(w) for w in pos]
        ids_neg = [self.index(w) for w in neg]
        q = u[ids_pos].sum(axis=0) - u[ids_neg].sum(axis=0)
        norm = np.linalg.norm(q)
        if norm > 0:
            q = q / norm
        return self._ranked(q.astype(u.dtype), ids_pos + ids_neg, k)

    def analogy(self, a: str, b: str, c: str, k: int = 1):
        """Words d with d − c ≈ a − b ("b is to a as c is to d"): ranked by cos(d, â − b̂ + ĉ), with a, b, c
        excluded. ``analogy("king", "man", "woman")`` → ``[("queen", ...)]`` on good vectors."""
        return self.most_similar(positive=[a, c], negative=[b], k=k)

    def closest(self, vector, k: int = 10):
        """The ``k`` words whose vectors have the highest cosine similarity with ``vector``."""
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if v.size != self.vector_size:
            raise ValueError(f"closest: vector has {v.size} values, the vectors have {self.vector_size}")
        n = np.linalg.norm(v)
        return self._ranked(v / n if n > 0 else v, [], k)

    # ------------------------------------------------------------------ word2vec text format
    def save_word2vec_format(self, path) -> None:
        """Write the vectors in the word2vec text format (UTF-8), atomically (temporary file + rename).
        Values are written with 9 significant digits, enough to read float32 vectors back exactly."""
        n, d = self.vectors.shape
        vals = np.asarray(self.vectors, dtype=np.float32)
        body = "\n".join(f"{w} " + " ".join(f"{x:.9g}" for x in row) for w, row in zip(self.index_to_key,
                                                                                           vals.tolist()))
        atomic_write(os.fspath(path), (f"{n} {d}\n" + body + ("\n" if n else "")).encode("utf-8"))

    @classmethod
    def load_word2vec_format(cls, path) -> KeyedVectors:
        """Read vectors written in the word2vec text format (by lamina, gensim or word2vec.c)."""
        lines = _read_text(path).splitlines()
        n, d = _header(lines, str(path))
        return cls(*_word_rows(lines[1:], n, d, str(path)))

    # ------------------------------------------------------------------ picture
    def plot_pca(self, words, path=None, ax=None, title: str | None = None):
        """Scatter the ``words`` on the first two principal axes of their vectors (lamina.preprocessing.PCA),
        each point labelled. Returns the matplotlib Figure; with ``path`` (.png, .svg, .pdf) it is also saved."""
        words = list(words)
        if len(words) < 2:
            raise ValueError(f"plot_pca: give at least 2 words, got {len(words)}")
        X = np.asarray(self.vectors[[self.index(w) for w in words]], dtype=np.float64)
        Z = PCA(n_components=2).fit_transform(X)
        if Z.shape[1] < 2:  # fewer than 2 distinct directions: pad the missing axis with zeros
            Z = np.pad(Z, ((0, 0), (0, 2 - Z.shape[1])))
        if ax is None:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(7, 6))
        else:
            fig = ax.figure
        ax.scatter(Z[:, 0], Z[:, 1], s=14, color="tab:blue")
        for (x, y), w in zip(Z, words):
            ax.annotate(w, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9)
        ax.set_xlabel("principal axis 1")
        ax.set_ylabel("principal axis 2")
        ax.set_title(title or f"PCA of {len(words)} word vectors")
        if path is not None:
            if Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
                raise ValueError(f"plot_pca: path must end in .png, .svg or .pdf, got {str(path)!r}")
            atomic_savefig(fig, os.fspath(path), bbox_inches="tight")
        return fig

    def __repr__(self) -> str:
        return f"KeyedVectors(words={len(self)}, dim={self.vector_size})"


def _check_vectors(words: list, vectors: np.ndarray) -> None:
    """One floating-point row per word; words non-empty, without whitespace."""
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"KeyedVectors: vectors must be (words, dim) = ({len(words)}, dim), got shape "
                         f"{tuple(vectors.shape)}")
    if vectors.dtype.kind != "f":
        raise TypeError(f"KeyedVectors: vectors must be floating point, got {vectors.dtype}")
    bad = next((w for w in words if not w or any(ch.isspace() for ch in w)), None)
    if bad is not None:
        raise ValueError(f"KeyedVectors: word {bad!r} is empty or contains whitespace (the word2vec text "
                         "format separates fields by spaces)")


def _query_words(word, positive, negative) -> tuple[list, list]:
    """most_similar's positive words (``word`` first) and negative words; at least one word in all."""
    pos = ([word] if word is not None else []) + list(positive or [])
    neg = list(negative or [])
    if isinstance(positive, str) or isinstance(negative, str):
        raise TypeError("most_similar: positive and negative must be lists of words, not a single string")
    if not pos and not neg:
        raise ValueError("most_similar: give a word (or positive=[...] / negative=[...] words)")
    return pos, neg


_LOAD = "load_word2vec_format"


def _read_text(path) -> str:
    """The file's UTF-8 text, with an error naming the file when it is missing, a folder or not UTF-8."""
    op, name = _LOAD, str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{op}: no such file: {name!r}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{op}: {name!r} is a folder, expected a vectors file") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{op}: {name!r} is not UTF-8 text (byte offset {e.start}); the binary word2vec "
                         "format is not supported") from None


def _header(lines: list, name: str) -> tuple[int, int]:
    """(words, dim) from the '<words> <dim>' first line."""
    head = lines[0].split() if lines else []
    if len(head) != 2 or not all(h.isdigit() for h in head):
        raise ValueError(f"{_LOAD}: {name!r} does not start with a '<words> <dim>' header line (got "
                         f"{lines[0][:60] if lines else ''!r})")
    return int(head[0]), int(head[1])


def _word_rows(lines: list, n: int, d: int, name: str) -> tuple[list, np.ndarray]:
    """The words and the (n, d) float32 vectors of the '<word> <v_1> ... <v_d>' lines (blank lines skipped)."""
    rows = [ln.rstrip().split(" ") for ln in lines if ln.strip()]
    if len(rows) != n:
        raise ValueError(f"{_LOAD}: {name!r} announces {n} words but holds {len(rows)}")
    bad = next((i for i, r in enumerate(rows) if len(r) != d + 1), None)
    if bad is not None:
        raise ValueError(f"{_LOAD}: line {bad + 2} of {name!r} has {len(rows[bad]) - 1} values, expected {d}")
    try:
        vectors = np.array([r[1:] for r in rows], dtype=np.float32).reshape(n, d)
    except ValueError as e:
        raise ValueError(f"{_LOAD}: {name!r} holds a value that is not a number ({e})") from None
    return [r[0] for r in rows], vectors
