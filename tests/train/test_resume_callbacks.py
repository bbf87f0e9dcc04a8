"""Every callback's state is in the checkpoint, as it is after the epoch: a run interrupted after any epoch
and resumed writes the same checkpoint files (byte for byte), history and weights as one that never stopped.

The run: a small MLP on 240 digits, SGD with momentum at a high rate, ``ModelCheckpoint`` (last and best),
``ReduceLROnPlateau`` (patience 1) and ``EarlyStopping`` (patience 3, best weights restored).  Uninterrupted
it stops after epoch 5 of 12; the plateau callback halves the rate after epoch 4; the best epoch is 2.
"""
import os

import numpy as np
import pytest

import lamina as L
import lamina.train.callbacks
from lamina import io, nn, optim, train
from lamina.datasets import digits

EPOCHS = 12


class Interrupted(Exception):
    pass


def _data():
    X, y = digits()
    X, y = (X[:240] / 16.0).astype(np.float32), y[:240]
    return (X[:180], y[:180]), (X[180:], y[180:])


def _trainer(folder):
    L.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 10))
    opt = optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    cbs = [train.ModelCheckpoint(str(folder)), train.ReduceLROnPlateau("val_loss", factor=0.5, patience=1),
           train.EarlyStopping("val_loss", patience=3, restore_best_weights=True)]
    return train.Trainer(model, nn.CrossEntropyLoss(), opt, callbacks=cbs, seed=3, progress=False)


def _fit(t):
    tr, va = _data()
    return t.fit(tr, va, epochs=EPOCHS, batch_size=32)


def _outputs(folder, t) -> dict:
    files = {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}
    weights = {k: v.numpy().copy() for k, v in t.model.state_dict().items()}
    return {"files": files, "history": t.history.state_dict(), "weights": weights}


def _same(a: dict, b: dict) -> None:
    assert a["files"].keys() == b["files"].keys()
    for name in a["files"]:
        assert a["files"][name] == b["files"][name], name
    assert a["history"] == b["history"]
    for k in a["weights"]:
        assert np.array_equal(a["weights"][k], b["weights"][k]), k


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    t = _trainer(folder)
    _fit(t)
    return _outputs(folder, t), t


def test_the_run_stops_early_after_a_plateau_cut(uninterrupted):
    _, t = uninterrupted
    h = t.history
    assert len(h) < EPOCHS and t.user_callbacks[2].stopped_epoch == len(h) - 1
    assert h["lr"][0] == 0.3 and h["lr"][-1] == 0.15
    assert int(np.argmin(h["val_loss"])) < len(h) - 1


def test_interrupted_after_any_epoch_and_resumed_equals_the_uninterrupted_run(uninterrupted, tmp_path,
                                                                              monkeypatch):
    expected, whole = uninterrupted
    real_save = lamina.train.callbacks.save_checkpoint
    for k in range(len(whole.history)):
        folder = tmp_path / f"stopped-after-{k}"

        def save_then_die(path, trainer, epoch=None, k=k):
            real_save(path, trainer, epoch)
            if path.endswith("last.safetensors") and epoch == k:
                raise Interrupted          # the process dies right after epoch k's checkpoint
            return path

        monkeypatch.setattr(lamina.train.callbacks, "save_checkpoint", save_then_die)
        with pytest.raises(Interrupted):
            _fit(_trainer(folder))
        monkeypatch.setattr(lamina.train.callbacks, "save_checkpoint", real_save)
        t = _trainer(folder)
        train.resume(t, str(folder / "last.safetensors"))
        _fit(t)
        _same(_outputs(folder, t), expected)


