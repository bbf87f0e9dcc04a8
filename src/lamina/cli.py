"""The ``lamina`` command line: train, evaluate, predict, graph, tune, word2vec, xor.

A mistake in the input (a missing file, a corrupt dataset, an unknown model or config key, a value out
of range, a loss that turns NaN) and a failure of the machine (a full disk, a read-only folder, no memory
left) end with one line on stderr and exit code 2, not a traceback.

Output files (``predict --out``, ``word2vec --out`` and ``--plot``, ``graph -o``): an existing regular file
is replaced, atomically, as a shell's ``>`` would; a symbolic link is written through to its target; a
directory, named pipe or device is refused, and so is a path that names one of the command's inputs.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import warnings

import numpy as np

from . import nn, train, tune, viz
from ._atomic import atomic_write, check_target
from .datasets import DatasetError
from .demo import train_xor, train_xor_manual
from .io import CheckpointError
from .models import Word2Vec
from .parallel import local_executor
from .runs import (
    DATASETS,
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    RunConfig,
    UserError,
    build_model,
    evaluate_model,
    load_data,
    load_run,
    read_inputs,
    resume_config,
    train_run,
)
from .tensor import tensor
from .text import Vocabulary, read_corpus
from .train import NaNLossError
from .tune.train_objective import TrainObjective

EXIT_USER_ERROR = 2
# mistakes in the input and failures of the machine: one line on stderr and EXIT_USER_ERROR, no traceback
_USER_ERRORS = (UserError, DatasetError, CheckpointError, NaNLossError, OSError, MemoryError)


def _one_line(e: BaseException) -> str:
    """The message of a user error on one line: ``path: reason`` for an OSError about a file."""
    if isinstance(e, OSError) and e.strerror and e.filename is not None:
        return f"{os.fsdecode(e.filename)}: {e.strerror}"
    text = " ".join(str(e).split())
    if isinstance(e, MemoryError):
        return f"out of memory ({text})" if text else "out of memory"
    return text or type(e).__name__


def _note(args):
    """A function printing one line about the run on stderr (stdout stays for the results)."""
    return lambda msg: print(f"lamina {args.command}: {msg}", file=sys.stderr)


def _run_files(run: str | None) -> tuple[str, ...]:
    """The files of run folder ``run`` that a command reads."""
    names = ("config.toml", "checkpoint.safetensors", "best.safetensors", "last.safetensors")
    return tuple(os.path.join(run, n) for n in names) if run else ()


def _check_output(flag: str, out: str, inputs: tuple[str, ...], suffixes: tuple[str, ...] = ()) -> None:
    """Before the work: an output path must name a regular file or nothing yet (ending in one of ``suffixes``
    when given) and none of ``inputs``, which writing there would replace."""
    if not out:
        raise UserError(f"{flag}: give a file name")
    if suffixes and os.path.splitext(out)[1].lower() not in suffixes:
        raise UserError(f"{flag} {out!r}: the name must end in {', '.join(suffixes)}")
    for path in inputs:
        if path and os.path.exists(out) and os.path.exists(path) and os.path.samefile(out, path):
            raise UserError(f"{flag} {out!r} is the input {path!r}: writing there would replace it")
    check_target(out)


def _config_from_args(args) -> RunConfig:
    cfg = RunConfig.from_toml(args.config) if args.config else RunConfig()
    overrides = {k: v for k, v in vars(args).items()
                 if k in RunConfig.__dataclass_fields__ and v is not None}
    if overrides.get("model") == "mlp" and "lr" not in overrides and not args.config:
        overrides.setdefault("lr", 1e-3)
    return cfg.updated(overrides, source="command line")


def _check_at_least(bounds) -> None:
    """``bounds``: (flag, value, lower bound) triples; a value given below its bound is a UserError."""
    for flag, v, lo in bounds:
        if v is not None and v < lo:
            raise UserError(f"{flag} must be >= {lo}, got {v}")


def _check_finite(values, strict: bool = False) -> None:
    """``values``: (flag, value) pairs; each must be finite and >= 0 (> 0 with ``strict``)."""
    for flag, v in values:
        if not math.isfinite(v):
            raise UserError(f"{flag} must be a finite number, got {v}")
        if not (v > 0 if strict else v >= 0):
            raise UserError(f"{flag} must be {'>' if strict else '>='} 0, got {v}")


def _resumed_config(args) -> RunConfig:
    """``--resume RUN``: the run's config.toml; a --config file or flags given too must say the same."""
    run_cfg = resume_config(args.resume)
    base = RunConfig.from_toml(args.config) if args.config else run_cfg
    overrides = {k: v for k, v in vars(args).items() if k in RunConfig.__dataclass_fields__ and v is not None}
    return resume_config(args.resume, base.updated(overrides, source="command line"))


