"""fit / evaluate / predict, callbacks, diagnostics, checkpoints that resume bit for bit."""
import csv
import math

import numpy as np
import pytest

import lamina as L
from lamina import nn, optim, train
from lamina.datasets import digits


def _data(n=400):
    X, y = digits()
    X = (X[:n] / 16.0).astype(np.float32)
    return L.tensor(X), L.tensor(y[:n])


def _model(seed=0, dropout=0.1):
    L.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 10))


def test_fit_learns_and_returns_history():
    X, y = _data()
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    h = train.fit(model, nn.CrossEntropyLoss(), opt, (X[:300], y[:300]), val=(X[300:], y[300:]), epochs=5,
                  batch_size=32, seed=0, progress=False)
    assert len(h) == 5 and h.epoch == [0, 1, 2, 3, 4]
    assert h["loss"][-1] < h["loss"][0] and h["val_accuracy"][-1] > 0.8
    assert set(h.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    res = train.evaluate(model, nn.CrossEntropyLoss(), (X[300:], y[300:]))
    assert res["accuracy"] == pytest.approx(h["val_accuracy"][-1])
    out = train.predict(model, X[300:])
    assert out.shape == (100, 10)


def test_same_seed_same_weights():
    X, y = _data(200)
    ws = []
    for _ in range(2):
        model = _model(seed=3)
        train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), 1e-2), (X, y), epochs=2, batch_size=16,
                  seed=5, progress=False)
        ws.append({k: v.numpy().copy() for k, v in model.state_dict().items()})
    for k in ws[0]:
        assert np.array_equal(ws[0][k], ws[1][k])


def test_resume_from_checkpoint_is_bit_identical(tmp_path):
    X, y = _data(200)

    def run(epochs, resume_from=None, ckpt_dir=None):
        model = _model(seed=1, dropout=0.3)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        cbs = [train.ModelCheckpoint(str(ckpt_dir))] if ckpt_dir else []
        t = train.Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, callbacks=cbs, seed=11, progress=False)
        if resume_from:
            train.resume(t, resume_from)
        t.fit((X, y), epochs=epochs, batch_size=16)
        return model, t

    full, _ = run(4)
    run(2, ckpt_dir=tmp_path)  # stopped after epoch index 1
    resumed, t = run(4, resume_from=str(tmp_path / "last.safetensors"))
    assert t.history.epoch == [0, 1, 2, 3]
    for k, v in full.state_dict().items():
        assert np.array_equal(v.numpy(), resumed.state_dict()[k].numpy()), k


def test_early_stopping_restores_best_weights():
    X, y = _data(200)
    model = _model()
    es = train.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    opt = optim.SGD(model.parameters(), lr=5.0)  # diverges: validation loss gets worse
    h = train.fit(model, nn.CrossEntropyLoss(), opt, (X[:150], y[:150]), val=(X[150:], y[150:]), epochs=20,
                  callbacks=[es], progress=False, seed=0)
    assert len(h) < 20 and es.stopped_epoch is not None
    best = train.evaluate(model, nn.CrossEntropyLoss(), (X[150:], y[150:]))["loss"]
    assert best == pytest.approx(min(h["val_loss"]), rel=1e-5)


def test_terminate_on_nan_and_csv_logger(tmp_path):
    X, y = _data(100)
    model = _model()
    with L.no_grad():
        model[0].weight.fill_(float("nan"))
    log = tmp_path / "log.csv"
    h = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), 0.1), (X, y), epochs=3,
                  callbacks=[train.TerminateOnNaN(), train.CSVLogger(str(log))], progress=False)
    assert len(h) == 1 and math.isnan(h["loss"][0])
    rows = list(csv.reader(open(log)))
    assert rows[0][:2] == ["epoch", "loss"] and len(rows) == 2
    with pytest.raises(train.NaNLossError, match="lower the learning rate"):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), 0.1), (X, y), epochs=1,
                  callbacks=[train.TerminateOnNaN(raise_error=True)], progress=False)


def test_diagnostics_dead_relu_saturation_grad_norms_running_cost():
    X, y = _data(200)
    L.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))
    with L.no_grad():
        model[0].bias[:8] = -100.0  # 8 of 16 ReLU units can never fire
    mon, gn, rc = train.ActivationMonitor(), train.GradientNormMonitor(per="layer"), train.RunningCost(k=5)
    h = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), 0.01), (X, y), epochs=1,
                  batch_size=20, callbacks=[mon, gn, rc], progress=False)
    assert 0.5 <= h["dead_relu/1"][0] < 0.75  # the 8 disabled units, plus any idle on a small batch
    assert 0.0 <= h["saturated/3"][0] <= 1.0
    assert h["grad_norm/0"][0] > 0 and h["grad_norm/total"][0] > 0
    assert len(rc.values) == 10
    assert rc.values[-1] == pytest.approx(np.mean(h.batch_losses[-5:]))


