"""SummaryWriter's event files, read back with TensorBoard's own EventAccumulator."""
import io
import os

import matplotlib
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import lamina
from lamina.utils.tensorboard import SummaryWriter

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _events(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_come_back_with_their_steps_and_wall_times(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=5)
    with SummaryWriter(tmp_path) as w:
        for step, v in enumerate(values):
            w.add_scalar("loss/train", lamina.tensor(v) if step % 2 else float(v), step, walltime=1000.0 + step)
    points = _events(tmp_path).Scalars("loss/train")
    assert [p.step for p in points] == list(range(5))
    assert [p.wall_time for p in points] == [1000.0 + s for s in range(5)]
    np.testing.assert_allclose([p.value for p in points], values, rtol=1e-6)


def test_add_scalars_writes_one_run_per_curve_under_the_main_tag(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("loss", {"train": 1.0 / (step + 1), "val": 2.0 / (step + 1)}, step)
    assert {"loss_train", "loss_val"} <= set(os.listdir(tmp_path))
    for run, scale in (("loss_train", 1.0), ("loss_val", 2.0)):
        points = _events(tmp_path / run).Scalars("loss")
        np.testing.assert_allclose([p.value for p in points], [scale, scale / 2, scale / 3], rtol=1e-6)


def test_histogram_statistics_and_bucket_counts(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.normal(size=(50, 20)).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", lamina.tensor(values), 3)
        w.add_histogram("w_auto", values, 3, bins="auto")
        w.add_histogram("w_coarse", values, 3, bins=64, max_bins=10)
    acc = _events(tmp_path)
    for tag in ("w", "w_auto", "w_coarse"):
        (event,) = acc.Histograms(tag)
        h = event.histogram_value
        assert event.step == 3 and h.num == values.size and sum(h.bucket) == values.size
        assert h.min == pytest.approx(values.min()) and h.max == pytest.approx(values.max())
        assert h.sum == pytest.approx(values.astype(np.float64).sum(), rel=1e-6)
        assert h.sum_squares == pytest.approx(float((values.astype(np.float64) ** 2).sum()), rel=1e-6)
        assert list(h.bucket_limit) == sorted(h.bucket_limit) and h.bucket_limit[-1] >= values.max()
    assert len(acc.Histograms("w_coarse")[0].histogram_value.bucket) <= 11


def test_images_and_figures_decode_to_the_pixels_written(tmp_path):
    rng = np.random.default_rng(2)
    chw = rng.uniform(size=(3, 8, 5))
    grey = (rng.uniform(size=(6, 4)) * 255).astype(np.uint8)
    fig = plt.figure(figsize=(2, 1), dpi=50)
    fig.add_subplot().plot([0, 1], [1, 0])
    with SummaryWriter(tmp_path) as w:
        w.add_image("rgb", chw, 0)
        w.add_image("grey", grey, 1, dataformats="HW")
        w.add_figure("fig", fig, 2)
        with pytest.raises(ValueError, match="5 channels"):
            w.add_image("bad", chw, 0, dataformats="HWC")
        with pytest.raises(ValueError, match="does not match dataformats='CHW'"):
            w.add_image("bad", grey, 0)
    acc = _events(tmp_path)
    (rgb,) = acc.Images("rgb")
    pixels = np.asarray(Image.open(io.BytesIO(rgb.encoded_image_string)))
    assert (rgb.height, rgb.width) == (8, 5)
    np.testing.assert_array_equal(pixels, np.clip(np.transpose(chw, (1, 2, 0)) * 255 + 0.5, 0, 255).astype(np.uint8))
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(acc.Images("grey")[0].encoded_image_string))),
                                  grey)
    (figure,) = acc.Images("fig")
    assert (figure.width, figure.height) == (100, 50) and figure.step == 2
    assert not plt.fignum_exists(fig.number)


def test_text_is_stored_for_the_text_plugin(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "lr **0.1**", 4)
    acc = _events(tmp_path)
    (event,) = acc.Tensors("notes/text_summary")
    assert event.step == 4 and event.tensor_proto.string_val == [b"lr **0.1**"]
    assert "notes/text_summary" in acc.PluginTagToContent("text")


def test_hparams_session_holds_the_hyperparameters_and_metrics(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.01, "width": 64, "opt": "adam", "nesterov": True},
                      {"hparam/val_loss": 0.25}, hparam_domain_discrete={"opt": ["sgd", "adam"]}, run_name="s1")
    acc = _events(tmp_path / "s1")
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = start.session_start_info.hparams
    assert hp["lr"].number_value == 0.01 and hp["width"].number_value == 64
    assert hp["opt"].string_value == "adam" and hp["nesterov"].bool_value is True
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/val_loss"]
    domain = {i.name: [v.string_value for v in i.domain_discrete.values] for i in experiment.hparam_infos}
    assert domain["opt"] == ["sgd", "adam"]
    assert acc.Scalars("hparam/val_loss")[0].value == pytest.approx(0.25)
    with pytest.raises(TypeError, match="bool, int, float or str"), SummaryWriter(tmp_path) as w:
        w.add_hparams({"layers": [1, 2]}, {})


def test_flush_makes_events_readable_before_close(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=3600)
    w.add_scalar("x", 1.5, 0)
    w.flush()
    assert _events(tmp_path).Scalars("x")[0].value == 1.5
    w.close()


def test_default_log_dir_is_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_mlp") as w:
        assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_mlp")
    assert os.listdir(tmp_path / "runs")


def test_without_tensorboard_installed_the_error_says_what_to_install(tmp_path, monkeypatch):
    import sys

    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ModuleNotFoundError, match=r"^lamina.utils.tensorboard needs the tensorboard package: "
                                                  r"pip install 'lamina\[tensorboard\]'$"):
        SummaryWriter(tmp_path)
