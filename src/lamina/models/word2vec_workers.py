"""``Word2Vec.fit(workers=N)``: Hogwild SGD in N forked processes on shared matrices.

The two weight matrices move into anonymous shared memory (``mmap``) before the workers are
forked, so every worker reads and updates the same W_in and W_out in place, without locks —
the lock-free asynchronous SGD of word2vec.c and gensim (Recht et al.'s Hogwild: two workers
rarely touch the same rows at once, and a lost update of a frequent row costs little). Each
worker trains on its own contiguous part of the corpus with its own random stream (subsampling,
windows, negatives) and the same batch step as ``workers=1``; the learning rate follows the words
done by all workers together, read from a shared counter, so it still falls linearly from ``lr``
to ``min_lr`` over the whole run. Batches of the workers overlap in time, so a frequent row gets the
updates of all of them computed from the same, stale, vector: each worker caps a row at
``row_cap / workers`` examples per batch, which keeps their combined step at the bound of one
worker (without it, two workers on a 48-word vocabulary diverge).

Processes, not threads: a step is whole-array NumPy glued by Python, and two threads of it share
one interpreter lock (measured: 1.09x the throughput of one thread on 2 cores, against 1.6-1.9x for
two processes). Each worker uses one BLAS thread.

The parent process keeps the callbacks and the progress bar: after each epoch it gathers the
workers' summed losses into the epoch's logs (``on_epoch_end``; ``stop_training`` stops every
worker before the next epoch). ``on_batch_end`` is not called: the batches run in the workers.
Results are not bit-reproducible with ``workers > 1`` (the interleaving of the updates varies).
Needs the 'fork' start method (Linux, macOS with fork available); the matrices are copied back
into ordinary arrays when training ends.
"""
from __future__ import annotations

import math
import mmap
import multiprocessing
import time
import traceback

import numpy as np

from .word2vec_fit import _OP, Prepared, _attach, _call, _Loop, _Run


class _Shared:
    """Arrays in anonymous shared memory: a forked child sees and changes the parent's values."""

    def __init__(self) -> None:
        self.maps: list[mmap.mmap] = []

    def array(self, like: np.ndarray) -> np.ndarray:
        buf = mmap.mmap(-1, max(1, like.nbytes))
        self.maps.append(buf)
        out = np.frombuffer(buf, dtype=like.dtype, count=like.size).reshape(like.shape)
        out[...] = like
        return out

    def close(self) -> None:
        for buf in self.maps:
            try:
                buf.close()
            except BufferError:  # an array still views it: the mapping goes with the last view
                pass


class _WorkerLoop(_Loop):
    """The batch loop of one worker: its part of the corpus, the learning rate from everyone's progress."""

    def __init__(self, *args, counters: np.ndarray, index: int, total: float):
        super().__init__(*args)
        self.counters, self.index, self.total = counters, index, total

    def advance(self, words: float) -> None:
        self.counters[self.index] += words

    def fraction_done(self) -> float:
        return float(self.counters.sum()) / self.total


def _worker(args, counters, index: int, total: float, conn) -> None:
    """A worker process: one epoch per 'epoch' message, answered with (summed loss, examples, words, seconds)."""
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(1):
            loop = _WorkerLoop(*args, counters=counters, index=index, total=total)
            epoch = 0
            while conn.recv() == "epoch":
                conn.send(("epoch", loop.run_epoch(epoch)))
                epoch += 1
    except BaseException as e:  # reported to the parent, which raises it
        conn.send(("error", type(e).__name__, str(e), traceback.format_exc()))
    finally:
        conn.close()


def _context():
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        raise ValueError(f"{_OP}: workers > 1 needs the 'fork' start method, which this platform lacks; "
                         "use workers=1") from None


def _split(ids: np.ndarray, n_corpus: int, workers: int, window: int) -> list[tuple[np.ndarray, int]]:
    """Contiguous parts of the corpus, each with its share of the corpus length (UNK included)."""
    if ids.size < workers * (2 * window + 1):
        raise ValueError(f"{_OP}: {ids.size} in-vocabulary words are too few for {workers} workers "
                         f"(each needs a window of 2*window+1 = {2 * window + 1}); use fewer workers")
    return [(part, max(1, round(n_corpus * part.size / ids.size))) for part in np.array_split(ids, workers)]


