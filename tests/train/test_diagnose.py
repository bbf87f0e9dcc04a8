"""Over/underfitting verdicts read from training and validation curves (``lamina.train.diagnose``)."""
import math

import numpy as np
import pytest

import lamina as L
from lamina import nn, optim, train
from lamina.datasets import digits
from lamina.models import MLP


def _curves(loss, val_loss, acc=None, val_acc=None) -> dict:
    h = {"loss": list(loss), "val_loss": list(val_loss)}
    if acc is not None:
        h["accuracy"], h["val_accuracy"] = list(acc), list(val_acc)
    return h


def test_fine_run():
    v = train.diagnose(_curves([1.3, 0.3, 0.05, 0.011], [0.9, 0.28, 0.07, 0.024], [0.76, 0.97, 0.99, 1.0],
                               [0.89, 0.95, 0.98, 0.997]))
    assert v.kind == "fine"
    assert v.train_loss == 0.011 and v.val_loss == 0.024 and math.isclose(v.loss_gap, 0.013)
    assert math.isclose(v.error_gap, 0.003)
    assert str(v).startswith("verdict: fine — train loss 0.011, val loss 0.024 (gap +0.013)")


def test_training_error_high_is_underfitting():
    v = train.diagnose(_curves([2.3, 2.1, 1.9], [2.3, 2.1, 1.95], [0.2, 0.3, 0.4], [0.2, 0.28, 0.38]))
    assert v.kind == "underfitting" and "training error 60.0%" in v.reason and "bigger model" in v.advice
    assert "train longer" in str(v)


def test_underfitting_from_the_loss_alone():
    assert train.diagnose(_curves([0.9, 0.8], [0.9, 0.85])).kind == "underfitting"
    assert train.diagnose(_curves([0.9, 0.2], [0.9, 0.25])).kind == "fine"


def test_error_gap_is_overfitting():
    v = train.diagnose(_curves([0.5, 0.05, 0.01], [0.6, 0.5, 0.55], [0.9, 0.99, 1.0], [0.85, 0.87, 0.86]))
    assert v.kind == "overfitting" and "14.0 points above" in v.reason
    assert "more data" in v.advice and "regularization" in v.advice


def test_loss_gap_and_rising_validation_loss_are_overfitting():
    assert train.diagnose(_curves([0.5, 0.1, 0.02], [0.5, 0.3, 0.3])).kind == "overfitting"  # gap 0.28
    # validation loss back up from its minimum while training loss falls; the gap alone is below 2x
    v = train.diagnose(_curves([1.0, 0.5, 0.3, 0.25], [0.9, 0.32, 0.40, 0.45]))
    assert v.kind == "overfitting" and "rose from 0.320 (epoch 2)" in v.reason
    assert v.best_epoch == 1 and v.best_val_loss == 0.32
    # a noisy validation loss a little above its minimum is not
    assert train.diagnose(_curves([1.0, 0.2, 0.15, 0.1], [0.9, 0.2, 0.17, 0.19])).kind == "fine"


def test_thresholds_change_the_verdict():
    h = _curves([0.5, 0.05], [0.6, 0.08], [0.9, 0.98], [0.85, 0.95])
    assert train.diagnose(h).kind == "fine"
    assert train.diagnose(h, max_error_gap=0.01).kind == "overfitting"
    assert train.diagnose(h, max_train_error=0.01).kind == "underfitting"


def test_nan_padding_and_errors():
    v = train.diagnose(_curves([1.0, 0.1, 0.05], [math.nan, 0.2, 0.08]))
    assert v.kind == "fine" and v.best_epoch == 2 and v.epochs == 3
    with pytest.raises(ValueError, match="no finite val_loss"):
        train.diagnose({"loss": [1.0, 0.5]})
    with pytest.raises(ValueError, match="max_error_gap must be a finite number >= 0"):
        train.diagnose(_curves([1.0], [1.0]), max_error_gap=-1)
    with pytest.raises(TypeError, match="expected a History"):
        train.diagnose([1.0, 2.0])
    with pytest.raises(ValueError, match="max_loss_gap"):
        train.FitDiagnosis(max_loss_gap=float("nan"))


def _digits_fit(model, n_train, epochs, lr, seed, callbacks=()):
    X, y = digits()
    X = X / 16.0
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    tr, va = order[:n_train], order[1000:1400]
    L.manual_seed(seed)
    return train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr), (X[tr], y[tr]),
                     val=(X[va], y[va]), epochs=epochs, batch_size=25, seed=seed, callbacks=callbacks, progress=False)


def test_a_big_mlp_on_50_digits_overfits():  # 19k weights for 50 samples
    L.manual_seed(0)
    lines = []
    cb = train.FitDiagnosis(out=lines.append)
    history = _digits_fit(MLP([64, 256, 10]), 50, 40, 3e-3, 0, callbacks=[cb])
    assert cb.verdict is not None and cb.verdict.kind == "overfitting", cb.verdict
    assert cb.verdict.train_error == 0.0 and cb.verdict.val_error > 0.1
    assert train.diagnose(history) == cb.verdict
    assert lines == [str(cb.verdict)] and lines[0].startswith("verdict: overfitting — ")


def test_a_tiny_short_model_underfits():
    L.manual_seed(0)
    cb = train.FitDiagnosis(verbose=False)
    _digits_fit(MLP([64, 2, 10]), 500, 2, 1e-3, 1, callbacks=[cb])
    assert cb.verdict is not None and cb.verdict.kind == "underfitting", cb.verdict
    assert cb.verdict.train_error > 0.5


def test_callback_without_validation_says_so():
    L.manual_seed(0)
    lines = []
    cb = train.FitDiagnosis(out=lines.append)
    X, y = digits()
    model = MLP([64, 8, 10])
    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
              (X[:50] / 16.0, y[:50]), epochs=1, callbacks=[cb], progress=False)
    assert cb.verdict is None and lines and "no validation curve" in lines[0]


def test_lamina_train_prints_the_verdict_after_the_test_accuracy(tmp_path, monkeypatch, capsys):
    import csv

    import lamina.runs
    from lamina.cli import main

    X, y = digits()
    monkeypatch.setattr(lamina.runs, "digits", lambda: (X[:300], y[:300]))
    assert main(["train", "--model", "mlp", "--epochs", "2", "--quiet", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("test accuracy "))
    (run,) = list(tmp_path.iterdir())
    rows = list(csv.DictReader(open(run / "history.csv")))
    expected = train.diagnose({k: [float(r[k]) for r in rows] for k in ("loss", "val_loss", "accuracy",
                                                                        "val_accuracy")})
    assert lines[at + 1] == str(expected) and lines[at + 1].startswith(f"verdict: {expected.kind} — train loss ")
