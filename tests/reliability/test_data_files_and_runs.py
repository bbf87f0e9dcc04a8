"""Data files at their edges (tiny, empty, overflowing IDX headers), ``train.predict`` on no inputs, and a run
that was killed before it finished."""
import os
import shutil
import struct

import numpy as np
import pytest
from conftest import assert_one_line_error

import lamina.runs
import lamina.train
from lamina import nn
from lamina.datasets import mnist
from lamina.datasets.errors import DataFileError
from lamina.datasets.idx import read_idx, write_idx
from lamina.models import MLP
from lamina.models.small_cnn import SmallCNN


def _mnist_files(folder, train_labels, test_labels):
    rng = np.random.default_rng(0)
    for split, labels in (("train", train_labels), ("t10k", test_labels)):
        images = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        write_idx(folder / f"{split}-images-idx3-ubyte", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte", np.asarray(labels, dtype=np.uint8))


def test_tiny_idx_files_with_one_training_class_train_and_evaluate(tmp_path, cli):
    """3 training images all of class 0; the test split has classes the training labels never show."""
    _mnist_files(tmp_path, [0, 0, 0], [0, 3, 9])
    result = cli("train", "--dataset", "mnist", "--data-root", tmp_path, "--model", "logistic", "--epochs", "1",
                 "--quiet", "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    (run,) = os.listdir(tmp_path / "runs")
    assert cli("evaluate", tmp_path / "runs" / run).code == 0


def test_the_class_count_is_the_datasets_not_the_largest_training_label(tmp_path):
    _mnist_files(tmp_path, [0, 1, 1, 0, 1], [2])
    cfg = lamina.runs.RunConfig(dataset="mnist", data_root=str(tmp_path), model="logistic")
    data = lamina.runs.load_data(cfg, "logistic")
    assert data.num_classes == 10 == len(data.classes)
    assert lamina.runs.build_model(cfg, data)[1].out_features == 10


def test_an_idx_header_whose_sizes_overflow_int64_fails_the_length_check(tmp_path):
    path = tmp_path / "huge-idx"
    sizes = [2**16] * 4  # 2**64 elements: the product wraps to 0 in int64
    path.write_bytes(bytes([0, 0, 0x08, 4]) + struct.pack(">4I", *sizes))
    with pytest.raises(DataFileError, match="truncated file: header declares uint8 array of shape"):
        read_idx(path)


def test_zero_image_files_are_a_clear_error(tmp_path, cli):
    _mnist_files(tmp_path, [], [1])
    with pytest.raises(DataFileError, match="holds no images"):
        mnist(root=tmp_path)
    assert_one_line_error(cli("train", "--dataset", "mnist", "--data-root", tmp_path, "--quiet", "--out", tmp_path / "runs"), "holds no images")


@pytest.mark.parametrize("model,shape", [(lambda: MLP([64, 8, 10]), (0, 64)),
                                         (lambda: SmallCNN(10, 1, width=4), (0, 1, 8, 8)),
                                         (lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 3)), (0, 64))])
def test_predict_on_no_inputs_has_the_models_output_shape(model, shape):
    m = model()
    out = lamina.train.predict(m, np.zeros(shape, np.float32))
    assert out.shape == (0, m(lamina.tensor(np.zeros((2,) + shape[1:], np.float32))).shape[1])


def _killed_run(finished_run, tmp_path):
    """What kill -9 in the middle of ``lamina train`` leaves: config, history, best and last checkpoints."""
    run = tmp_path / "killed"
    run.mkdir()
    for name in ("config.toml", "history.csv"):
        shutil.copy(os.path.join(finished_run, name), run / name)
    state = lamina.load(os.path.join(finished_run, "checkpoint.safetensors"))
    lamina.save({**state, "epoch": 0}, run / "best.safetensors")
    lamina.save({**state, "epoch": 1}, run / "last.safetensors")
    return run


def test_a_killed_run_is_evaluated_with_its_best_checkpoint(finished_run, tmp_path, cli):
    run = _killed_run(finished_run, tmp_path)
    result = cli("evaluate", run)
    assert result.code == 0, result.err
    assert result.err.strip() == (f"lamina evaluate: '{run}' did not finish (no checkpoint.safetensors): using "
                                  "best.safetensors, saved after epoch 1 of 2")
    assert cli("evaluate", finished_run).out.split(":")[-1] == result.out.split(":")[-1]  # the same weights


def test_a_killed_run_predicts_with_its_last_checkpoint_when_no_best_was_saved(finished_run, inputs, tmp_path, cli):
    run = _killed_run(finished_run, tmp_path)
    os.remove(run / "best.safetensors")
    result = cli("predict", run, inputs)
    assert result.code == 0, result.err
    assert "using last.safetensors, saved after epoch 2 of 2" in result.err and len(result.err.splitlines()) == 1
    assert result.out.splitlines()[0] == "index,prediction,probability" and len(result.out.splitlines()) == 5


def test_a_run_interrupted_during_training_is_usable(tmp_path, monkeypatch, fast_digits, cli):
    """Ctrl-C after the second of three epochs: exit 130, and the folder evaluates."""
    real = lamina.train.ModelCheckpoint.on_epoch_end

    def interrupt_after_epoch_1(self, epoch, logs=None):
        real(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(lamina.train.ModelCheckpoint, "on_epoch_end", interrupt_after_epoch_1)
    assert cli("train", "--epochs", "3", "--width", "4", "--quiet", "--out", tmp_path).code == 130
    (run,) = os.listdir(tmp_path)
    assert not os.path.exists(tmp_path / run / "checkpoint.safetensors")
    result = cli("evaluate", tmp_path / run)
    assert result.code == 0 and "using best.safetensors" in result.err


def test_a_run_folder_without_any_checkpoint_is_one_line(finished_run, tmp_path, cli):
    run = _killed_run(finished_run, tmp_path)
    for name in ("best.safetensors", "last.safetensors"):
        os.remove(run / name)
    assert_one_line_error(cli("evaluate", run), "checkpoint.safetensors is missing")


def test_a_checkpoint_that_is_not_a_training_checkpoint_is_one_line(finished_run, tmp_path, cli):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    lamina.save({"w": lamina.ones(2)}, run / "checkpoint.safetensors")
    assert_one_line_error(cli("evaluate", run), "is not a training checkpoint of lamina")
