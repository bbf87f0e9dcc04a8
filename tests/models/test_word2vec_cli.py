"""``lamina word2vec CORPUS ...``: trains, saves vectors, prints neighbours; one-line errors."""
import numpy as np
import pytest

from lamina.cli import main
from lamina.models import KeyedVectors


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    groups = [["cat", "dog", "horse", "cow"], ["red", "green", "blue", "white"], ["one", "two", "three", "four"]]
    words = [groups[g][i] for g in rng.integers(0, 3, 600) for i in rng.integers(0, 4, 10)]
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(" ".join(words), encoding="utf-8")
    return path


def test_word2vec_trains_saves_and_prints_neighbours(corpus_file, tmp_path, capsys):
    out, plot = tmp_path / "vectors.txt", tmp_path / "words.svg"
    code = main(["word2vec", str(corpus_file), "--dim", "12", "--window", "2", "--epochs", "3", "--min-count", "1",
                 "--lr", "0.05", "--sample", "0", "--out", str(out), "--show", "cat", "red", "--neighbours", "3", "--plot", str(plot),
                 "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "6,000 words, vocabulary of 12 words" in text and "words/s" in text
    kv = KeyedVectors.load_word2vec_format(out)
    assert len(kv) == 12 and kv.vector_size == 12
    neighbours = {line.split(":")[0].strip(): line.split(":")[1] for line in text.splitlines() if line.startswith("  ")}
    assert set(neighbours) == {"cat", "red"}
    assert all(w in neighbours["cat"] for w in ("dog", "horse", "cow"))
    assert "<svg" in plot.read_text()


def test_word2vec_trains_with_two_worker_processes(corpus_file, tmp_path, capsys):
    out = tmp_path / "vectors.txt"
    code = main(["word2vec", str(corpus_file), "--dim", "12", "--window", "2", "--epochs", "3", "--min-count", "1",
                 "--lr", "0.05", "--sample", "0", "--out", str(out), "--show", "cat", "--neighbours", "3", "--workers",
                 "2", "--quiet"])
    assert code == 0
    near = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  cat:")][0]
    assert all(w in near for w in ("dog", "horse", "cow"))
    assert len(KeyedVectors.load_word2vec_format(out)) == 12


def test_word2vec_progress_bar_and_default_words(corpus_file, tmp_path, capsys):
    assert main(["word2vec", str(corpus_file), "--dim", "8", "--epochs", "1", "--min-count", "1", "--out",
                 str(tmp_path / "v.txt"), "--mode", "cbow"]) == 0
    captured = capsys.readouterr()
    assert "word/s" in captured.err and "loss=" in captured.err
    assert sum(line.startswith("  ") for line in captured.out.splitlines()) == 5  # a few frequent words


@pytest.mark.parametrize("content,match", [
    (None, "does not exist"),
    (b"", "is empty"),
    (b"caf\xe9 au lait", "not valid UTF-8"),
    (b"   \n\t ", "no words"),
    (b"a b c", "fewer than 2 distinct words"),
])
def test_word2vec_corpus_errors_are_one_line(tmp_path, capsys, content, match):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    assert main(["word2vec", str(path), "--out", str(tmp_path / "v.txt"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lamina word2vec: error:") and match in err and "\n" not in err
    assert not (tmp_path / "v.txt").exists()


@pytest.mark.parametrize("flags,match", [(["--dim", "0"], "--dim must be >= 1"),
                                         (["--lr", "-1"], "--lr must be >= 0"),
                                         (["--show", "zebra"], "'zebra' not in the vocabulary")])
def test_word2vec_bad_flags(corpus_file, tmp_path, capsys, flags, match):
    args = ["word2vec", str(corpus_file), "--epochs", "1", "--dim", "4", "--min-count", "1", "--quiet", "--out",
            str(tmp_path / "v.txt")]
    assert main(args + flags) == 2
    assert match in capsys.readouterr().err


def test_word2vec_predict_prints_the_centre_words_of_a_context(tmp_path, capsys):
    corpus = tmp_path / "cycle.txt"  # w0 w1 ... w9 w0 ...: the centre of "w3 w5" is w4
    corpus.write_text(" ".join(f"W{i % 10}" for i in range(2000)), encoding="utf-8")
    code = main(["word2vec", str(corpus), "--mode", "cbow", "--dim", "16", "--window", "1", "--epochs", "12",
                 "--batch-size", "256", "--lr", "0.05", "--sample", "0", "--min-count", "1", "--lowercase", "--quiet",
                 "--out", str(tmp_path / "v.txt"), "--predict", "W3 w5", "--predict", "w9 w1", "--neighbours", "3"])
    assert code == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  centre of ")]
    assert [ln.split(":")[0] for ln in lines] == ["  centre of [w3 w5]", "  centre of [w9 w1]"]
    for line, centre in zip(lines, ("w4", "w0")):
        pairs = [p.split() for p in line.split(": ")[1].split(", ")]
        assert len(pairs) == 3 and pairs[0][0] == centre and float(pairs[0][1]) > 0.5, line


@pytest.mark.parametrize("context,message", [("cat zebra", "--predict 'cat zebra': 'zebra' not in the vocabulary"),
                                             ("  ", "give at least one context word")])
def test_word2vec_predict_refuses_unknown_words_before_training(corpus_file, tmp_path, capsys, context, message):
    assert main(["word2vec", str(corpus_file), "--min-count", "1", "--out", str(tmp_path / "v.txt"),
                 "--predict", context]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "word2vec: " not in captured.out and not (tmp_path / "v.txt").exists()
