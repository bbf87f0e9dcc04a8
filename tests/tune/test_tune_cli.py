"""``lamina tune``: a tiny search of the default model on the shipped digits, resume, one-line errors."""
import json

import pytest

from lamina.cli import main


def test_tune_prints_table_and_best_trial_and_resumes(tmp_path, capsys):
    journal = tmp_path / "search.jsonl"
    argv = ["tune", "--trials", "2", "--epochs", "1", "--width", "8", "--strategy", "random", "--quiet",
            "--storage", str(journal), "--seed", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("tune: random search of lr, width, optimizer, weight_decay")
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "state"])
    rows = lines[header + 1:header + 3]
    assert [r.split()[0] for r in rows] == ["0", "1"]
    assert all(r.split()[1] in ("COMPLETE", "PRUNED", "FAIL") for r in rows)
    best = next(line for line in lines if line.startswith("best trial #"))
    assert "lr=" in best and "optimizer=" in best and "weight_decay=" in best and "width=8" in best
    assert any(line.startswith("train it: lamina train ") and "--lr " in line for line in lines)
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records[0]["op"] == "study" and sum(r["op"] == "finish" for r in records) == 2

    assert main(argv[:2] + ["3"] + argv[3:]) == 0          # resume: one more trial
    out = capsys.readouterr().out
    assert "resuming" in out and "2 trials done, 1 to run" in out
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(r["number"] for r in records if r["op"] == "finish") == [0, 1, 2]


def test_tune_bayesian_maximising_accuracy(capsys):
    assert main(["tune", "--trials", "2", "--epochs", "1", "--width", "8", "--metric", "val_accuracy",
                 "--pruner", "none", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "bayesian search" in out and "val_accuracy" in out and "best trial #" in out


def test_tune_with_two_worker_processes(capsys):
    assert main(["tune", "--trials", "2", "--epochs", "1", "--width", "8", "--strategy", "evolutionary",
                 "--workers", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 workers" in out and "best trial #" in out


@pytest.mark.parametrize("argv,message", [
    (["tune", "--trials", "0"], "--trials must be >= 1, got 0"),
    (["tune", "--epochs", "-1"], "--epochs must be >= 1, got -1"),
    (["tune", "--workers", "0"], "--workers must be >= 1, got 0"),
    (["tune", "--storage", "/no/such/folder/s.jsonl"], "folder '/no/such/folder' does not exist"),
])
def test_bad_flags_give_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lamina tune: error: ") and message in err[0]


def test_resuming_with_another_direction_is_a_user_error(tmp_path, capsys):
    journal = tmp_path / "s.jsonl"
    assert main(["tune", "--trials", "1", "--epochs", "1", "--width", "8", "--strategy", "random", "--quiet",
                 "--storage", str(journal)]) == 0
    capsys.readouterr()
    assert main(["tune", "--metric", "val_accuracy", "--storage", str(journal)]) == 2
    assert "holds a 'minimize' study" in capsys.readouterr().err
