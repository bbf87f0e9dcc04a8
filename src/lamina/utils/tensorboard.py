"""``SummaryWriter``: TensorBoard event files, with the methods of ``torch.utils.tensorboard``.

    from lamina.utils.tensorboard import SummaryWriter

    with SummaryWriter("runs/mlp") as w:
        for step in range(100):
            w.add_scalar("loss/train", loss, step)
        w.add_histogram("fc1.weight", model.fc1.weight, step)
        w.add_hparams({"lr": 0.01, "width": 64}, {"hparam/val_loss": 0.31})

then ``tensorboard --logdir runs``. Events are written by the ``tensorboard`` package's own
``EventFileWriter`` into its protocol buffers (``pip install 'lamina[tensorboard]'``); values may be
lamina tensors, NumPy arrays or Python numbers.
"""
from __future__ import annotations

import io
import os
import socket
import time
from datetime import datetime
from typing import Any, Self

import numpy as np

from ..tensor import Tensor

__all__ = ["SummaryWriter"]

_INSTALL = "lamina.utils.tensorboard needs the tensorboard package: pip install 'lamina[tensorboard]'"


def _tensorboard():
    """The tensorboard modules used here (an optional dependency, imported on first use)."""
    try:
        from google.protobuf import struct_pb2  # protobuf comes with tensorboard
        from tensorboard.compat.proto import (
            event_pb2,
            summary_pb2,
            tensor_pb2,
            tensor_shape_pb2,
        )
        from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
        from tensorboard.plugins.hparams import metadata as hp_metadata
        from tensorboard.plugins.text import plugin_data_pb2 as text_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ModuleNotFoundError(_INSTALL) from None
    return {"event": event_pb2, "summary": summary_pb2, "tensor": tensor_pb2, "shape": tensor_shape_pb2,
            "hp_api": api_pb2, "hp_meta": hp_metadata, "hp_data": plugin_data_pb2, "text": text_pb2,
            "struct": struct_pb2, "EventFileWriter": EventFileWriter}


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy()
    return np.asarray(x)


def _default_bins() -> list[float]:
    """TensorFlow's histogram buckets: ±1e-12·1.1^k up to 1e20, and 0."""
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-b for b in reversed(pos)] + [0.0] + pos


