"""Runs of the command line: a config → data, model, optimizer, schedule → a run folder.

A run folder (``runs/<timestamp>/``) holds ``config.toml`` (everything needed to rebuild the
run), ``history.csv``, ``curves.png``, ``confusion.png``, ``metrics.json`` and
``checkpoint.safetensors`` (model, optimizer, scheduler, RNG states, callbacks' states, epoch).
``evaluate`` and ``predict`` rebuild the model from the config and load the checkpoint.  While it
trains, the folder holds ``last.safetensors`` and ``best.safetensors``; ``lamina train --resume``
continues a run killed then from the last one, and ends with the files a run that never stopped
writes (``train_run(cfg, resume=folder)``).
"""
from __future__ import annotations

import json
import math
import os
import time
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from . import nn, train
from ._atomic import atomic_write
from .datasets import digits, fashion_mnist, mnist, xor
from .io import load
from .train.builders import (
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    UserError,
    build_model,
    build_optimizer,
    build_scheduler,
)
from .utils.data import train_val_test_split

DATASETS = ("digits", "xor", "mnist", "fashion-mnist")


def _layer_widths(hidden: str) -> list[int] | None:
    """``"256,128"`` -> [256, 128]; None unless every entry is an integer >= 1 (``""``: no hidden layer)."""
    try:
        widths = [int(h) for h in hidden.split(",") if h.strip()]
    except ValueError:
        return None
    return widths if all(w >= 1 for w in widths) else None