class _Parent:
    """The parent's side: the workers, their pipes, the epochs' logs, the callbacks and the bar."""

    def __init__(self, model, cfg, ids, counts, n_corpus: int, rng, row_cap, callbacks, workers: int):
        ctx = _context()
        parts = _split(ids, n_corpus, workers, cfg.window)  # (checked before anything is moved or started)
        self.model, self.cfg, self.callbacks = model, cfg, callbacks
        self.shared = _Shared()
        self.params = [model.in_embed.weight, model.out_embed.weight]
        for p in self.params:  # the workers update these in place
            p._data = self.shared.array(p._data)
        self.counters = self.shared.array(np.zeros(workers))
        self.total = float(cfg.epochs * n_corpus)
        self.run = _Run(model, None, cfg.epochs)
        self.conns: list = []
        self.procs: list = []
        cap = None if row_cap is None else row_cap / workers
        try:
            for i, ((part, n_part), sub_rng) in enumerate(zip(parts, rng.spawn(workers))):
                self._start(ctx, i, (model, cfg, part, counts, n_part, sub_rng, cap, []))
        except BaseException:
            self.close()
            raise

    def _start(self, ctx, i: int, args: tuple) -> None:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(args, self.counters, i, self.total, child_end), daemon=True,
                           name=f"lamina-word2vec-{i}")
        self.conns.append(parent_end)
        proc.start()
        child_end.close()
        self.procs.append(proc)

    def rate(self) -> float:
        cfg = self.cfg
        return cfg.lr - (cfg.lr - cfg.min_lr) * min(1.0, float(self.counters.sum()) / self.total)

    def epoch(self, bar) -> dict:
        """Run one epoch in every worker; its logs."""
        t0 = time.perf_counter()
        for c in self.conns:
            c.send("epoch")
        results = self._gather(bar)
        loss = sum(r[0] for r in results)
        examples = sum(r[1] for r in results)
        words = sum(r[2] for r in results)
        if not math.isfinite(loss):
            raise FloatingPointError(f"{_OP}: the loss became {loss}; lower lr (now {self.cfg.lr})")
        return {"loss": loss / max(examples, 1), "words_per_sec": words / max(time.perf_counter() - t0, 1e-9),
                "lr": self.rate()}

    def _gather(self, bar) -> list:
        """Each worker's answer, the bar moving with the shared counters meanwhile; a worker's error is raised."""
        results: list = [None] * len(self.conns)
        while any(r is None for r in results):
            for i, c in enumerate(self.conns):
                if results[i] is None and c.poll(0.05):
                    results[i] = self._answer(i, c)
            if bar is not None:
                bar.update(min(round(float(self.counters.sum())), bar.total) - bar.n)
        return results

    def _answer(self, i: int, conn):
        try:
            msg = conn.recv()
        except EOFError:
            raise RuntimeError(f"{_OP}: worker {i} died (exit code {self.procs[i].exitcode})") from None
        if msg[0] == "error":
            _, kind, text, trace = msg
            err = FloatingPointError if kind == "FloatingPointError" else RuntimeError
            raise err(text if err is FloatingPointError else f"{_OP}: worker {i} failed: {kind}: {text}\n{trace}")
        return msg[1]

    def close(self) -> None:
        """Stop the workers and copy the matrices back into ordinary arrays."""
        for c in self.conns:
            try:
                c.send("stop")
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for c in self.conns:
            c.close()
        for p in self.params:
            p._data = np.array(p._data)
        self.counters = np.array(self.counters)
        self.shared.close()


def fit_in_workers(model, prep: Prepared, row_cap=32, callbacks=(), progress: bool = True) -> dict:
    """``fit`` with ``prep.workers`` processes (module docstring); returns the history."""
    cfg, n_corpus, callbacks = prep.cfg, prep.n_corpus, list(callbacks or ())
    parent = _Parent(model, cfg, prep.ids, prep.counts, n_corpus, prep.rng, row_cap, callbacks, prep.workers)
    run = parent.run
    _attach(callbacks, run)
    bar = None
    try:
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.epochs * n_corpus, unit="word", unit_scale=True, desc="word2vec",
                       dynamic_ncols=True)
        _call(callbacks, "on_train_begin", {})
        for epoch in range(cfg.epochs):
            _call(callbacks, "on_epoch_begin", epoch, {})
            logs = parent.epoch(bar)
            if bar is not None:
                bar.set_postfix(loss=f"{logs['loss']:.4f}", lr=f"{logs['lr']:.2e}", refresh=False)
            for k, v in logs.items():
                run.history[k].append(v)
            _call(callbacks, "on_epoch_end", epoch, logs)
            if run.stop_training:
                break
    finally:
        if bar is not None:
            bar.close()
        parent.close()
        model._wv = None
    _call(callbacks, "on_train_end", dict(run.history))
    return run.history
