"""Word2Vec.predict_center: give it a context, see which centre word it outputs (and with what probability)."""
import numpy as np
import pytest

import lamina as L
from lamina.models import Word2Vec
from lamina.text import Vocabulary

N_WORDS = 10


def _cycle_corpus(n=2000):
    """w0 w1 ... w9 w0 w1 ...: the centre of (w_{i−1}, w_{i+1}) is always w_i."""
    words = [f"w{i % N_WORDS}" for i in range(n)]
    vocab = Vocabulary.build(words)
    return vocab, vocab.encode(words)


def _contexts():
    return [([f"w{(i - 1) % N_WORDS}", f"w{(i + 1) % N_WORDS}"], f"w{i}") for i in range(N_WORDS)]


@pytest.fixture(scope="module", params=[("cbow", "negative_sampling"), ("cbow", "softmax"),
                                        ("skipgram", "negative_sampling")], ids=lambda p: "-".join(p))
def trained(request):
    mode, loss = request.param
    vocab, ids = _cycle_corpus()
    L.manual_seed(0)
    model = Word2Vec(len(vocab), 16, mode=mode, loss=loss, negative=3)
    model.fit(ids, vocab, epochs=12, window=1, sample=0, lr=0.05, batch_size=256, seed=0, progress=False)
    return model


def test_the_true_centre_word_ranks_first(trained):
    for context, centre in _contexts():
        top = trained.predict_center(context, topn=3)
        assert top[0][0] == centre, (context, top)
        assert len(top) == 3 and top[0][1] > top[1][1] >= top[2][1]
        assert top[0][1] > 0.5


def test_probabilities_sum_to_one_over_the_vocabulary(trained):
    p = trained.center_probabilities(["w3", "w5"])
    assert p.shape == (len(trained.wv),) == (N_WORDS,)  # the UNK row is not a candidate
    assert np.all(p >= 0) and abs(p.sum() - 1) < 1e-12
    full = trained.predict_center("w3 w5", topn=100)
    assert len(full) == N_WORDS and abs(sum(q for _, q in full) - 1) < 1e-12
    assert dict(full)["w4"] == p[trained.wv.index("w4")]
    assert trained.predict_output_word(["w3", "w5"], topn=2) == full[:2]


def test_the_distribution_is_softmax_of_output_vectors_at_the_mean_input_vector(trained):
    w_in, w_out = trained.in_embed.weight.numpy()[1:], trained.out_embed.weight.numpy()[1:]
    kv = trained.wv
    h = (w_in[kv.index("w7")].astype(np.float64) + w_in[kv.index("w0")]) / 2
    z = w_out.astype(np.float64) @ h
    np.testing.assert_allclose(trained.center_probabilities(["w7", "w0"]), np.exp(z) / np.exp(z).sum(), rtol=1e-12)


def test_cbow_softmax_probability_is_the_models_own_loss():
    vocab, ids = _cycle_corpus(400)
    L.manual_seed(1)
    model = Word2Vec(len(vocab), 8, mode="cbow", loss="softmax")
    model.fit(ids, vocab, epochs=2, window=1, sample=0, lr=0.05, batch_size=64, seed=1, progress=False)
    context, centre = ["w2", "w4"], "w3"
    nll = model(np.array([[vocab.index(w) for w in context]]), np.array([vocab.index(centre)])).item()
    p = model.center_probabilities(context)[model.wv.index(centre)]
    # the model's cross-entropy also spreads mass on the (untrained) UNK row; renormalised it is p
    logits = model.in_embed.weight.numpy()[[vocab.index(w) for w in context]].mean(0) @ model.out_embed.weight.numpy().T
    unk_share = np.exp(logits[0] - logits.max()) / np.exp(logits - logits.max()).sum()
    assert abs(np.exp(-nll) / (1 - unk_share) - p) < 1e-5


def test_unknown_words_and_bad_arguments_are_refused(trained):
    with pytest.raises(KeyError, match=r"predict_center: context words 'cat', 'UNK' not in the vocabulary \(10 words\)"):
        trained.predict_center(["w1", "cat", "UNK"])
    with pytest.raises(ValueError, match="at least one context word"):
        trained.predict_center([])
    with pytest.raises(ValueError, match="topn must be an int >= 1"):
        trained.predict_center(["w1"], topn=0)