# what a value of a RunConfig field must be, beyond its type: (test, description); data_root: any path
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model": (lambda v: v in MODELS, f"one of {', '.join(MODELS)}"),
    "dataset": (lambda v: v in DATASETS, f"one of {', '.join(DATASETS)}"),
    "optimizer": (lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "schedule": (lambda v: v in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
    "lr": (lambda v: 0 < v < math.inf, "a finite number > 0"),
    "momentum": (lambda v: 0 <= v < math.inf, "a finite number >= 0"),
    "weight_decay": (lambda v: 0 <= v < math.inf, "a finite number >= 0"),
    "epochs": (lambda v: v >= 1, ">= 1"),
    "batch_size": (lambda v: v >= 1, ">= 1"),
    "seed": (lambda v: v >= 0, ">= 0"),
    "width": (lambda v: v >= 1, ">= 1"),
    "hidden": (lambda v: _layer_widths(v) is not None, "comma-separated layer widths >= 1, like '256,128'"),
    "dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "val_fraction": (lambda v: 0 < v < 1, "in (0, 1)"),
    "test_fraction": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "patience": (lambda v: v >= 0, ">= 0 (0: no early stopping)"),
    "out": (lambda v: v != "", "a folder name, not empty"),
}
# the Python types a value of each annotated field type may have (no coercion: 1.7 is not an int, nor true)
_TYPES = {"int": ((int,), "an integer"), "float": ((int, float), "a number"), "str": ((str,), "a string")}


def _checked(key: str, type_name: str, value, label: str):
    """``value`` for field ``key`` if it has the field's type and passes its rule (ints become floats for a
    float field); else a UserError naming ``label``, the expected type and the value."""
    allowed, what = _TYPES[type_name]
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise UserError(f"{label} must be {what}, got {json.dumps(value, default=str)}")
    test, rule = _RULES.get(key, (lambda v: True, ""))
    if not test(value):
        raise UserError(f"{label} must be {rule}, got {json.dumps(value, default=str)}")
    return float(value) if type_name == "float" else value


@dataclass
class RunConfig:
    model: str = "cnn"
    dataset: str = "digits"
    data_root: str = ""
    optimizer: str = "adam"
    lr: float = 3e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    epochs: int = 12
    batch_size: int = 32
    seed: int = 0
    width: int = 32
    hidden: str = "256,128"
    dropout: float = 0.2
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    patience: int = 0
    out: str = "runs"

    @classmethod
    def from_toml(cls, path: str) -> RunConfig:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise UserError(f"config file {path!r} does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise UserError(f"config file {path!r} is not valid TOML: {e}") from None
        except UnicodeDecodeError as e:
            raise UserError(f"config file {path!r} is not UTF-8 text (byte {e.start} cannot be decoded)") from None
        return cls().updated(_train_table(data, path), source=f"config file {path!r}")

    def updated(self, values: dict, source: str = "config") -> RunConfig:
        """A copy with ``values`` set; each must be a known key with a value of the field's type and range
        (from the command line, errors name the flag)."""
        known = {f.name: str(f.type) for f in fields(self)}
        out = RunConfig(**asdict(self))
        for k, v in values.items():
            key = k.replace("-", "_")
            if key not in known:
                close = [n for n in known if n.startswith(key[:3])]
                raise UserError(f"{source}: unknown key {k!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                                + f"; known keys: {', '.join(sorted(known))}")
            label = f"--{key.replace('_', '-')}" if source == "command line" else f"{source}: {k}"
            setattr(out, key, _checked(key, known[key], v, label))
        return out

    def to_toml(self) -> str:
        lines = ["[train]"]
        for k, v in asdict(self).items():
            lines.append(f"{k} = {json.dumps(v)}")
        return "\n".join(lines) + "\n"


def _train_table(data: dict, path: str) -> dict:
    """The settings of a parsed config file: its ``[train]`` table (nothing may stand beside it), or the
    whole file when it has no such table."""
    if "train" not in data:
        return data
    beside = sorted(set(data) - {"train"})
    if beside:
        raise UserError(f"config file {path!r}: {beside[0]!r} stands beside [train]; put every setting under "
                        "[train] (lamina reads no other table)")
    if not isinstance(data["train"], dict):
        raise UserError(f"config file {path!r}: train must be the table [train], got "
                        f"{json.dumps(data['train'], default=str)}")
    return data["train"]


# ---------------------------------------------------------------------------- data
@dataclass
class Data:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    image: bool  # inputs are (N, C, H, W)
    classes: list


_DIGITS = [str(i) for i in range(10)]
Arrays = tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None, list]  # X, y, test split, classes


def _digits_arrays(image: bool) -> Arrays:
    X, y = digits()
    X = (X / 16.0).astype(np.float32)
    return (X.reshape(-1, 1, 8, 8) if image else X), y, None, _DIGITS


def _xor_arrays(cfg: RunConfig, for_model: str, image: bool) -> Arrays:
    if image:
        raise UserError(f"model {for_model!r} needs images; the xor dataset has 2 features (use --model mlp)")
    X, y = xor(4000, seed=cfg.seed)
    return X.astype(np.float32), y.astype(np.int64), None, ["0", "1"]


def _scaled_pixels(a: np.ndarray, image: bool) -> np.ndarray:
    """uint8 pixels → float32 in [0, 1], as (N, 1, 28, 28) images or (N, 784) rows."""
    x = a.astype(np.float32) / 255.0
    return x.reshape(len(a), 1, 28, 28) if image else x.reshape(len(a), -1)


def _mnist_arrays(cfg: RunConfig, image: bool) -> Arrays:
    loader = mnist if cfg.dataset == "mnist" else fashion_mnist
    root = cfg.data_root or None
    Xa, ya = loader(root=root, train=True)
    Xb, yb = loader(root=root, train=False)
    test_split = (_scaled_pixels(Xb, image), yb.astype(np.int64))
    return _scaled_pixels(Xa, image), ya.astype(np.int64), test_split, _DIGITS


Splits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _split(cfg: RunConfig, X: np.ndarray, y: np.ndarray, test_split) -> Splits:
    """(X_train, y_train, X_val, y_val, X_test, y_test): stratified by ``y``; the dataset's own test split
    when it has one."""
    v, t = cfg.val_fraction, cfg.test_fraction
    if not (0 < v < 1 and 0 <= t < 1 and v + t < 1):
        raise UserError(f"val_fraction ({v}) and test_fraction ({t}) must be in (0, 1) and sum to less than 1")
    if test_split is None:
        Xtr, Xva, Xte, ytr, yva, yte = train_val_test_split(X, y, ratios=(1 - v - t, v, t), stratify=y, seed=cfg.seed)
    else:
        Xtr, Xva, _, ytr, yva, _ = train_val_test_split(X, y, ratios=(1 - v, v, 0.0), stratify=y, seed=cfg.seed)
        Xte, yte = test_split
    if len(Xtr) == 0:
        raise UserError(f"{cfg.dataset}: {len(X)} samples leave none for training after the validation and test "
                        "splits; use more data or smaller val_fraction / test_fraction")
    return Xtr, ytr, Xva, yva, Xte, yte


def load_data(cfg: RunConfig, for_model: str) -> Data:
    """The splits of ``cfg.dataset``, shaped for ``for_model``; the class count is the dataset's (its list of
    classes), not the largest label seen, so a split that lacks some classes still fits the model."""
    if cfg.dataset not in DATASETS:
        raise UserError(f"unknown dataset {cfg.dataset!r}; choose one of {', '.join(DATASETS)}")
    image = for_model in ("cnn", "lenet", "resnet")
    if cfg.dataset == "digits":
        X, y, test_split, classes = _digits_arrays(image)
    elif cfg.dataset == "xor":
        X, y, test_split, classes = _xor_arrays(cfg, for_model, image)
    else:
        X, y, test_split, classes = _mnist_arrays(cfg, image)
    y = np.asarray(y, dtype=np.int64)
    return Data(*_split(cfg, X, y, test_split), len(classes), image, classes)


# ---------------------------------------------------------------------------- runs
def new_run_dir(out: str) -> str:
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"out {out!r} is a file; it must be the folder that holds the run folders")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(out, stamp)
    k = 1
    while os.path.exists(path):
        k += 1
        path = os.path.join(out, f"{stamp}-{k}")
    os.makedirs(path)
    return path


def _differences(given: RunConfig, run: RunConfig) -> list[str]:
    return [f"{k} = {json.dumps(v)} (the run has {json.dumps(getattr(run, k))})"
            for k, v in asdict(given).items() if v != getattr(run, k)]


def resume_config(run_dir: str, given: RunConfig | None = None) -> RunConfig:
    """The config of run folder ``run_dir`` that ``lamina train --resume`` continues: it must have a
    config.toml and must not be finished; ``given`` (the config and flags of the command line, over the
    run's own) must equal it, for a resumed run is the same run."""
    if not os.path.isdir(run_dir):
        raise UserError(f"--resume {run_dir!r}: no such run folder")
    cfg_path = os.path.join(run_dir, "config.toml")
    if not os.path.exists(cfg_path):
        raise UserError(f"--resume {run_dir!r}: not a run folder of lamina train (config.toml is missing)")
    cfg = RunConfig.from_toml(cfg_path)
    if given is not None:
        diff = _differences(given, cfg)
        if diff:
            raise UserError(f"--resume {run_dir!r}: the given config/flags differ from the run's config.toml: "
                            f"{'; '.join(diff)}; resume without them, or start a new run")
    finished = os.path.exists(os.path.join(run_dir, "checkpoint.safetensors")) and not any(
        os.path.exists(os.path.join(run_dir, n)) for n in ("last.safetensors", "best.safetensors"))
    if finished:
        raise UserError(f"--resume {run_dir!r}: the run is finished (checkpoint.safetensors is written); "
                        "nothing to resume")
    return cfg


def train_run(cfg: RunConfig, progress: bool = True, echo=print, callbacks=(), resume: str | None = None) \
        -> tuple[str, dict]:
    """Train as ``cfg`` says, write the run folder, return (folder, test metrics).

    ``resume``: the folder of an interrupted run of ``cfg`` (see ``resume_config``); training continues
    from its last checkpoint (from the start when it has none) to the planned epochs, and the folder ends
    up as that of a run that never stopped (``metrics.json``'s ``train_seconds`` counts this session only)."""
    data = load_data(cfg, cfg.model)
    model = build_model(cfg, data)
    opt = build_optimizer(cfg, model.parameters())
    steps = math.ceil(len(data.X_train) / cfg.batch_size)
    sched = build_scheduler(cfg, opt, steps)
    last = None
    if resume is None:
        run_dir = new_run_dir(cfg.out)
        atomic_write(os.path.join(run_dir, "config.toml"), cfg.to_toml())
    else:
        run_dir = resume
        last = os.path.join(run_dir, "last.safetensors")
        last = last if os.path.exists(last) else None
    n_params = sum(p.numel() for p in model.parameters())
    echo(f"run {run_dir}: {cfg.model} ({n_params:,} parameters) on {cfg.dataset} "
         f"({len(data.X_train)} train / {len(data.X_val)} validation / {len(data.X_test)} test), "
         f"{cfg.optimizer} lr={cfg.lr}, {cfg.schedule} schedule, {cfg.epochs} epochs, seed {cfg.seed}")
    if resume is not None:
        done = int(load(last)["epoch"]) + 1 if last else 0
        echo(f"resuming {run_dir} after epoch {done} of {cfg.epochs}" if last else
             f"resuming {run_dir}: no epoch was finished, training from the start")
    extra = list(callbacks)
    callbacks = [train.TerminateOnNaN(raise_error=True), train.CSVLogger(os.path.join(run_dir, "history.csv")),
                 train.ModelCheckpoint(run_dir, monitor="val_loss"), *extra]
    if cfg.patience > 0:
        callbacks.append(train.EarlyStopping("val_loss", patience=cfg.patience, restore_best_weights=True))
    t0 = time.perf_counter()
    history = train.fit(model, nn.CrossEntropyLoss(), opt, (data.X_train, data.y_train),
                        val=(data.X_val, data.y_val), epochs=cfg.epochs, batch_size=cfg.batch_size,
                        scheduler=sched, seed=cfg.seed, callbacks=callbacks, progress=progress, resume=last)
    seconds = time.perf_counter() - t0
    return run_dir, _finish_run(run_dir, cfg, model, data, history, seconds)


def _finish_run(run_dir: str, cfg: RunConfig, model, data: Data, history, seconds: float) -> dict:
    """metrics.json and the figures from the best epoch's checkpoint, which becomes checkpoint.safetensors.
    Each step can be redone: a run killed in the middle of it resumes and finishes the same way."""
    best = os.path.join(run_dir, "best.safetensors")
    final = os.path.join(run_dir, "checkpoint.safetensors")
    chosen = best if os.path.exists(best) else final
    _load_weights(model, load(chosen), chosen)
    metrics = evaluate_model(model, data)
    metrics.update({"train_seconds": round(seconds, 2), "epochs_run": len(history),
                    "best_val_loss": float(np.nanmin(history["val_loss"]))})
    atomic_write(os.path.join(run_dir, "metrics.json"), json.dumps(metrics, indent=2))
    history.plot(os.path.join(run_dir, "curves.png"), title=f"{cfg.model} on {cfg.dataset}")
    pred = predict_classes(model, data.X_test)
    cm = train.confusion_matrix(data.y_test, pred, data.num_classes)
    train.plot_confusion_matrix(cm, os.path.join(run_dir, "confusion.png"), labels=data.classes,
                                title=f"test confusion matrix ({metrics['test_accuracy']:.2%})")
    if chosen == best:
        os.replace(best, final)
    last = os.path.join(run_dir, "last.safetensors")
    if os.path.exists(last):
        os.remove(last)
    return metrics


def evaluate_model(model, data: Data) -> dict:
    res = train.evaluate(model, nn.CrossEntropyLoss(), (data.X_test, data.y_test))
    return {"test_loss": float(res["loss"]), "test_accuracy": float(res["accuracy"])}


def predict_classes(model, X) -> np.ndarray:
    return train.predict(model, X).numpy().argmax(1)


def _checkpoint_of(run_dir: str) -> str:
    """The checkpoint to use: ``checkpoint.safetensors`` of a finished run; of a run that was killed, the best
    epoch's (``best.safetensors``), else the last one's."""
    for name in ("checkpoint.safetensors", "best.safetensors", "last.safetensors"):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            return path
    raise UserError(f"{run_dir!r} is not a complete run folder: checkpoint.safetensors is missing")


def _load_weights(model, state, ckpt: str) -> None:
    """Load the model weights of training checkpoint ``state`` (read from ``ckpt``) into ``model``."""
    if not (isinstance(state, dict) and isinstance(state.get("model"), dict)):
        raise UserError(f"{ckpt!r} is not a training checkpoint of lamina (it has no 'model' entry)")
    try:
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, RuntimeError) as e:
        detail = " ".join(str(e).split())
        raise UserError(f"{ckpt!r} does not fit the model that config.toml describes (was config.toml edited?): "
                        + (detail if len(detail) <= 300 else detail[:300] + " ...")) from None