def _train(args) -> int:
    cfg = _resumed_config(args) if args.resume else _config_from_args(args)
    extra = [train.TensorBoard(args.tensorboard)] if args.tensorboard else []
    diagnosis = train.FitDiagnosis(verbose=False)  # the over/underfitting verdict of the curves
    run_dir, metrics = train_run(cfg, progress=not args.quiet, callbacks=[*extra, diagnosis], resume=args.resume)
    print(f"test accuracy {metrics['test_accuracy']:.4f}  test loss {metrics['test_loss']:.4f}  "
          f"({metrics['epochs_run']} epochs in {metrics['train_seconds']:.1f} s)")
    if diagnosis.verdict is not None:
        print(diagnosis.verdict)
    print(f"wrote {run_dir}/: config.toml history.csv curves.png confusion.png metrics.json checkpoint.safetensors")
    return 0


def _evaluate(args) -> int:
    cfg, model, data = load_run(args.run, note=_note(args))
    m = evaluate_model(model, data)
    print(f"{args.run}: {cfg.model} on {cfg.dataset}: test accuracy {m['test_accuracy']:.4f}  "
          f"test loss {m['test_loss']:.4f}  ({len(data.X_test)} samples)")
    return 0


def _predict(args) -> int:
    if args.out is not None:
        _check_output("--out", args.out, (args.file,) + _run_files(args.run))
    cfg, model, data = load_run(args.run, note=_note(args))
    X = read_inputs(args.file, data)
    logits = train.predict(model, X).numpy()
    z = logits - logits.max(1, keepdims=True)
    proba = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    pred = proba.argmax(1)
    lines = ["index,prediction,probability"] + [f"{i},{data.classes[p]},{proba[i, p]:.4f}" for i, p in enumerate(pred)]
    text = "\n".join(lines) + "\n"
    if args.out:
        atomic_write(args.out, text)
        print(f"wrote {len(pred)} predictions to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _graph(args) -> int:
    _check_output("-o", args.output, (args.config,) + _run_files(args.run), (".svg", ".png", ".pdf", ".dot", ".gv"))
    if args.run:
        cfg, model, data = load_run(args.run, note=_note(args))
    else:
        cfg = _config_from_args(args)
        data = load_data(cfg, cfg.model)
        model = build_model(cfg, data)
    model.train()
    x = tensor(np.asarray(data.X_train[:2]))
    loss = nn.CrossEntropyLoss()(model(x), tensor(np.asarray(data.y_train[:2])))
    dot = viz.to_dot(loss, params=dict(model.named_parameters()))
    out = args.output
    try:
        viz.render(dot, out)
    except RuntimeError as e:  # no Graphviz 'dot' program (a .dot/.gv output never needs it)
        fallback = os.path.splitext(out)[0] + ".dot"
        viz.render(dot, fallback)
        print(f"lamina: {e}", file=sys.stderr)
        print(f"wrote the DOT text to {fallback} instead")
        return 0
    print(f"wrote the backward graph of {cfg.model} ({len(dot.splitlines())} lines of DOT) to {out}")
    return 0


_XOR_DEFAULTS = {False: {"epochs": 10000, "lr": 0.15, "seed": 0}, True: {"epochs": 3000, "lr": 2.0, "seed": 2}}


def _xor(args) -> int:
    for k, v in _XOR_DEFAULTS[args.manual].items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    _check_at_least((("--hidden", args.hidden, 1), ("--epochs", args.epochs, 1), ("--seed", args.seed, 0)))
    _check_finite((("--lr", args.lr),), strict=True)
    if args.manual:
        try:
            train_xor_manual(hidden=args.hidden, epochs=args.epochs, lr=args.lr, seed=args.seed)
        except AssertionError as e:  # the hand-written gradient disagrees with autograd's
            raise UserError(str(e)) from None
        return 0
    train_xor(hidden=args.hidden, epochs=args.epochs, lr=args.lr, seed=args.seed)
    return 0


# ---------------------------------------------------------------------------- tune
def _check_workers(workers: int) -> None:
    cpus = os.cpu_count() or 1
    if workers > 4 * cpus:
        raise UserError(f"--workers must be <= {4 * cpus} (4 × the {cpus} CPUs of this machine), got {workers}")


def _check_tune_args(args) -> None:
    _check_at_least((("--trials", args.trials, 1), ("--epochs", args.epochs, 1), ("--workers", args.workers, 1),
                     ("--width", args.width, 1), ("--batch-size", args.batch_size, 1), ("--seed", args.seed, 0)))
    _check_workers(args.workers)
    folder = os.path.dirname(os.path.abspath(args.storage)) if args.storage else None
    if folder is not None and not os.path.isdir(folder):
        raise UserError(f"--storage {args.storage!r}: folder {folder!r} does not exist")


def _create_study(args):
    """The study of ``lamina tune``: the chosen strategy and pruner, recorded in ``--storage`` when given."""
    n, seed = args.trials, args.seed
    strategies = {"random": lambda: tune.Random(seed=seed), "grid": lambda: tune.Grid(n_points=3, seed=seed),
                  "bayesian": lambda: tune.Bayesian(n_startup_trials=max(2, min(8, n // 2)), seed=seed),
                  "evolutionary": lambda: tune.Evolutionary(population_size=max(2, min(8, n // 2)), seed=seed)}
    pruner = {"median": tune.MedianPruner(n_startup_trials=4, n_warmup_steps=1),
              "halving": tune.SuccessiveHalvingPruner(), "none": None}[args.pruner]
    direction = "minimize" if args.metric == "val_loss" else "maximize"
    try:
        return tune.create_study(direction, strategies[args.strategy](), pruner, storage=args.storage, seed=seed)
    except (ValueError, OSError, tune.JournalLockedError) as e:   # not a journal, unreadable, another master's
        raise UserError(f"--storage {args.storage!r}: {e}") from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _run_trials(study, objective, todo: int, args) -> None:
    # worker processes with CPUs // workers BLAS threads each (not BLAS's default: all CPUs each)
    pool = local_executor(args.workers) if args.workers > 1 else None
    try:
        study.optimize(objective, n_trials=todo, executor=pool, n_workers=args.workers,
                       batch_mode=args.workers > 1, show_progress_bar=not args.quiet)
    finally:
        if pool is not None:
            pool.shutdown()


def _fmt(v, spec: str) -> str:
    return "" if v is None else format(v, spec)


def _print_trials(rows, args) -> None:
    print(f"{'#':>3} {'state':<8} {args.metric:>12} {'val_acc':>8} {'lr':>9} {'width':>5} {'optimizer':<9} "
          f"{'wd':>9} {'seconds':>7}")
    for r in rows:
        print(f"{r['number']:>3} {r['state']:<8} {_fmt(r['value'], '.4f'):>12} "
              f"{_fmt(r.get('user_attrs_val_accuracy'), '.4f'):>8} {_fmt(r.get('params_lr'), '.2e'):>9} "
              f"{_fmt(r.get('params_width', args.width), 'd'):>5} {_fmt(r.get('params_optimizer'), ''):<9} "
              f"{_fmt(r.get('params_weight_decay'), '.1e'):>9} {_fmt(r['duration'], '.1f'):>7}")


def _print_best(study, n_rows: int, args) -> None:
    try:
        best = study.best_trial
    except ValueError:
        raise UserError(f"no trial completed ({n_rows} ran); see the table above") from None
    params = {**({"width": args.width} if args.width else {}), **best.params}
    shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    print(f"best trial #{best.number}: {args.metric} {best.value:.4f} "
          f"(val accuracy {best.user_attrs.get('val_accuracy', float('nan')):.4f}); {shown}")
    flags = " ".join(f"--{k.replace('_', '-')} {v:.3g}" if isinstance(v, float) else f"--{k.replace('_', '-')} {v}"
                     for k, v in params.items())
    print(f"train it: lamina train {flags}")


@contextlib.contextmanager
def _journal_held(study, args):
    """The journal's lock for the whole command; another master holding it is a user error."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(study.lock())
        except (ValueError, OSError, tune.JournalLockedError) as e:
            raise UserError(f"--storage {args.storage!r}: {e}") from None
        yield


def _tune(args) -> int:
    """Search lr, width, optimizer and weight decay of the default model (``lamina.tune``)."""
    _check_tune_args(args)
    cfg = RunConfig(seed=args.seed, dataset=args.dataset, data_root=args.data_root or "",
                    batch_size=args.batch_size)
    data = load_data(cfg, cfg.model)
    study = _create_study(args)
    with _journal_held(study, args):        # one master at a time: the count below stays true
        done = sum(t.state.is_finished() for t in study.trials)
        todo = max(0, args.trials - done)
        print(f"tune: {args.strategy} search of lr, width, optimizer, weight_decay for the cnn on {args.dataset} "
              f"({len(data.X_train)} train / {len(data.X_val)} validation), {args.metric}, "
              f"{_plural(args.epochs, 'epoch')} per trial, {_plural(args.workers, 'worker')}"
              + (f"; resuming {args.storage}: {done} trials done, {todo} to run" if done else ""))
        if todo:
            _run_trials(study, TrainObjective(data, cfg, args.epochs, metric=args.metric, width=args.width), todo,
                        args)
    rows = study.trials_dataframe()
    _print_trials(rows, args)
    _print_best(study, len(rows), args)
    return 0


# ---------------------------------------------------------------------------- word2vec
def _check_word2vec_args(args) -> None:
    _check_at_least((("--dim", args.dim, 1), ("--window", args.window, 1), ("--negative", args.negative, 1),
                     ("--epochs", args.epochs, 1), ("--min-count", args.min_count, 1),
                     ("--max-vocab", args.max_vocab, 2), ("--batch-size", args.batch_size, 1),
                     ("--neighbours", args.neighbours, 1), ("--seed", args.seed, 0), ("--workers", args.workers, 1)))
    _check_workers(args.workers)
    _check_finite((("--lr", args.lr), ("--min-lr", args.min_lr), ("--sample", args.sample)))
    _check_output("--out", args.out, (args.corpus,))
    if args.plot:
        _check_output("--plot", args.plot, (args.corpus, args.out), (".png", ".svg", ".pdf"))


def _read_vocabulary(args) -> tuple[list, Vocabulary]:
    try:
        words = read_corpus(args.corpus, lowercase=args.lowercase)
    except ValueError as e:
        raise UserError(str(e)) from None
    vocab = Vocabulary.build(words, max_size=args.max_vocab, min_count=args.min_count)
    if len(vocab) < 3:
        raise UserError(f"corpus {args.corpus!r}: fewer than 2 distinct words appear at least --min-count "
                        f"{args.min_count} times ({len(words)} words in all); lower --min-count or use a larger corpus")
    return words, vocab


def _words_to_show(args, vocab: Vocabulary, wv) -> list:
    if args.show:
        missing = [w for w in args.show if w not in wv]
        if missing:
            raise UserError(f"--show: {', '.join(repr(w) for w in missing)} not in the vocabulary")
        return args.show
    # a few frequent words: ranks 10, 30, 50, ... of the vocabulary (the very top are function words)
    order = [w for w, _ in vocab.most_common() if w in wv]
    ranks = range(10, 100, 20) if len(order) > 100 else range(0, min(len(order), 5))
    return [order[r] for r in ranks]


def _contexts_to_predict(args, vocab: Vocabulary) -> list:
    """The context word lists of ``--predict``, each word in the vocabulary (checked before training)."""
    contexts = []
    for text in args.predict or ():
        words = (text.lower() if args.lowercase else text).split()
        if not words:
            raise UserError(f"--predict {text!r}: give at least one context word")
        missing = [w for w in words if w not in vocab or vocab.index(w) == 0]
        if missing:
            raise UserError(f"--predict {text!r}: {', '.join(repr(w) for w in missing)} not in the vocabulary "
                            f"(absent from the corpus, or seen fewer than --min-count {args.min_count} times)")
        contexts.append(words)
    return contexts


def _word2vec(args) -> int:
    """Train word vectors on a text corpus (skip-gram or CBOW with negative sampling: maximise
    log σ(u_o·v_c) + Σ_k log σ(−u_k·v_c)), save them in the word2vec text format, show neighbours."""
    _check_word2vec_args(args)
    words, vocab = _read_vocabulary(args)
    contexts = _contexts_to_predict(args, vocab)
    ids = vocab.encode(words)
    known = int((ids != 0).sum())
    print(f"word2vec: {len(words):,} words, vocabulary of {len(vocab) - 1:,} words seen >= {args.min_count} times "
          f"({known / len(words):.1%} of the corpus); {args.mode}, dim {args.dim}, window {args.window}, "
          f"{args.negative} negatives, {_plural(args.epochs, 'epoch')}")
    model = Word2Vec(len(vocab), args.dim, mode=args.mode, negative=args.negative, loss=args.loss)
    try:
        history = model.fit(ids, vocab, epochs=args.epochs, batch_size=args.batch_size, window=args.window,
                            lr=args.lr, min_lr=min(args.min_lr, args.lr), sample=args.sample, seed=args.seed,
                            progress=not args.quiet, workers=args.workers)
    except (ValueError, FloatingPointError) as e:
        raise UserError(str(e)) from None
    wv = model.wv
    if not np.isfinite(wv.vectors).all():
        raise UserError(f"training diverged: the vectors hold NaN or infinite values (lower --lr, {args.lr:g}); "
                        f"nothing was written to {args.out}")
    wv.save_word2vec_format(args.out)
    print(f"trained in {args.epochs} epochs at {sum(history['words_per_sec']) / args.epochs:,.0f} words/s, final "
          f"loss {history['loss'][-1]:.4f}; wrote {len(wv):,} vectors of dim {wv.vector_size} to {args.out}")
    shown = _words_to_show(args, vocab, wv)
    for w in shown:
        near = ", ".join(f"{n} {s:.2f}" for n, s in wv.most_similar(w, k=args.neighbours))
        print(f"  {w}: {near}")
    if args.plot:
        points = list(dict.fromkeys(shown + [n for w in shown for n, _ in wv.most_similar(w, k=3)]))
        wv.plot_pca(points, args.plot, title=f"word2vec ({args.mode}, dim {args.dim}) on {os.path.basename(args.corpus)}")
        print(f"wrote the PCA plot of {len(points)} words to {args.plot}")
    for context in contexts:  # p(w | C) = softmax_w(u_w · mean of the context's input vectors)
        best = ", ".join(f"{w} {p:.3f}" for w, p in model.predict_center(context, topn=args.neighbours))
        print(f"  centre of [{' '.join(context)}]: {best}")
    return 0


# ---------------------------------------------------------------------------- export
def _export(args) -> int:
    """Write the trained model of a run folder as an ONNX file with a dynamic batch dim (``lamina.onnx``)."""
    from . import onnx as lamina_onnx

    _check_output("OUT", args.output, _run_files(args.run), (".onnx",))
    cfg, model, data = load_run(args.run, note=_note(args))
    x = tensor(np.asarray(data.X_train[:2]))
    batch = {0: "batch"}
    try:
        lamina_onnx.export(model, x, args.output, input_names=["input"], output_names=["output"],
                           dynamic_axes={"input": batch, "output": batch}, opset_version=args.opset)
    except (lamina_onnx.ExportError, ImportError) as e:
        raise UserError(str(e)) from None
    print(f"wrote {cfg.model} of {args.run} to {args.output}: input (batch, {', '.join(map(str, x.shape[1:]))}), "
          f"output (batch, {data.num_classes}) class scores, ONNX opset {args.opset or 17}")
    return 0


def _add_train_flags(p, defaults: RunConfig):
    p.add_argument("--config", help="a TOML file with these settings (keys as below, optionally under [train]); "
                                    "flags override it")
    p.add_argument("--model", choices=MODELS, help=f"the network (default {defaults.model}: a small CNN)")
    p.add_argument("--dataset", choices=DATASETS, help=f"the data (default {defaults.dataset}: the UCI 8×8 digits "
                                                       "shipped inside lamina)")
    p.add_argument("--data-root", dest="data_root",
                   help="folder with the MNIST / Fashion-MNIST IDX files (e.g. ../shared/datasets/fashion-mnist)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {defaults.optimizer}")
    p.add_argument("--lr", type=float, help=f"learning rate (default {defaults.lr}; 1e-3 for mlp)")
    p.add_argument("--momentum", type=float, help=f"for momentum/nesterov (default {defaults.momentum})")
    p.add_argument("--weight-decay", dest="weight_decay", type=float, help="L2 weight decay (default 0)")
    p.add_argument("--schedule", choices=SCHEDULES, help=f"learning-rate schedule (default {defaults.schedule})")
    p.add_argument("--epochs", type=int, help=f"default {defaults.epochs}")
    p.add_argument("--batch-size", dest="batch_size", type=int, help=f"default {defaults.batch_size}")
    p.add_argument("--seed", type=int, help=f"makes the run reproducible (default {defaults.seed})")
    p.add_argument("--width", type=int, help=f"channels of the cnn's first layer (default {defaults.width})")
    p.add_argument("--hidden", help=f"mlp hidden widths, comma-separated (default {defaults.hidden})")
    p.add_argument("--dropout", type=float, help=f"default {defaults.dropout}")
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs (default 0: off)")
    p.add_argument("--out", help=f"parent folder of run folders (default {defaults.out})")


def build_parser() -> argparse.ArgumentParser:
    d = RunConfig()
    p = argparse.ArgumentParser(prog="lamina", description="lamina: deep learning from first principles on NumPy")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model and write a run folder",
                       description="Train a model (default: a small CNN on the UCI 8×8 digits shipped with lamina, "
                                   "60/20/20 train/validation/test split), show progress bars, print the test "
                                   "accuracy and write runs/<timestamp>/ with config.toml, history.csv, curves.png, "
                                   "confusion.png, metrics.json and checkpoint.safetensors.")
    _add_train_flags(t, d)
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard logs (loss, metrics, lr, gradient "
                   "norms, dead-ReLU shares) to DIR")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the interrupted run in RUN_DIR from its last "
                   "checkpoint to its planned epochs (other settings must match its config.toml)")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="test accuracy of a finished run",
                       description="Rebuild the model of RUN from its config.toml, load checkpoint.safetensors and "
                                   "report loss and accuracy on the run's test split.")
    e.add_argument("run", metavar="RUN", help="a run folder written by 'lamina train'")
    e.set_defaults(func=_evaluate)

    pr = sub.add_parser("predict", help="predict classes for new inputs with a finished run",
                        description="Predict the class of each input in FILE (.npy array, or .csv with one flattened "
                                    "sample per row, values scaled as in training) with the model of RUN; prints "
                                    "index,prediction,probability lines.")
    pr.add_argument("run", metavar="RUN", help="a run folder written by 'lamina train'")
    pr.add_argument("file", metavar="FILE", help="inputs: .npy or .csv")
    pr.add_argument("--out", help="write the predictions to this CSV file instead of stdout (an existing file "
                                  "is replaced)")
    pr.set_defaults(func=_predict)

    g = sub.add_parser("graph", help="draw the model's backward graph (SVG or DOT)",
                       description="Run one forward pass of the model (of RUN, or built from the training flags) "
                                   "and draw its backward graph with parameter names: SVG/PNG through Graphviz's "
                                   "'dot' when installed, else DOT text.")
    g.add_argument("--run", help="a run folder (default: build the model from the flags)")
    g.add_argument("-o", "--output", default="graph.svg",
                   help="output file: .svg, .png, .pdf or .dot (default graph.svg)")
    _add_train_flags(g, d)
    g.set_defaults(func=_graph)

    tu = sub.add_parser("tune", help="search lr, width, optimizer and weight decay of the default model",
                        description="Hyperparameter search (lamina.tune) for the small CNN on the shipped UCI digits: "
                                    "each trial trains for --epochs epochs and reports the validation metric after "
                                    "every epoch (bad trials are pruned); prints a table of trials and the best one.")
    tu.add_argument("--trials", type=int, default=12, help="number of trials (default 12)")
    tu.add_argument("--strategy", choices=("random", "grid", "bayesian", "evolutionary"), default="bayesian",
                    help="search strategy (default bayesian)")
    tu.add_argument("--epochs", type=int, default=3, help="training epochs per trial (default 3)")
    tu.add_argument("--workers", type=int, default=1, help="trials run at once in worker processes (default 1)")
    tu.add_argument("--storage", help="journal file (JSON lines): the study is recorded there and resumed from it")
    tu.add_argument("--seed", type=int, default=0, help="seed of the data split, strategy and training (default 0)")
    tu.add_argument("--metric", choices=("val_loss", "val_accuracy"), default="val_loss",
                    help="what to optimise (default val_loss, minimised; val_accuracy is maximised)")
    tu.add_argument("--pruner", choices=("median", "halving", "none"), default="median",
                    help="early stopping of bad trials (default median)")
    tu.add_argument("--width", type=int, help="fix the CNN width instead of searching it in [8, 64]")
    tu.add_argument("--batch-size", dest="batch_size", type=int, default=32, help="default 32")
    tu.add_argument("--dataset", choices=DATASETS[:1] + DATASETS[2:], default="digits", help="default digits")
    tu.add_argument("--data-root", dest="data_root", help="folder of the MNIST / Fashion-MNIST IDX files")
    tu.add_argument("--quiet", action="store_true", help="no progress bar")
    tu.set_defaults(func=_tune)

    w = sub.add_parser("word2vec", help="train word vectors (skip-gram / CBOW) on a text corpus",
                       description="Train word2vec vectors (skip-gram or CBOW) on the whitespace-separated words of CORPUS "
                                   "(a UTF-8 text file, e.g. text8) with negative sampling and row-sparse SGD, show "
                                   "a progress bar (words/s, loss), save the vectors in the word2vec text format "
                                   "and print the nearest neighbours of a few frequent words.")
    w.add_argument("corpus", metavar="CORPUS", help="UTF-8 text file")
    w.add_argument("--dim", type=int, default=128, help="vector size (default 128)")
    w.add_argument("--mode", choices=("skipgram", "cbow"), default="skipgram", help="default skipgram")
    w.add_argument("--loss", choices=("negative_sampling", "softmax"), default="negative_sampling",
                   help="default negative_sampling (softmax: full softmax, small vocabularies only)")
    w.add_argument("--window", type=int, default=5, help="context words on each side (default 5)")
    w.add_argument("--negative", type=int, default=5, help="negative samples per example (default 5)")
    w.add_argument("--epochs", type=int, default=5, help="default 5")
    w.add_argument("--min-count", dest="min_count", type=int, default=5,
                   help="ignore words seen fewer times (default 5)")
    w.add_argument("--max-vocab", dest="max_vocab", type=int, default=50000,
                   help="keep the N most frequent words (default 50000)")
    w.add_argument("--batch-size", dest="batch_size", type=int,
                   help="word pairs per SGD step (default 2048; 128 with --loss softmax)")
    w.add_argument("--lr", type=float, default=0.025, help="initial learning rate (default 0.025)")
    w.add_argument("--min-lr", dest="min_lr", type=float, default=1e-4,
                   help="learning rate at the end, reached linearly (default 1e-4)")
    w.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold of frequent words (default "
                                                               "1e-3; 0: off)")
    w.add_argument("--lowercase", action="store_true", help="lowercase the corpus first")
    w.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    w.add_argument("--workers", type=int, default=1, help="training processes updating the same vectors without "
                                                           "locks (Hogwild SGD, as gensim's workers; default 1)")
    w.add_argument("--out", default="vectors.txt", help="output file (default vectors.txt)")
    w.add_argument("--show", nargs="+", metavar="WORD", help="words whose neighbours to print (default: a few "
                                                             "frequent words)")
    w.add_argument("--neighbours", type=int, default=8, help="neighbours printed per word (default 8)")
    w.add_argument("--plot", help="also draw a PCA plot of the shown words and their neighbours (.png or .svg)")
    w.add_argument("--predict", action="append", metavar="CONTEXT",
                   help="after training, print the most probable centre words of the context words CONTEXT "
                        "(quoted, e.g. --predict 'the cat on'; repeatable) with their probabilities: softmax over "
                        "the output vectors of the mean of the context's input vectors (--neighbours of them)")
    w.add_argument("--quiet", action="store_true", help="no progress bar")
    w.set_defaults(func=_word2vec)

    ex = sub.add_parser("export", help="write the model of a finished run as an ONNX file",
                        description="Rebuild the model of RUN from its config.toml and checkpoint (as 'evaluate' "
                                    "does) and write it to OUT (.onnx) with a dynamic batch dim: input 'input', "
                                    "output 'output' (class scores). The file is replaced atomically.")
    ex.add_argument("run", metavar="RUN", help="a run folder written by 'lamina train'")
    ex.add_argument("output", metavar="OUT", help="the ONNX file to write (.onnx)")
    ex.add_argument("--opset", type=int, help="ONNX opset version (default 17)")
    ex.set_defaults(func=_export)

    x = sub.add_parser("xor", help="train a 2-2-1 XOR network with the autodiff engine alone",
                       description="Train the 2-hidden-1 XOR network f = σ(X W1 + b1) W2 + b2 by full-batch gradient "
                                   "descent on the binary cross-entropy, W ← W − η ∂J/∂W, "
                                   "using only lamina tensors and autograd, then print its test accuracy.")
    x.add_argument("--hidden", type=int, default=2, help="hidden units (default 2)")
    x.add_argument("--epochs", type=int, help="gradient steps (default 10000; 3000 with --manual)")
    x.add_argument("--lr", type=float, help="learning rate (default 0.15; 2.0 with --manual)")
    x.add_argument("--seed", type=int, help="random seed (default 0; 2 with --manual, whose seeds 0 and 1 end in "
                                            "the network's local minimum)")
    x.add_argument("--manual", action="store_true",
                   help="backpropagation by hand: train the sigmoid-output 2-2-1 network on the four XOR points "
                        "with gradients from the chain rule written out in NumPy (σ'(z) = σ(z)(1 − σ(z))), check "
                        "them against autograd's at every step (float64, rtol 1e-10) and print both side by side "
                        "for the first 3 steps and the last")
    x.set_defaults(func=_xor)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # NaN/overflow show up as a clear error instead
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("lamina: interrupted", file=sys.stderr)
        return 130
    except _USER_ERRORS as e:
        print(f"lamina {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
