"""train.TensorBoard: per-epoch curves, diagnostics and histograms, read back with TensorBoard's reader."""
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lamina
from lamina import nn, optim, train


def _events(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _values(acc, tag):
    return [e.value for e in acc.Scalars(tag)], [e.step for e in acc.Scalars(tag)]


def _run(callbacks, seed=0):
    """Fit an MLP whose first two hidden ReLU units start dead (bias -100: zero for every input)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(96, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    lamina.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    with lamina.no_grad():
        bias = model[0].bias.numpy().copy()
        bias[:2] = -100.0
        bias[2:] = 50.0
        model[0].bias.copy_(lamina.tensor(bias))
    opt = optim.SGD(model.parameters(), lr=0.05)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = train.fit(model, nn.CrossEntropyLoss(), opt, (X[:64], y[:64]), val=(X[64:], y[64:]), epochs=3,
                        batch_size=16, scheduler=sched, seed=seed, callbacks=callbacks, progress=False)
    return model, history


def test_epoch_logs_go_to_train_and_validation_runs(tmp_path):
    _, history = _run([train.TensorBoard(tmp_path, histogram_freq=1)])
    tr, va = _events(tmp_path / "train"), _events(tmp_path / "validation")
    for key, acc, tag in (("loss", tr, "epoch_loss"), ("accuracy", tr, "epoch_accuracy"),
                          ("lr", tr, "epoch_learning_rate"), ("val_loss", va, "epoch_loss"),
                          ("val_accuracy", va, "epoch_accuracy")):
        values, steps = _values(acc, tag)
        assert steps == [0, 1, 2]
        np.testing.assert_allclose(values, history[key], rtol=1e-6)
    np.testing.assert_allclose(_values(tr, "epoch_learning_rate")[0], [0.05, 0.025, 0.0125], rtol=1e-6)


def test_gradient_norms_and_dead_relu_shares_match_the_monitors(tmp_path):
    _run([train.TensorBoard(tmp_path)])
    _, reference = _run([train.GradientNormMonitor(), train.ActivationMonitor()])
    acc = _events(tmp_path / "train")
    names = [t for t in acc.Tags()["scalars"] if t.startswith(("grad_norm/", "dead_relu/"))]
    assert {"grad_norm/total", "grad_norm/0.weight", "grad_norm/2.bias", "dead_relu/1"} <= set(names)
    for tag in names:
        np.testing.assert_allclose(_values(acc, tag)[0], reference[tag], rtol=1e-6)
    np.testing.assert_allclose(_values(acc, "dead_relu/1")[0], [0.25, 0.25, 0.25])


def test_histograms_every_histogram_freq_epochs_and_batch_losses(tmp_path):
    model, history = _run([train.TensorBoard(tmp_path, histogram_freq=2, update_freq="batch", diagnostics=False)])
    acc = _events(tmp_path / "train")
    assert [e.step for e in acc.Histograms("0.weight")] == [0, 2]
    last = acc.Histograms("2.weight")[-1].histogram_value
    w = model[2].weight.numpy()
    assert last.num == w.size and last.min == pytest.approx(w.min()) and last.max == pytest.approx(w.max())
    losses, steps = _values(acc, "batch_loss")
    assert steps == list(range(12))
    np.testing.assert_allclose(losses, history.batch_losses, rtol=1e-6)
    assert not any(t.startswith("grad_norm/") for t in acc.Tags()["scalars"])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="histogram_freq"):
        train.TensorBoard("logs", histogram_freq=-1)
    with pytest.raises(ValueError, match="update_freq"):
        train.TensorBoard("logs", update_freq="step")


def test_lamina_train_tensorboard_flag_writes_event_files(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lamina.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", "mlp", "--epochs", "2", "--quiet", "--out", str(tmp_path / "runs"),
                 "--tensorboard", str(tmp_path / "tb")]) == 0
    acc = EventAccumulator(str(tmp_path / "tb" / "train"))
    acc.Reload()
    assert len(acc.Scalars("epoch_loss")) == 2
