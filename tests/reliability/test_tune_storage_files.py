"""``--storage FILE`` / ``storage=FILE`` is only ever written when FILE is a journal (or empty, or new): a file
that is not a journal is refused, one line and exit code 2 on the command line, and its bytes stay as they were;
a journal whose last line was torn by a kill is still resumed."""
import json
import warnings

import pytest
from conftest import assert_one_line_error

from lamina import tune
from lamina.tune.trial import TrialState

TUNE = ["tune", "--trials", "1", "--epochs", "1", "--width", "4", "--strategy", "random", "--pruner", "none",
        "--quiet"]

NOT_JOURNALS = {
    "notes, one line": b"my notes about the lr search",
    "notes, with newline": b"my notes\nsecond line\n",
    "JSON, no op": b'{"lr": 0.1}\n',
    "record, no header": b'{"op": "start", "number": 0}\n',
    "other op, no newline": b'{"op": "x"}',
    "binary": bytes(range(256)),
    "a brace": b"{ not json",
}


def _journal(path, n_trials=3):
    study = tune.create_study(strategy=tune.Random(seed=0), storage=path)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=n_trials)
    return study


@pytest.mark.parametrize("content", NOT_JOURNALS.values(), ids=NOT_JOURNALS.keys())
def test_the_cli_refuses_a_file_that_is_not_a_journal_and_leaves_it(content, tmp_path, fast_digits, cli):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    result = cli(*TUNE, "--storage", path)
    assert_one_line_error(result, "--storage", "not a lamina journal", "refusing to touch it")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]      # no lock file left either


@pytest.mark.parametrize("content", NOT_JOURNALS.values(), ids=NOT_JOURNALS.keys())
def test_the_api_raises_not_a_journal_and_leaves_the_file(content, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # no "cutting off a torn record" either
        with pytest.raises(tune.NotAJournalError, match="not a lamina journal"):
            tune.create_study(storage=path)
        with pytest.raises(tune.NotAJournalError, match="not a lamina journal"):
            tune.load_study(storage=str(path))
    assert path.read_bytes() == content
    assert isinstance(tune.NotAJournalError("x"), ValueError)


def test_a_folder_as_storage_is_one_line(tmp_path, fast_digits, cli):
    (tmp_path / "d").mkdir()
    assert_one_line_error(cli(*TUNE, "--storage", tmp_path / "d"), "--storage", "not a regular file")


def test_an_empty_file_becomes_a_journal(tmp_path, fast_digits, cli):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    result = cli(*TUNE, "--storage", path)
    assert result.code == 0, result.err
    ops = [json.loads(line)["op"] for line in path.read_text().splitlines()]
    assert ops == ["study", "start", "finish"]


def test_a_valid_journal_is_resumed_by_the_cli(tmp_path, fast_digits, cli):
    path = tmp_path / "s.jsonl"
    assert cli(*TUNE, "--storage", path).code == 0
    before = path.read_bytes()
    result = cli(*TUNE[:2], "2", *TUNE[3:], "--storage", path)
    assert result.code == 0, result.err
    assert "resuming" in result.out and "1 trials done, 1 to run" in result.out
    assert path.read_bytes().startswith(before)


def test_a_journal_with_a_torn_last_line_is_still_accepted(tmp_path):
    path = tmp_path / "torn.jsonl"
    full = _journal(path)
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"op":"finish","number":3,"sta')
    with pytest.warns(UserWarning, match="torn"):
        resumed = tune.create_study(strategy=tune.Random(seed=0), storage=path)
    assert path.read_bytes() == intact                       # exactly the torn tail was cut
    assert [t.params for t in resumed.trials] == [t.params for t in full.trials]
    assert [t.state for t in resumed.trials] == [TrialState.COMPLETE] * 3


def test_a_torn_header_is_an_empty_journal(tmp_path):
    path = tmp_path / "header.jsonl"
    path.write_bytes(b'{"op":"study","version":1,"dire')
    with pytest.warns(UserWarning, match="torn"):
        study = tune.create_study(strategy=tune.Random(seed=0), storage=path)
    assert study.trials == []
    assert [json.loads(line)["op"] for line in path.read_text().splitlines()] == ["study"]


def test_text_appended_by_hand_after_the_records_is_refused(tmp_path):
    path = tmp_path / "mixed.jsonl"
    _journal(path, n_trials=1)
    content = path.read_bytes() + b"appended by hand, no newline"
    path.write_bytes(content)
    with pytest.raises(tune.NotAJournalError, match="last line"):
        tune.create_study(storage=path)
    assert path.read_bytes() == content