def _histogram(pb, values: np.ndarray, bins: Any, max_bins: int | None):
    """A HistogramProto: counts between right bucket limits, trimmed to the buckets that hold values."""
    values = values.reshape(-1).astype(np.float64)
    if values.size == 0:
        raise ValueError("add_histogram: the values are empty")
    counts, limits = np.histogram(values, bins=_default_bins() if bins == "tensorflow" else bins)
    if max_bins is not None and len(counts) > max_bins:
        k = -(-len(counts) // max_bins)
        pad = (-len(counts)) % k
        counts = np.pad(counts, (0, pad)).reshape(-1, k).sum(axis=1)
        limits = np.append(limits[:-1:k], limits[-1])
    nonzero = np.flatnonzero(counts)
    first, last = int(nonzero[0]), int(nonzero[-1])
    # TensorBoard keeps right limits only: an empty bucket before the first keeps the left edge
    counts = np.concatenate([[0], counts[: last + 1]]) if first == 0 else counts[first - 1: last + 1]
    limits = limits[first: last + 2]
    return pb.HistogramProto(min=float(values.min()), max=float(values.max()), num=int(values.size),
                             sum=float(values.sum()), sum_squares=float(values.dot(values)),
                             bucket_limit=limits.tolist(), bucket=counts.tolist())


def _hwc(img: np.ndarray, dataformats: str) -> np.ndarray:
    """The image as height × width × channels, whatever axis order it came in."""
    fmt = dataformats.upper()
    if img.ndim != len(fmt) or sorted(fmt) not in (sorted("HW"), sorted("CHW")):
        raise ValueError(f"add_image: an image of shape {tuple(img.shape)} does not match dataformats={dataformats!r} "
                         "(use 'CHW', 'HWC' or 'HW')")
    if "C" not in fmt:
        img, fmt = img[..., None], fmt + "C"
    img = np.transpose(img, [fmt.index(a) for a in "HWC"])
    if img.shape[2] not in (1, 3, 4):
        raise ValueError(f"add_image: {img.shape[2]} channels; images have 1 (grey), 3 (RGB) or 4 (RGBA)")
    return img


def _png(img: np.ndarray) -> bytes:
    """PNG bytes of an H×W×C image: floats are taken in [0, 1], integers in [0, 255]."""
    from PIL import Image  # Pillow comes with matplotlib, a lamina dependency

    if img.dtype.kind == "f":
        img = np.clip(img * 255.0 + 0.5, 0, 255)
    pixels = img.astype(np.uint8)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    buf = io.BytesIO()
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(buf, format="PNG")
    return buf.getvalue()


def _default_log_dir(comment: str) -> str:
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


class SummaryWriter:
    """``SummaryWriter(log_dir=None, comment='', max_queue=10, flush_secs=120, filename_suffix='')``.

    ``log_dir`` defaults to ``runs/<date>_<host><comment>``, as in PyTorch. Every ``add_*`` takes
    ``global_step`` (the x axis) and ``walltime`` (seconds since the epoch; now by default)."""

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = ""):
        self._tb = _tensorboard()
        self.log_dir = os.fspath(log_dir) if log_dir is not None else _default_log_dir(comment)
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        self._writer = self._open(self.log_dir)
        self._children: dict[str, Any] = {}

    def _open(self, log_dir: str):
        return self._tb["EventFileWriter"](log_dir, self.max_queue, self.flush_secs, self.filename_suffix)

    def get_logdir(self) -> str:
        return self.log_dir

    # ------------------------------------------------------------------ writing
    def _write(self, summary, global_step: int | None, walltime: float | None, writer=None) -> None:
        event = self._tb["event"].Event(summary=summary, wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            event.step = int(global_step)
        (writer or self._writer).add_event(event)

    def _value(self, **fields):
        pb = self._tb["summary"]
        return pb.Summary(value=[pb.Summary.Value(**fields)])

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None,
                   walltime: float | None = None) -> None:
        """One point of the curve ``tag``."""
        self._write(self._value(tag=tag, simple_value=float(_numpy(scalar_value))), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several curves in one chart: each ``tag`` goes to the run ``log_dir/<main_tag>_<tag>``."""
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            run = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            if run not in self._children:
                self._children[run] = self._open(run)
            summary = self._value(tag=main_tag, simple_value=float(_numpy(value)))
            self._write(summary, global_step, walltime, self._children[run])

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None, bins: Any = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """The distribution of ``values``; ``bins`` as NumPy's (an int, edges or a rule such as
        ``'auto'``), or ``'tensorflow'``: TensorFlow's exponential buckets."""
        histo = _histogram(self._tb["summary"], _numpy(values), bins, max_bins)
        self._write(self._value(tag=tag, histo=histo), global_step, walltime)

    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """An image (floats in [0, 1] or uint8), laid out as ``dataformats`` ('CHW', 'HWC' or 'HW')."""
        img = _hwc(_numpy(img_tensor), dataformats)
        pb = self._tb["summary"]
        image = pb.Summary.Image(height=img.shape[0], width=img.shape[1], colorspace=img.shape[2],
                                 encoded_image_string=_png(img))
        self._write(self._value(tag=tag, image=image), global_step, walltime)

    def add_figure(self, tag: str, figure: Any, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """A matplotlib figure, rendered to an RGBA image (and closed unless ``close=False``)."""
        figure.canvas.draw()
        rgba = np.asarray(figure.canvas.buffer_rgba())
        if close:
            import matplotlib.pyplot as plt

            plt.close(figure)
        self.add_image(tag, rgba, global_step, walltime, dataformats="HWC")

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Markdown text, shown in the Text tab under ``tag``."""
        pb, tb = self._tb["summary"], self._tb
        meta = pb.SummaryMetadata(plugin_data=pb.SummaryMetadata.PluginData(
            plugin_name="text", content=tb["text"].TextPluginData(version=0).SerializeToString()))
        tensor = tb["tensor"].TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf-8")],
                                          tensor_shape=tb["shape"].TensorShapeProto(
                                              dim=[tb["shape"].TensorShapeProto.Dim(size=1)]))
        self._write(self._value(tag=f"{tag}/text_summary", metadata=meta, tensor=tensor), global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """One session of the HParams tab, in the run ``log_dir/<run_name>`` (a timestamp by default):
        its hyperparameters (bool, int, float or str) and its metrics (also written as scalars)."""
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("add_hparams: hparam_dict and metric_dict must be dicts")
        run = os.path.join(self.log_dir, run_name or str(time.time()))
        writer = self._open(run)
        for summary in _hparams_summaries(self._tb, hparam_dict, metric_dict, hparam_domain_discrete or {}):
            self._write(summary, global_step, None, writer)
        for tag, value in metric_dict.items():
            self._write(self._value(tag=tag, simple_value=float(_numpy(value))), global_step, None, writer)
        writer.close()

    # ------------------------------------------------------------------ lifetime
    def flush(self) -> None:
        """Write every pending event to disk."""
        self._writer.flush()
        for w in self._children.values():
            w.flush()

    def close(self) -> None:
        self._writer.close()
        for w in self._children.values():
            w.close()
        self._children = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter(log_dir={self.log_dir!r})"


def _hparam_info(tb, name: str, value: Any, domain: list | None):
    """The HParamInfo of one hyperparameter: its type and, if given, its discrete domain."""
    api, struct_pb2 = tb["hp_api"], tb["struct"]
    if isinstance(value, bool):
        kind, field = "DATA_TYPE_BOOL", "bool_value"
    elif isinstance(value, (int, float)):
        kind, field = "DATA_TYPE_FLOAT64", "number_value"
    elif isinstance(value, str):
        kind, field = "DATA_TYPE_STRING", "string_value"
    else:
        raise TypeError(f"add_hparams: hyperparameter {name!r} = {value!r}: values must be bool, int, float or str")
    listed = None if domain is None else struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d}) for d in domain])
    return api.HParamInfo(name=name, type=api.DataType.Value(kind), domain_discrete=listed), field


def _hparams_summaries(tb, hparams: dict, metrics: dict, domains: dict) -> list:
    """The experiment, session-start and session-end summaries of the HParams plugin."""
    api, data, meta, pb = tb["hp_api"], tb["hp_data"], tb["hp_meta"], tb["summary"]
    infos, start = [], data.SessionStartInfo()
    for name, value in hparams.items():
        if value is None:
            continue
        value = _numpy(value).item() if isinstance(value, (Tensor, np.ndarray, np.generic)) else value
        info, field = _hparam_info(tb, name, value, domains.get(name))
        infos.append(info)
        setattr(start.hparams[name], field, value)
    experiment = api.Experiment(hparam_infos=infos,
                                metric_infos=[api.MetricInfo(name=api.MetricName(tag=k)) for k in metrics])
    end = data.SessionEndInfo(status=api.Status.Value("STATUS_SUCCESS"))
    out = []
    for tag, content in ((meta.EXPERIMENT_TAG, data.HParamsPluginData(experiment=experiment)),
                         (meta.SESSION_START_INFO_TAG, data.HParamsPluginData(session_start_info=start)),
                         (meta.SESSION_END_INFO_TAG, data.HParamsPluginData(session_end_info=end))):
        content.version = meta.PLUGIN_DATA_VERSION
        plugin = pb.SummaryMetadata.PluginData(plugin_name=meta.PLUGIN_NAME, content=content.SerializeToString())
        out.append(pb.Summary(value=[pb.Summary.Value(tag=tag, metadata=pb.SummaryMetadata(plugin_data=plugin))]))
    return out
