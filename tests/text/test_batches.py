"""Skip-gram and CBOW batches: the word2vec tutorial's worked examples (``generate_batch`` on
"anarchism originated as a term of abuse first ...") are the specification."""
import numpy as np
import pytest

from lamina import backend
from lamina.text import CBOWBatches, SkipGramBatches, Vocabulary, cbow_batches, skipgram_batches

SENTENCE = (
    "anarchism originated as a term of abuse first used against early working class radicals including the"
).split()


@pytest.fixture
def vocab():
    return Vocabulary.build(SENTENCE)


def decode(vocab, a):
    return vocab.decode(np.asarray(a))


def groups(vocab, batch, labels, num_skips):
    """[(centre, [labels...]), ...] per centre word."""
    b = decode(vocab, batch)
    lab = decode(vocab, labels.ravel())
    return [(b[i], lab[i : i + num_skips]) for i in range(0, len(b), num_skips)]


# ----------------------------------------------------------------------------- the tutorial's skip-gram
TUTORIAL_SKIPGRAM = [
    # (num_skips, skip_window, batch, labels) verbatim from the tutorial, batch_size 8
    (
        2,
        1,
        ["originated", "originated", "as", "as", "a", "a", "term", "term"],
        ["as", "anarchism", "a", "originated", "as", "term", "of", "a"],
    ),
    (
        4,
        2,
        ["as", "as", "as", "as", "a", "a", "a", "a"],
        ["a", "anarchism", "term", "originated", "as", "of", "originated", "term"],
    ),
]


@pytest.mark.parametrize("num_skips,skip_window,want_batch,want_labels", TUTORIAL_SKIPGRAM)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_tutorial_skipgram_example(vocab, num_skips, skip_window, want_batch, want_labels, seed):
    data = vocab.encode(SENTENCE[:8])  # the tutorial's data: the first 8 words
    batch, labels = next(skipgram_batches(data, 8, num_skips, skip_window, seed=seed))
    assert batch.shape == (8,) and labels.shape == (8, 1)
    assert batch.dtype == np.int64 and labels.dtype == np.int64
    assert decode(vocab, batch) == want_batch
    got = groups(vocab, batch, labels, num_skips)
    for k, (centre, labs) in enumerate(got):
        i = SENTENCE.index(centre)
        window = SENTENCE[i - skip_window : i] + SENTENCE[i + 1 : i + skip_window + 1]
        assert len(set(labs)) == num_skips, f"repeated context word for {centre}: {labs}"
        assert set(labs) <= set(window)
        # here num_skips == 2*skip_window, so each centre's label set is exactly the tutorial's
        assert set(labs) == set(want_labels[k * num_skips : (k + 1) * num_skips])


def test_skipgram_labels_are_random_draws_without_repeats():
    data = np.arange(1000)  # word i sits at position i, so a label's offset is label - centre
    it = skipgram_batches(data, 120, 3, 4, seed=0)
    seen = np.zeros(8)
    for _ in range(50):
        batch, labels = next(it)
        off = (labels.ravel() - batch).reshape(-1, 3)
        assert np.all((np.abs(off) >= 1) & (np.abs(off) <= 4))
        srt = np.sort(off, axis=1)
        assert np.all(srt[:, 1:] != srt[:, :-1])  # distinct within a centre
        slots = np.where(off < 0, off + 4, off + 3)
        seen += np.bincount(slots.ravel(), minlength=8)
    freq = seen / seen.sum()
    assert np.allclose(freq, 1 / 8, atol=0.01)  # uniform over the 8 window slots


def test_skipgram_is_reproducible_with_a_seed():
    data = np.random.default_rng(5).integers(0, 50, 500)
    a = [next(skipgram_batches(data, 64, 2, 3, seed=7)) for _ in range(2)]
    it1, it2 = skipgram_batches(data, 64, 2, 3, seed=7), skipgram_batches(data, 64, 2, 3, seed=8)
    b1, b2 = [next(it1) for _ in range(5)], [next(it2) for _ in range(5)]
    assert np.array_equal(a[0][1], a[1][1])
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(b1, b2))  # centres don't depend on the seed
    assert any(not np.array_equal(x[1], y[1]) for x, y in zip(b1, b2))


def test_skipgram_global_seed_when_seed_is_none():
    data = np.arange(100)
    backend.manual_seed(3)
    a = next(skipgram_batches(data, 32, 2, 2))[1]
    backend.manual_seed(3)
    b = next(skipgram_batches(data, 32, 2, 2))[1]
    assert np.array_equal(a, b)


def reference_centres(n, window, count, start=0):
    """Centre positions with a plain loop: window..n-1-window, then wrap around."""
    out, pos = [], window
    for _ in range(start):
        pos = window if pos + 1 > n - 1 - window else pos + 1
    for _ in range(count):
        out.append(pos)
        pos = window if pos + 1 > n - 1 - window else pos + 1
    return out


