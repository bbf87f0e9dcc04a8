"""read_corpus: words of a UTF-8 file; missing, empty or non-UTF-8 files give clear errors."""
import codecs

import pytest

from lamina.text import read_corpus


def test_reads_whitespace_separated_words(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("anarchism originated  as\ta\nterm of abuse\n\n café 日本 ", encoding="utf-8")
    assert read_corpus(p) == ["anarchism", "originated", "as", "a", "term", "of", "abuse", "café", "日本"]
    assert read_corpus(str(p)) == read_corpus(p)


def test_lowercase_and_bom(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(codecs.BOM_UTF8 + b"The Cat")
    assert read_corpus(p) == ["The", "Cat"]
    assert read_corpus(p, lowercase=True) == ["the", "cat"]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"corpus file '.*missing\.txt' does not exist"):
        read_corpus(tmp_path / "missing.txt")


def test_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        read_corpus(tmp_path)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match=r"'.*empty\.txt' is empty \(0 bytes\)"):
        read_corpus(p)
    q = tmp_path / "blank.txt"
    q.write_text(" \n\t \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"blank\.txt' contains no words"):
        read_corpus(q)


def test_not_utf8_gives_byte_offset_and_line(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes(b"hello world\nna" + "ïve".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt' is not valid UTF-8: byte 0xef at byte offset 14 \(line 2\)"):
        read_corpus(p)
    q = tmp_path / "bom_bad.txt"
    q.write_bytes(codecs.BOM_UTF8 + b"ok \xff")
    with pytest.raises(ValueError, match="byte 0xff at byte offset 6 "):
        read_corpus(q)


def test_bad_path_type():
    with pytest.raises(TypeError, match="path-like"):
        read_corpus(42)