def load_run(run_dir: str, note=print):
    """Rebuild the model of a run folder with its trained weights; returns (cfg, model, data). A run that was
    killed before it finished is used with its best (else last) checkpoint, which ``note`` reports."""
    if not os.path.isdir(run_dir):
        raise UserError(f"run folder {run_dir!r} does not exist")
    cfg_path = os.path.join(run_dir, "config.toml")
    if not os.path.exists(cfg_path):
        raise UserError(f"{run_dir!r} is not a complete run folder: config.toml is missing")
    ckpt = _checkpoint_of(run_dir)
    cfg = RunConfig.from_toml(cfg_path)
    data = load_data(cfg, cfg.model)
    model = build_model(cfg, data)
    state = load(ckpt)
    _load_weights(model, state, ckpt)
    if not ckpt.endswith("checkpoint.safetensors"):
        note(f"{run_dir!r} did not finish (no checkpoint.safetensors): using {os.path.basename(ckpt)}, saved "
             f"after epoch {int(state.get('epoch', -1)) + 1} of {cfg.epochs}")
    model.eval()
    return cfg, model, data


_NPY_MAGIC = b"\x93NUMPY"


def _read_npy(path: str) -> np.ndarray:
    with open(path, "rb") as f:
        if f.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise UserError(f"{path!r} is not a .npy file (it does not start with the NumPy format's magic "
                            "bytes); write inputs with numpy.save, or give a .csv file")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise UserError(f"{path!r} holds Python objects, not numbers; lamina reads numeric arrays only") \
                from None
        raise UserError(f"{path!r} is not a readable .npy array: {e}") from None


