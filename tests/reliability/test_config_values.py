"""TOML configs of ``lamina train``: every value is checked against its key's type and range, never coerced;
nothing stands beside ``[train]``; an unreadable file is one line."""
import shutil

import pytest
from conftest import assert_one_line_error

from lamina.runs import RunConfig, UserError


@pytest.mark.parametrize("line,message", [
    ("epochs = 1.7", "epochs must be an integer, got 1.7"),
    ("epochs = true", "epochs must be an integer, got true"),
    ("epochs = '12'", 'epochs must be an integer, got "12"'),
    ("lr = false", "lr must be a number, got false"),
    ("lr = '0.1'", 'lr must be a number, got "0.1"'),
    ("model = 3", "model must be a string, got 3"),
    ("hidden = [256, 128]", "hidden must be a string, got [256, 128]"),
    ("seed = 1979-05-27", "seed must be an integer, got"),
    ("dropout = 1.0", "dropout must be in [0, 1), got 1.0"),
    ("batch_size = 0", "batch_size must be >= 1, got 0"),
    ("lr = nan", "lr must be a finite number > 0, got NaN"),
    ("lr = inf", "lr must be a finite number > 0, got Infinity"),
    ("momentum = -0.5", "momentum must be a finite number >= 0, got -0.5"),
    ("weight_decay = -1", "weight_decay must be a finite number >= 0, got -1"),
    ("seed = -1", "seed must be >= 0, got -1"),
    ("width = 0", "width must be >= 1, got 0"),
    ("patience = -2", "patience must be >= 0"),
    ("hidden = '256,0'", "hidden must be comma-separated layer widths >= 1"),
    ("model = 'transformer'", "model must be one of cnn, mlp"),
    ("schedule = 'linear'", "schedule must be one of none, step"),
    ("out = ''", "out must be a folder name, not empty"),
    ("val_fraction = 0", "val_fraction must be in (0, 1), got 0"),
])
def test_a_value_of_the_wrong_type_or_range_is_one_line_naming_the_key(line, message, tmp_path, cli):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[train]\n{line}\n")
    result = cli("train", "--config", cfg, "--quiet", "--out", tmp_path / "runs")
    assert_one_line_error(result, f"config file '{cfg}': {message}")
    assert not (tmp_path / "runs").exists()


def test_ints_are_numbers_for_float_keys_and_valid_values_are_kept(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nlr = 1\nepochs = 3\nhidden = '64'\nmodel = 'mlp'\n")
    c = RunConfig.from_toml(str(cfg))
    assert c.lr == 1.0 and isinstance(c.lr, float) and c.epochs == 3 and c.hidden == "64" and c.model == "mlp"


@pytest.mark.parametrize("text,message", [
    ("[train]\nepochs = 2\n[model]\nwidth = 8\n", "'model' stands beside [train]"),
    ("notes = 'x'\n[train]\nepochs = 2\n", "'notes' stands beside [train]"),
    ("train = 5\n", "train must be the table [train], got 5"),
    ("train = 'fast'\n", 'train must be the table [train], got "fast"'),
    ("[train\nepochs = 2\n", "is not valid TOML"),
])
def test_a_config_of_the_wrong_shape_is_one_line(text, message, tmp_path, cli):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert_one_line_error(cli("train", "--config", cfg, "--quiet", "--out", tmp_path / "runs"), message)


def test_a_config_that_is_not_utf8_is_one_line(tmp_path, cli):
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b"[train]\nmodel = 'caf\xe9'\n")
    assert_one_line_error(cli("train", "--config", cfg, "--quiet", "--out", tmp_path / "runs"), "is not UTF-8 text (byte 20 cannot be decoded)")


def test_a_config_that_is_a_folder_is_one_line(tmp_path, cli):
    assert_one_line_error(cli("train", "--config", tmp_path, "--quiet", "--out", tmp_path / "runs"), f"{tmp_path}: Is a directory")


def test_a_run_folder_whose_config_was_edited_to_a_wrong_value_is_one_line(finished_run, tmp_path, cli):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    text = (run / "config.toml").read_text()
    (run / "config.toml").write_text(text.replace("epochs = 2", "epochs = 2.5"))
    assert_one_line_error(cli("evaluate", run), "epochs must be an integer, got 2.5")


def test_python_callers_get_the_same_checks():
    with pytest.raises(UserError, match="tune: lr must be a finite number > 0, got -1"):
        RunConfig().updated({"lr": -1}, source="tune")
    with pytest.raises(UserError, match="--batch-size must be >= 1, got 0"):
        RunConfig().updated({"batch_size": 0}, source="command line")