def test_overfit_check_passes_for_a_working_model():
    X, y = _data(50)
    rep = train.overfit_check(lambda: _model(dropout=0.0), nn.CrossEntropyLoss(),
                              lambda p: optim.Adam(p, lr=1e-2), X, y, sizes=(1, 8), steps=200)
    assert rep["passed"] and rep["losses"][1] < 1e-2


def test_history_plot_and_confusion_matrix(tmp_path):
    X, y = _data(200)
    model = _model()
    h = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), 0.1), (X[:150], y[:150]),
                  val=(X[150:], y[150:]), epochs=2, progress=False)
    h.plot(str(tmp_path / "curves.png"))
    h.plot(str(tmp_path / "curves.svg"))
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "curves.svg").read_bytes()[:500]
    pred = train.predict(model, X).numpy().argmax(1)
    cm = train.confusion_matrix(y.numpy(), pred, 10)
    assert cm.sum() == 200 and np.trace(cm) == (pred == y.numpy()).sum()
    train.plot_confusion_matrix(cm, str(tmp_path / "cm.png"))
    assert (tmp_path / "cm.png").exists()


def test_grad_clip_bounds_the_gradient_norm():
    X, y = _data(100)
    model = _model()
    seen = []
    cb = train.LambdaCallback(on_batch_end=lambda b, logs: seen.append(
        sum(float((p.grad.numpy() ** 2).sum()) for p in model.parameters()) ** 0.5))
    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), 0.1), (X, y), epochs=1, batch_size=20,
              grad_clip=0.05, callbacks=[cb], progress=False)
    assert max(seen) <= 0.05 + 1e-6


def _plateau_pair(patience, cooldown):
    """The callback (driven as fit drives it) and the scheduler with the same settings, on two optimizers."""
    w1, w2 = L.tensor([1.0], requires_grad=True), L.tensor([1.0], requires_grad=True)
    opt1, opt2 = optim.SGD([w1], lr=1.0), optim.SGD([w2], lr=1.0)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt1, factor=0.5, patience=patience, threshold=1e-3,
                                                 threshold_mode="abs", cooldown=cooldown, min_lr=0.01)
    cb = train.ReduceLROnPlateau("val_loss", factor=0.5, patience=patience, min_delta=1e-3, cooldown=cooldown,
                                 min_lr=0.01)
    cb.set_trainer(train.Trainer(nn.Linear(1, 1), nn.MSELoss(), opt2, progress=False))
    cb.on_train_begin({})
    return sched, opt1, cb, opt2


@pytest.mark.parametrize("patience,cooldown", [(0, 0), (2, 0), (2, 1), (3, 2)])
def test_reduce_lr_on_plateau_callback_gives_the_scheduler_numbers(patience, cooldown):
    rng = np.random.default_rng(patience + 10 * cooldown)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 5), 0.5 + 1e-4 * rng.random(25)])
    sched, opt1, cb, opt2 = _plateau_pair(patience, cooldown)
    lrs1, lrs2 = [], []
    for epoch, m in enumerate(metrics):
        sched.step(m)
        cb.on_epoch_end(epoch, {"val_loss": float(m)})
        lrs1.append(opt1.param_groups[0]["lr"])
        lrs2.append(opt2.param_groups[0]["lr"])
    assert lrs2 == lrs1
    assert lrs1[-1] < 1.0 and cb.scheduler.num_bad_epochs == sched.num_bad_epochs


def test_reduce_lr_on_plateau_callback_state_round_trip():
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 1.01]
    _, _, cb, opt = _plateau_pair(2, 1)
    for epoch, m in enumerate(metrics[:5]):
        cb.on_epoch_end(epoch, {"val_loss": m})
    state = cb.state_dict()
    twin = train.ReduceLROnPlateau("val_loss", factor=0.5, patience=2, min_delta=1e-3, cooldown=1, min_lr=0.01)
    twin.load_state_dict(state)                      # before training begins, as ``resume`` does
    w = L.tensor([1.0], requires_grad=True)
    opt2 = optim.SGD([w], lr=opt.param_groups[0]["lr"])
    twin.set_trainer(train.Trainer(nn.Linear(1, 1), nn.MSELoss(), opt2, progress=False))
    twin.on_train_begin({})
    assert twin.state_dict() == state
    for epoch, m in enumerate(metrics[5:], start=5):
        cb.on_epoch_end(epoch, {"val_loss": m})
        twin.on_epoch_end(epoch, {"val_loss": m})
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
