"""Vocabulary: the 50,000 most repeated words (UNK included) map to indices, every other word to UNK."""
import json
import os
from collections import Counter

import numpy as np
import pytest

from lamina.text import Vocabulary

TEXT = "the cat sat on the mat and the dog sat on the log with a cat".split()


def test_build_most_frequent_with_unk_first():
    v = Vocabulary.build(TEXT, max_size=4)
    # counts: the 4, cat 2, sat 2, on 2 ... ; 3 entries + UNK; ties by first occurrence
    assert v.words == ["UNK", "the", "cat", "sat"]
    assert v.counts.tolist() == [len(TEXT) - 8, 4, 2, 2]
    assert v.counts[0] == sum(1 for w in TEXT if w not in ("the", "cat", "sat"))  # replaced words
    assert v.counts.sum() == len(TEXT) and v.counts.dtype == np.int64
    assert len(v) == 4 and v.unk_index == 0 and v.unk_token == "UNK"


def test_build_matches_the_tutorial_recipe_on_a_zipf_corpus():
    """TF tutorial recipe: [['UNK', -1]] + Counter.most_common(n - 1) (ties: first encountered)."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in np.minimum(rng.zipf(1.3, 20000), 3000)]
    n = 200
    common = Counter(words).most_common(n - 1)
    v = Vocabulary.build(words, max_size=n)
    assert v.words == ["UNK"] + [w for w, _ in common]
    assert v.counts[1:].tolist() == [c for _, c in common]
    assert v.counts[0] == len(words) - sum(c for _, c in common)
    data = v.encode(words)
    ref = {w: i for i, w in enumerate(v.words)}
    assert np.array_equal(data, [ref.get(w, 0) for w in words])
    assert np.array_equal(np.bincount(data, minlength=n), v.counts)


def test_ties_broken_by_first_occurrence():
    v = Vocabulary.build("b a c a b c d".split())
    assert v.words == ["UNK", "b", "a", "c", "d"]
    assert v.counts.tolist() == [0, 2, 2, 2, 1]


def test_min_count_and_small_corpus():
    v = Vocabulary.build(TEXT, min_count=2)
    assert v.words == ["UNK", "the", "cat", "sat", "on"]
    assert v.counts[0] == len(TEXT) - 10
    assert Vocabulary.build(TEXT, max_size=1).words == ["UNK"]
    assert Vocabulary.build(TEXT, max_size=1).counts.tolist() == [len(TEXT)]
    assert len(Vocabulary.build(TEXT)) == len(set(TEXT)) + 1  # everything fits


def test_literal_unk_in_corpus_counts_as_unknown():
    v = Vocabulary.build("UNK x UNK y x".split(), max_size=2)
    assert v.words == ["UNK", "x"] and v.counts.tolist() == [3, 2]
    assert v.encode(["UNK", "x", "y"]).tolist() == [0, 1, 0]


def test_lookups():
    v = Vocabulary.build(TEXT, max_size=4)
    assert v["the"] == v.index("the") == 1
    assert v["zebra"] == v.index("zebra") == 0 and v["on"] == 0
    assert v.word(2) == "cat" and v.word(np.int64(0)) == "UNK"
    assert "cat" in v and "UNK" in v and "zebra" not in v and "on" not in v
    assert list(v) == v.words
    assert v.most_common(2) == [("UNK", len(TEXT) - 8), ("the", 4)]
    with pytest.raises(IndexError, match="index 4 out of range for a vocabulary of 4 words"):
        v.word(4)
    with pytest.raises(IndexError):
        v.word(-1)
    with pytest.raises(TypeError, match="vocab.word"):
        v[1]
    assert "Vocabulary(size=4" in repr(v)


def test_encode_decode_round_trip():
    v = Vocabulary.build(TEXT, max_size=6)
    idx = v.encode(TEXT)
    assert idx.dtype == np.int64 and idx.shape == (len(TEXT),)
    assert v.decode(idx) == [w if w in v else "UNK" for w in TEXT]
    assert v.encode(w for w in TEXT).tolist() == idx.tolist()  # any iterable, no len needed
    assert v.encode(np.array(TEXT)).tolist() == idx.tolist()
    assert v.encode([]).shape == (0,)
    assert v.decode(np.array([[1, 2], [0, 1]])) == [["the", "cat"], ["UNK", "the"]]
    assert v.decode(np.int64(2)) == "cat" and v.decode([]) == []
    with pytest.raises(IndexError, match="index 6 out of range"):
        v.decode([1, 6])
    with pytest.raises(TypeError, match="integer"):
        v.decode([1.0])


def test_single_string_is_rejected():
    with pytest.raises(TypeError, match="single string"):
        Vocabulary.build("the cat sat")
    v = Vocabulary.build(TEXT)
    with pytest.raises(TypeError, match="single string"):
        v.encode("the cat")


@pytest.mark.parametrize(
    "kwargs,err,match",
    [
        (dict(max_size=0), ValueError, "max_size must be >= 1"),
        (dict(min_count=0), ValueError, "min_count must be >= 1"),
        (dict(max_size=2.5), TypeError, "max_size must be an int"),
    ],
)
def test_build_argument_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        Vocabulary.build(TEXT, **kwargs)


def test_build_rejects_empty_and_non_words():
    with pytest.raises(ValueError, match="empty"):
        Vocabulary.build([])
    with pytest.raises(TypeError, match="must be a str"):
        Vocabulary.build([1, 2, 2])


def test_constructor_checks():
    v = Vocabulary(["UNK", "a", "b"], [1, 5, 3])
    assert v["b"] == 2 and v.counts.tolist() == [1, 5, 3]
    assert Vocabulary(["<unk>", "a"], unk_token="<unk>").counts.tolist() == [0, 0]
    with pytest.raises(ValueError, match="first word must be the unknown token 'UNK'"):
        Vocabulary(["a", "UNK"])
    with pytest.raises(ValueError, match="'a' appears more than once"):
        Vocabulary(["UNK", "a", "a"])
    with pytest.raises(ValueError, match="counts must be 2 integers"):
        Vocabulary(["UNK", "a"], [1, 2, 3])
    with pytest.raises(ValueError, match=">= 0"):
        Vocabulary(["UNK", "a"], [1, -2])
    with pytest.raises(ValueError):
        v.counts[0] = 7  # read-only


def test_save_load_round_trip(tmp_path):
    v = Vocabulary.build(TEXT + ["café", "naïve", "日本"], max_size=8)
    path = tmp_path / "vocab.json"
    v.save(path)
    w = Vocabulary.load(path)
    assert w == v and w.words == v.words and np.array_equal(w.counts, v.counts)
    d = json.loads(path.read_text(encoding="utf-8"))  # plain JSON, no pickle
    assert d["format"] == "lamina.text.Vocabulary" and d["words"][0] == "UNK"
    assert os.listdir(tmp_path) == ["vocab.json"]  # no temporary file left behind
    v2 = Vocabulary.build(TEXT, max_size=3)
    v2.save(str(path))  # overwrite
    assert Vocabulary.load(str(path)) == v2 != v


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    old = Vocabulary.build(TEXT, max_size=3)
    old.save(path)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        Vocabulary.build(TEXT).save(path)
    monkeypatch.undo()
    assert Vocabulary.load(path) == old
    assert os.listdir(tmp_path) == ["vocab.json"]


def test_load_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match="nope.json"):
        Vocabulary.load(missing)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.json.*not valid JSON \(line 1"):
        Vocabulary.load(bad)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="other.json.*not a saved lamina Vocabulary"):
        Vocabulary.load(other)
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"format": "lamina.text.Vocabulary", "version": 1, "unk_token": "UNK", "words": ["UNK", "a"], "counts": [1]}),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="broken.json.*inconsistent"):
        Vocabulary.load(broken)
