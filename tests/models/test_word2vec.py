"""Word2Vec: the fused negative-sampling op, training on a corpus with planted
structure, the shrunk-window skip-gram batches, and errors."""
import numpy as np
import pytest
import torch
from opcheck import check_op

import lamina as L
from lamina.models import Word2Vec
from lamina.models.word2vec_batches import WeightedSkipGramBatches
from lamina.ops.negative_sampling import negative_sampling_loss
from lamina.sparse import RowSparseGrad
from lamina.text import Vocabulary, skipgram_batches

GROUPS, PER_GROUP = 6, 8


def planted_corpus(n_sentences=1500, length=12, seed=0):
    """Words g<k>w<i>: each 'sentence' draws its words from one group only, so words of a group share contexts."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, GROUPS, n_sentences)
    w = rng.integers(0, PER_GROUP, (n_sentences, length))
    return [f"g{a}w{b}" for a, row in zip(g, w) for b in row]


@pytest.fixture(scope="module")
def corpus():
    words = planted_corpus()
    vocab = Vocabulary.build(words)
    return words, vocab, vocab.encode(words)


def group_accuracy(model, k=5):
    """Fraction of the k nearest neighbours of every word that belong to its group."""
    hits = []
    for word in model.wv.index_to_key:
        hits += [n[:2] == word[:2] for n, _ in model.most_similar(word, k)]
    return float(np.mean(hits))


# ----------------------------------------------------------------------------- the fused op
def _torch_loss(w_in, w_out, a, b, combine, reduction):
    V, U = w_in[torch.tensor(a)], w_out[torch.tensor(b)]
    s = V @ U.transpose(1, 2) if combine == "each" else (U @ V.mean(1).unsqueeze(-1)).squeeze(-1)
    loss = -torch.nn.functional.logsigmoid(s[..., 0]).sum() - torch.nn.functional.logsigmoid(-s[..., 1:]).sum()
    return loss / (a.size if combine == "each" else a.shape[0]) if reduction == "mean" else loss


@pytest.mark.parametrize("combine,S", [("each", 1), ("each", 3), ("mean", 4)])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_negative_sampling_op_against_torch(combine, S, reduction):
    rng = np.random.default_rng(S)
    a, b = rng.integers(0, 7, (5, S)), rng.integers(0, 7, (5, 4))
    a[1], b[0] = 2, 2  # repeated rows
    # x * 1.0: non-leaf weights take the dense rule (autograd.grad of a leaf would return the sparse form)
    check_op(lambda x, y: negative_sampling_loss(x * 1.0, y * 1.0, a, b, combine, reduction),
             lambda x, y: _torch_loss(x, y, a, b, combine, reduction), rng.standard_normal((7, 3)),
             rng.standard_normal((7, 3)))


@pytest.mark.parametrize("combine,S", [("each", 1), ("each", 3), ("mean", 2)])
def test_negative_sampling_op_sparse_gradient_equals_dense(combine, S):
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 50_000, (6, S)), rng.integers(0, 50_000, (6, 6))
    b[:, 1] = b[0, 0]
    w = [rng.standard_normal((50_000, 4)).astype(np.float32) for _ in range(2)]
    leaves = [L.tensor(x, requires_grad=True) for x in w]
    negative_sampling_loss(*leaves, a, b, combine).backward()
    dense = [L.tensor(x, requires_grad=True) for x in w]
    negative_sampling_loss(dense[0] * 1.0, dense[1] * 1.0, a, b, combine).backward()
    for leaf, ref, idx in zip(leaves, dense, (a, b)):
        g = leaf.grad
        assert isinstance(g, RowSparseGrad) and g.values().dtype == np.float32
        assert g.indices.tolist() == idx.reshape(-1).tolist()  # only the batch's rows: O(batch · dim)
        np.testing.assert_allclose(g.to_dense().numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_negative_sampling_op_errors():
    w = L.randn(5, 3)
    with pytest.raises(IndexError, match="index 9"):
        negative_sampling_loss(w, w, [[9]], [[1, 2]])
    with pytest.raises(ValueError, match="combine"):
        negative_sampling_loss(w, w, [[1]], [[1, 2]], combine="sum")
    with pytest.raises(ValueError, match="3 examples but targets has 1"):
        negative_sampling_loss(w, w, [[1], [2], [3]], [[1, 2]])
    with pytest.raises(TypeError, match="integer"):
        negative_sampling_loss(w, w, [[1.5]], [[1, 2]])
    with pytest.raises(ValueError, match="same dim"):
        negative_sampling_loss(w, L.randn(5, 4), [[1]], [[1, 2]])


# ----------------------------------------------------------------------------- training
def test_word2vec_init_and_shapes():
    L.manual_seed(0)
    m = Word2Vec(100, 20)
    w = m.in_embed.weight.numpy()
    assert w.dtype == np.float32 and w.shape == (100, 20)
    assert np.abs(w).max() <= 0.5 / 20 and np.abs(w).max() > 0.4 / 20  # uniform(-0.5/dim, 0.5/dim)
    assert not m.out_embed.weight.numpy().any()  # W_out starts at zero
    assert m.in_embed.sparse and m.out_embed.sparse


@pytest.mark.parametrize("kwargs", [dict(mode="skipgram"), dict(mode="cbow"),
                                    dict(mode="skipgram", shared_negatives=False),
                                    dict(mode="skipgram", loss="softmax")],
                         ids=["skipgram", "cbow", "skipgram-pair-negatives", "softmax"])
def test_planted_groups_are_found_and_loss_decreases(corpus, kwargs):
    words, vocab, ids = corpus
    L.manual_seed(0)
    model = Word2Vec(len(vocab), 16, **kwargs)
    history = model.fit(ids, vocab, epochs=4, window=3, lr=0.05, seed=0, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert len(model.wv) == GROUPS * PER_GROUP  # UNK left out
    assert group_accuracy(model) > 0.9


def test_dense_mode_works_with_dense_optimizers():
    m = Word2Vec(30, 6, sparse=False)
    m.out_embed.weight.data = L.randn(30, 6)
    opt = L.optim.Adam(m.parameters(), lr=0.01)
    loss = m(np.array([[1, 2], [3, 3]]), np.array([[4, 5, 6], [7, 8, 9]]))
    loss.backward()
    assert not isinstance(m.in_embed.weight.grad, RowSparseGrad) and m.in_embed.weight.grad.shape == (30, 6)
    assert np.flatnonzero(np.any(m.in_embed.weight.grad.numpy() != 0, axis=1)).tolist() == [1, 2, 3]
    opt.step()
    m2 = Word2Vec(30, 6)
    m2(np.array([[1]]), np.array([[4, 5]])).backward()
    with pytest.raises(RuntimeError, match="sparse=False"):
        L.optim.Adam(m2.parameters()).step()


def test_fit_with_uniform_contexts_and_no_vocab(corpus):
    words, vocab, ids = corpus
    model = Word2Vec(len(vocab), 16)
    model.fit(ids[ids > 0], epochs=3, window=3, lr=0.05, context="uniform", seed=1, progress=False)
    assert len(model.wv) == len(vocab) and model.wv.index_to_key[1] == "1"  # words are the ids as strings
    same = [vocab.word(int(n))[:2] == vocab.word(int(w))[:2] for w in model.wv.index_to_key[1:]
            for n, _ in model.most_similar(w, 3) if n != "0"]
    assert np.mean(same) > 0.9


def test_fit_is_reproducible_and_updates_only_sparse_rows(corpus):
    words, vocab, ids = corpus
    runs = []
    for _ in range(2):
        L.manual_seed(3)
        m = Word2Vec(len(vocab), 8)
        m.fit(ids, vocab, epochs=1, window=2, seed=7, progress=False)
        runs.append(m.in_embed.weight.numpy().copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.array_equal(runs[0][0], m.in_embed.weight.numpy()[0])  # UNK's row is never trained


@pytest.mark.parametrize("factored", [False, True])
def test_row_cap_scales_the_summed_gradient_of_a_frequent_row(factored):
    """A row seen n > cap times in the batch gets its summed gradient times cap / n; rarer rows keep theirs."""
    from lamina.models.word2vec_fit import _cap_rows

    rng = np.random.default_rng(0)
    ids = np.array([[3, 5, 3], [3, 1, 3], [3, 5, 2]])  # row 3: 5 entries, row 5: 2, rows 1 and 2: 1
    coef = rng.standard_normal((3, 3)).astype(np.float32)
    src = rng.standard_normal((3, 4)).astype(np.float32)
    formed = (coef[:, :, None] * src[:, None, :]).reshape(9, 4)
    w = L.zeros(8, 4, requires_grad=True)
    w.grad = RowSparseGrad.factored(ids, coef, src, (8, 4)) if factored else RowSparseGrad.make(ids.reshape(-1),
                                                                                              formed, (8, 4))
    want = np.zeros((8, 4), np.float32)
    np.add.at(want, ids.reshape(-1), formed)
    want[3] *= 2 / 5
    _cap_rows(w, 2)
    np.testing.assert_allclose(w.grad.to_dense().numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("workers", [1, 2])
def test_callbacks_and_stop_training(corpus, workers):
    words, vocab, ids = corpus
    seen = []

    class Stop:
        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, sorted(logs)))
            self.trainer.stop_training = True

    history = Word2Vec(len(vocab), 8).fit(ids, vocab, epochs=5, window=2, seed=0, callbacks=[Stop()], progress=False,
                                          workers=workers)
    assert seen == [(0, ["loss", "lr", "words_per_sec"])] and len(history["loss"]) == 1


def test_progress_bar_shows_words_per_second_and_loss(corpus, capsys):
    words, vocab, ids = corpus
    Word2Vec(len(vocab), 8).fit(ids, vocab, epochs=1, window=2, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "word/s" in err and "loss=" in err and f"{len(ids) / 1000:.1f}k/{len(ids) / 1000:.1f}k" in err


def test_lr_decays_linearly_to_min_lr(corpus):
    words, vocab, ids = corpus
    rates = []

    class Rec:
        def on_batch_end(self, batch, logs):
            rates.append(logs["lr"])

    Word2Vec(len(vocab), 8).fit(ids, vocab, epochs=2, window=2, lr=0.04, min_lr=0.001, seed=0, callbacks=[Rec()],
                                progress=False)
    assert rates[0] == pytest.approx(0.04) and rates[-1] == pytest.approx(0.001, abs=2e-3)
    steps = -np.diff(rates)  # linear in corpus words: equal batches, equal steps (epochs subsample differently)
    assert np.all(steps > 0) and steps.max() < 1.1 * np.median(steps)


def test_two_workers_share_the_matrices_and_find_the_planted_groups(corpus):
    words, vocab, ids = corpus
    L.manual_seed(0)
    model = Word2Vec(len(vocab), 16)
    start = model.in_embed.weight.numpy().copy()
    history = model.fit(ids, vocab, epochs=4, window=3, lr=0.05, min_lr=0.001, seed=0, progress=False, workers=2)
    assert len(history["loss"]) == 4 and history["loss"][-1] < history["loss"][0]
    assert history["lr"][-1] == pytest.approx(0.001, abs=2e-3)  # the rate followed both workers' words
    assert group_accuracy(model) > 0.9  # both workers' updates landed in the one pair of matrices
    w = model.in_embed.weight.numpy()
    assert w.flags.writeable and w.flags.owndata  # copied back out of the shared memory
    assert np.array_equal(w[0], start[0])  # UNK's row is never trained


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to the infinite loss
def test_workers_progress_bar_and_errors(corpus, capsys):
    words, vocab, ids = corpus
    Word2Vec(len(vocab), 8).fit(ids, vocab, epochs=1, window=2, seed=0, progress=True, workers=2)
    err = capsys.readouterr().err
    assert "word/s" in err and f"{len(ids) / 1000:.1f}k/{len(ids) / 1000:.1f}k" in err  # the bar reached the end
    with pytest.raises(ValueError, match="workers must be >= 1"):
        Word2Vec(len(vocab), 8).fit(ids, vocab, workers=0, progress=False)
    with pytest.raises(ValueError, match="sparse=True"):
        Word2Vec(len(vocab), 8, sparse=False).fit(ids, vocab, workers=2, progress=False)
    with pytest.raises(ValueError, match="too few for 3 workers"):
        Word2Vec(len(vocab), 8).fit(ids[:14], vocab, window=2, workers=3, progress=False)
    with pytest.raises(FloatingPointError, match="lower lr"):
        Word2Vec(len(vocab), 16).fit(ids, vocab, lr=1e30, min_lr=1e30, epochs=1, window=2, seed=0, progress=False,
                                     workers=2)  # (1e30: the second batch's scores overflow in any interleaving)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_word2vec_errors(corpus):
    words, vocab, ids = corpus
    with pytest.raises(ValueError, match="mode"):
        Word2Vec(10, 4, mode="glove")
    with pytest.raises(ValueError, match="loss"):
        Word2Vec(10, 4, loss="hierarchical")
    with pytest.raises(ValueError, match="dim"):
        Word2Vec(10, 0)
    m = Word2Vec(len(vocab), 4)
    with pytest.raises(ValueError, match="vocab_size"):
        m.fit(np.array([1, 2, 999] * 5), progress=False)
    with pytest.raises(ValueError, match="has 49 words but the model has vocab_size 10"):
        Word2Vec(10, 4).fit(ids[:100] % 10, vocab, progress=False)
    with pytest.raises(ValueError, match="fewer than one window"):
        m.fit(ids[:5], vocab, progress=False)
    with pytest.raises(ValueError, match="min_lr"):
        m.fit(ids, vocab, lr=0.01, min_lr=0.1, progress=False)
    with pytest.raises(ValueError, match="num_skips <= window"):
        m.fit(ids, vocab, window=3, num_skips=6, progress=False)
    with pytest.raises(TypeError, match="word indices"):
        m.fit(words, vocab, progress=False)
    with pytest.raises(FloatingPointError, match="lower lr"):
        Word2Vec(len(vocab), 16).fit(ids, vocab, lr=1e6, min_lr=1e6, epochs=1, window=2, seed=0, progress=False)


# ----------------------------------------------------------------------------- shrunk-window batches
def test_weighted_skipgram_batches_keep_the_seed_layout_and_prefer_near_words():
    data = np.arange(40_000)
    ours = WeightedSkipGramBatches(data, 6 * 4000, 6, 5, seed=0)
    seed = skipgram_batches(data, 6 * 4000, 6, 5, seed=0)
    batch, labels = next(ours)
    np.testing.assert_array_equal(batch, next(seed)[0])  # the same centres, each repeated num_skips times
    offsets = (labels[:, 0] - batch).reshape(-1, 6)
    assert all(len(set(r)) == 6 and 0 not in r and max(map(abs, r)) <= 5 for r in offsets.tolist())
    freq = {d: np.mean(offsets == d) * 6 for d in range(-5, 6) if d}
    for d, f in freq.items():  # word2vec's shrunk window: distance d used with probability (w - d + 1) / w
        assert f == pytest.approx((5 - abs(d) + 1) / 5, abs=0.03)
    with pytest.raises(ValueError, match="skip_window \\+ 1"):
        WeightedSkipGramBatches(data, 8, 4, 2)