def _read_csv(path: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as e:
        raise UserError(f"{path!r}: every row must hold numbers separated by commas ({e})") from None


def _samples(X: np.ndarray, path: str, shape: tuple) -> np.ndarray:
    """``X`` as float32 samples of ``shape``: numbers, at least one sample, finite."""
    if X.dtype.kind not in "biuf":
        raise UserError(f"{path!r} holds values of dtype {X.dtype}; predict needs numbers")
    if X.ndim == 0:
        raise UserError(f"{path!r} holds a single number; give samples, one per row (shape (n, ...))")
    if X.size == 0:
        raise UserError(f"{path!r} holds no samples (shape {tuple(X.shape)})")
    X = np.asarray(X[None] if X.ndim == 1 else X, dtype=np.float32)
    per_sample = math.prod(shape)
    if X.reshape(len(X), -1).shape[1] != per_sample:
        raise UserError(f"{path!r}: each sample must have {per_sample} values (shape {shape}), "
                        f"got {X.reshape(len(X), -1).shape[1]}")
    if not np.isfinite(X).all():
        raise UserError(f"{path!r} holds NaN or infinite values (as float32)")
    return X.reshape((len(X),) + shape)


def read_inputs(path: str, data: Data) -> np.ndarray:
    """Inputs for ``predict``: a .npy array or a .csv file with one flattened sample per row."""
    if not os.path.exists(path):
        raise UserError(f"input file {path!r} does not exist")
    if path.endswith(".npy"):
        X = _read_npy(path)
    elif path.endswith(".csv") or path.endswith(".txt"):
        X = _read_csv(path)
    else:
        raise UserError(f"{path!r}: give a .npy or .csv file of inputs (one flattened sample per row)")
    return _samples(X, path, tuple(data.X_train.shape[1:]))
