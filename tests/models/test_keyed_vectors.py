"""KeyedVectors: cosine queries, analogies, the word2vec text format, the PCA plot."""
import os

import numpy as np
import pytest

from lamina.models import KeyedVectors

# man/woman/king/queen built so that king - man + woman = queen exactly; fish far from all of them
GENDER, ROYAL = np.array([1.0, 0, 0, 0]), np.array([0, 1.0, 0, 0])
BASE = np.array([0, 0, 1.0, 0.2])
VECS = {"man": BASE + GENDER, "woman": BASE - GENDER, "king": BASE + GENDER + 2 * ROYAL,
        "queen": BASE - GENDER + 2 * ROYAL, "fish": np.array([0, 0, -0.1, 3.0]), "prince": BASE + GENDER + ROYAL}


@pytest.fixture
def kv():
    return KeyedVectors(list(VECS), np.array(list(VECS.values()), dtype=np.float32))


def cos(a, b):
    return a @ b / np.linalg.norm(a) / np.linalg.norm(b)


def test_most_similar_is_cosine_ranking_without_the_word(kv):
    got = kv.most_similar("king", k=5)
    expected = sorted(((w, cos(VECS["king"], v)) for w, v in VECS.items() if w != "king"), key=lambda t: -t[1])
    assert [w for w, _ in got] == [w for w, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5, atol=1e-7)
    assert kv.most_similar("king", k=100)[-1][0] == expected[-1][0] and len(kv.most_similar("king", k=100)) == 5
    assert kv.most_similar(positive=["king"], topn=2) == kv.most_similar("king", 2)


def test_similarity_and_analogy(kv):
    assert kv.similarity("man", "woman") == pytest.approx(cos(VECS["man"], VECS["woman"]), rel=1e-6)
    assert kv.similarity("fish", "fish") == pytest.approx(1.0)
    (word, score), = kv.analogy("king", "man", "woman")  # king - man + woman, inputs excluded
    assert word == "queen" and score > 0.9
    assert [w for w, _ in kv.analogy("king", "man", "woman", k=3)][0] == "queen"
    assert all(w not in ("king", "man", "woman") for w, _ in kv.most_similar(positive=["king", "woman"],
                                                                           negative=["man"], k=3))
    assert kv.closest(VECS["fish"] * 2, k=1)[0][0] == "fish"


def test_unknown_words_and_bad_arguments(kv):
    with pytest.raises(KeyError, match="'dragon' is not in the vocabulary \\(6 words\\)"):
        kv.most_similar("dragon")
    with pytest.raises(KeyError, match="dragon"):
        kv.similarity("king", "dragon")
    with pytest.raises(ValueError, match="k must be"):
        kv.most_similar("king", k=0)
    with pytest.raises(TypeError, match="lists of words"):
        kv.most_similar(positive="king")
    with pytest.raises(ValueError, match="whitespace"):
        KeyedVectors(["a b"], np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="more than once"):
        KeyedVectors(["a", "a"], np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="\\(3, dim\\)"):
        KeyedVectors(["a", "b", "c"], np.zeros((2, 2), np.float32))


def test_word2vec_text_format_round_trip(kv, tmp_path):
    path = tmp_path / "vectors.txt"
    kv.vectors[0, 0] = np.float32(1 / 3)  # a float32 that needs all 9 digits
    kv.save_word2vec_format(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "6 4" and lines[1].split()[0] == "man" and len(lines) == 7
    back = KeyedVectors.load_word2vec_format(path)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)  # exact: 9 significant digits
    assert os.listdir(tmp_path) == ["vectors.txt"]  # atomic write leaves no temporary file
    assert back.most_similar("king", 2) == kv.most_similar("king", 2)


def test_unicode_words_round_trip(tmp_path):
    kv = KeyedVectors(["café", "naïve", "日本"], np.eye(3, dtype=np.float32))
    kv.save_word2vec_format(tmp_path / "v.txt")
    assert KeyedVectors.load_word2vec_format(tmp_path / "v.txt").index_to_key == ["café", "naïve", "日本"]


@pytest.mark.parametrize("content,match", [
    (b"", "header"), (b"hello world\n", "header"), (b"2 3\na 1 2 3\n", "announces 2 words but holds 1"),
    (b"1 3\na 1 2\n", "line 2 .* has 2 values, expected 3"), (b"1 2\na 1 x\n", "not a number"),
    (b"1 2\n\xff 1 2\n", "not UTF-8"),
])
def test_load_errors_are_clear(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        KeyedVectors.load_word2vec_format(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        KeyedVectors.load_word2vec_format(tmp_path / "nope.txt")


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_pca_plot_is_written(kv, tmp_path, suffix):
    path = tmp_path / f"words{suffix}"
    fig = kv.plot_pca(["king", "queen", "man", "woman", "fish"], path)
    assert path.stat().st_size > 1000 and len(fig.axes[0].texts) == 5
    if suffix == ".svg":
        assert "<svg" in path.read_text()
    with pytest.raises(ValueError, match=".png, .svg or .pdf"):
        kv.plot_pca(["king", "queen"], tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="at least 2"):
        kv.plot_pca(["king"])