def test_the_checkpoint_holds_each_callbacks_state_after_the_epoch(uninterrupted, tmp_path):
    """Read back the last checkpoint of every epoch: ModelCheckpoint's best, EarlyStopping's wait and best
    weights and the plateau counters are those of that epoch (they used to be written before being updated)."""
    _, whole = uninterrupted
    val = whole.history["val_loss"]
    seen = []
    real_save = lamina.train.callbacks.save_checkpoint

    def spy(path, trainer, epoch=None):
        real_save(path, trainer, epoch)
        if path.endswith("last.safetensors"):
            seen.append(io.load(path))
        return path

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lamina.train.callbacks, "save_checkpoint", spy)
        _fit(_trainer(tmp_path))
    for k, state in enumerate(seen):
        (ckpt, plateau, early) = [c["state"] for c in state["callbacks"]]
        best = min(val[:k + 1])
        assert ckpt["best"] == best
        assert early["best"] == best and early["best_epoch"] == val.index(best)
        assert early["wait"] == k - val.index(best)
        assert early["best_weights"] is not None and set(early["best_weights"]) == set(whole.model.state_dict())
        assert plateau["last_epoch"] == k + 1
        assert state["stop_training"] == (k == len(val) - 1)
    best_file = io.load(str(tmp_path / "best.safetensors"))
    assert best_file["epoch"] == val.index(min(val))
    assert best_file["callbacks"][0]["state"]["best"] == min(val)


def test_a_run_resumed_after_it_stopped_trains_no_further(uninterrupted, tmp_path):
    expected, whole = uninterrupted
    t = _trainer(tmp_path)
    _fit(t)
    again = _trainer(tmp_path)
    train.resume(again, str(tmp_path / "last.safetensors"))
    _fit(again)
    assert len(again.history) == len(whole.history)
    _same(_outputs(tmp_path, again), expected)


def _every_callback(folder):
    return [train.TerminateOnNaN(), train.CSVLogger(str(folder / "history.csv")), train.RunningCost(k=7),
            train.ActivationMonitor(eps=0.5, every=4), train.GradientNormMonitor(),
            train.TensorBoard(str(folder / "tb"), histogram_freq=1),
            train.LearningRateScheduler(lambda epoch, lr: lr * 0.9), train.ModelCheckpoint(str(folder)),
            train.ReduceLROnPlateau("val_loss", patience=0, factor=0.5),
            train.EarlyStopping("val_loss", patience=2, restore_best_weights=True), train.FitDiagnosis(verbose=False)]


def test_every_callback_of_lamina_train_resumes(tmp_path, monkeypatch):
    """Callbacks whose state runs across epochs (RunningCost's window, ActivationMonitor's batch counter,
    inside TensorBoard too): resumed after epoch 0, the logs they write equal the uninterrupted run's."""
    kinds = {type(c) for c in _every_callback(tmp_path)}
    public = {getattr(train, n) for n in train.__all__}
    callbacks = {c for c in public if isinstance(c, type) and issubclass(c, train.Callback)}
    missing = callbacks - kinds - {train.Callback, train.CallbackList, train.LambdaCallback, train.ProgressBar}
    assert not missing, f"add {sorted(c.__name__ for c in missing)} to _every_callback"

    def run(folder, resume_from=None, stop_after=None):
        L.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
        t = train.Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                          callbacks=_every_callback(folder), seed=1, progress=False)
        if resume_from:
            train.resume(t, resume_from)
        real_save = lamina.train.callbacks.save_checkpoint

        def save(path, trainer, epoch=None):
            real_save(path, trainer, epoch)
            if stop_after is not None and path.endswith("last.safetensors") and epoch == stop_after:
                raise Interrupted
            return path

        monkeypatch.setattr(lamina.train.callbacks, "save_checkpoint", save)
        tr, va = _data()
        try:
            t.fit(tr, va, epochs=4, batch_size=32)
        finally:
            monkeypatch.setattr(lamina.train.callbacks, "save_checkpoint", real_save)
        return t

    whole = run(tmp_path / "whole")
    with pytest.raises(Interrupted):
        run(tmp_path / "part", stop_after=0)
    resumed = run(tmp_path / "part", resume_from=str(tmp_path / "part" / "last.safetensors"))
    assert {"avg_cost", "saturated/1", "grad_norm/total"} <= set(whole.history.history)
    assert resumed.history.state_dict() == whole.history.state_dict()
    assert resumed.user_callbacks[2].values == whole.user_callbacks[2].values
    assert str(resumed.user_callbacks[-1].verdict) == str(whole.user_callbacks[-1].verdict)  # read off the history
    for name in ("history.csv", "last.safetensors", "best.safetensors"):
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