def test_skipgram_cursor_continues_and_wraps():
    data = np.arange(10) * 10  # values != positions, so indexing mistakes show
    it = skipgram_batches(data, 6, 2, 2, seed=0)  # centres 2..7 (6 per epoch), 3 per batch
    centres = []
    for _ in range(5):
        batch, labels = next(it)
        c = batch[::2] // 10
        centres += c.tolist()
        lab = labels.reshape(-1, 2) // 10
        assert np.all(np.abs(lab - c[:, None]) <= 2) and np.all(lab != c[:, None])
    assert centres == reference_centres(10, 2, 15)
    assert it.position == 15 and it.epoch == 2 and it.cursor == 2 + 15 % 6
    it.reset()
    assert it.cursor == 2 and next(it)[0][0] == 20


@pytest.mark.parametrize(
    "kwargs,err,match",
    [
        (dict(batch_size=9, num_skips=2, skip_window=1), ValueError, "multiple of num_skips"),
        (dict(batch_size=8, num_skips=4, skip_window=1), ValueError, r"num_skips \(4\) must be <= 2\*skip_window \(2\)"),
        (dict(batch_size=0, num_skips=1, skip_window=1), ValueError, "batch_size must be >= 1"),
        (dict(batch_size=8, num_skips=0, skip_window=1), ValueError, "num_skips must be >= 1"),
        (dict(batch_size=8, num_skips=2, skip_window=0), ValueError, "skip_window must be >= 1"),
        (dict(batch_size=8.0, num_skips=2, skip_window=1), TypeError, "batch_size must be an int"),
        (dict(batch_size=8, num_skips=2, skip_window=10), ValueError, "fewer than one window"),
    ],
)
def test_skipgram_argument_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        skipgram_batches(np.arange(16), **kwargs)


@pytest.mark.parametrize(
    "data,err,match",
    [
        (SENTENCE, TypeError, "Vocabulary.encode"),
        (np.arange(16.0), TypeError, "integers"),
        (np.arange(16).reshape(4, 4), ValueError, "1-D"),
        (np.arange(-1, 15), ValueError, "non-negative"),
    ],
)
def test_batches_data_errors(data, err, match):
    with pytest.raises(err, match=match):
        skipgram_batches(data, 8, 2, 1)
    with pytest.raises(err, match=match):
        cbow_batches(data, 8, 1)


# ----------------------------------------------------------------------------- the tutorial's CBOW
TUTORIAL_CBOW = {
    1: (
        [
            ["anarchism", "as"],
            ["originated", "a"],
            ["as", "term"],
            ["a", "of"],
            ["term", "abuse"],
            ["of", "first"],
            ["abuse", "used"],
            ["first", "against"],
        ],
        ["originated", "as", "a", "term", "of", "abuse", "first", "used"],
    ),
    2: (
        [
            ["anarchism", "originated", "a", "term"],
            ["originated", "as", "term", "of"],
            ["as", "a", "of", "abuse"],
            ["a", "term", "abuse", "first"],
            ["term", "of", "first", "used"],
            ["of", "abuse", "used", "against"],
            ["abuse", "first", "against", "early"],
            ["first", "used", "early", "working"],
        ],
        ["as", "a", "term", "of", "abuse", "first", "used", "against"],
    ),
}


@pytest.mark.parametrize("R", [1, 2])
def test_tutorial_cbow_example(vocab, R):
    want_batch, want_labels = TUTORIAL_CBOW[R]
    data = vocab.encode(SENTENCE)  # the tutorial's 16-word data
    batch, labels = next(cbow_batches(data, 8, R))
    assert batch.shape == (8, 2 * R) and labels.shape == (8, 1)
    assert batch.dtype == np.int64 and labels.dtype == np.int64
    assert decode(vocab, batch) == want_batch
    assert decode(vocab, labels.ravel()) == want_labels


def test_cbow_cursor_continues_and_wraps():
    data = np.arange(12) * 3
    it = cbow_batches(data, 5, 2)  # targets 2..9 (8 per epoch)
    targets = []
    for _ in range(4):
        batch, labels = next(it)
        t = labels.ravel() // 3
        targets += t.tolist()
        np.testing.assert_array_equal(batch // 3, t[:, None] + np.array([-2, -1, 1, 2]))
    assert targets == reference_centres(12, 2, 20)
    assert isinstance(it, CBOWBatches) and it.epoch == 2 and it.cursor == 2 + 20 % 8
    assert iter(it) is it


def test_batches_accept_lists_and_small_int_dtypes():
    a = next(cbow_batches(list(range(10)), 4, 1))
    b = next(cbow_batches(np.arange(10, dtype=np.uint16), 4, 1))
    assert all(np.array_equal(x, y) and y.dtype == np.int64 for x, y in zip(a, b))
    assert isinstance(skipgram_batches(np.arange(10, dtype=np.int32), 4, 2, 1, seed=0), SkipGramBatches)
