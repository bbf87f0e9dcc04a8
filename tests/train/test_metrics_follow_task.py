"""fit's metrics follow the task its loss names: accuracy for classification, mae = mean |ŷ − y| for
regression (an "accuracy" of a regression is the agreement of signs: meaningless), none for a loss
lamina does not know."""
import numpy as np
import pytest

import lamina as L
from lamina import nn, optim, train


def _regression(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((120, 3)).astype(np.float64)
    y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.standard_normal((120, 1)))
    return X, y


def _linear(n_in, n_out):
    L.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, n_out)).double()


@pytest.mark.parametrize("loss", [nn.MSELoss(), nn.L1Loss(), nn.HuberLoss(), nn.SmoothL1Loss(),
                                  nn.functional.mse_loss])
def test_a_regression_loss_logs_mae_not_accuracy(loss):
    X, y = _regression()
    model = _linear(3, 1)
    h = train.fit(model, loss, optim.SGD(model.parameters(), lr=0.05), (X[:90], y[:90]), val=(X[90:], y[90:]),
                  epochs=3, batch_size=16, seed=0, progress=False)
    assert "accuracy" not in h and "val_accuracy" not in h
    assert {"mae", "val_mae"} <= set(h.history)
    pred = train.predict(model, X[90:]).numpy()
    assert h["val_mae"][-1] == pytest.approx(np.abs(pred - y[90:]).mean(), rel=1e-12)
    res = train.evaluate(model, loss, (X[90:], y[90:]))
    assert set(res) == {"loss", "mae"} and res["mae"] == pytest.approx(h["val_mae"][-1], rel=1e-12)


def test_accuracy_asked_of_a_regression_is_refused():
    X, y = _regression()
    model = _linear(3, 1)
    with pytest.raises(ValueError, match="'accuracy' needs a classification loss; MSELoss is a regression loss"):
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), metrics=("accuracy",),
                  progress=False)


def test_a_classification_loss_logs_accuracy():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 4))
    y = (X[:, 0] > 0).astype(np.int64)
    model = _linear(4, 2)
    h = train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X[:80], y[:80]),
                  val=(X[80:], y[80:]), epochs=2, seed=0, progress=False)
    assert {"accuracy", "val_accuracy"} <= set(h.history) and "mae" not in h
    pred = train.predict(model, X[80:]).numpy().argmax(1)
    assert h["val_accuracy"][-1] == pytest.approx((pred == y[80:]).mean())


def test_bce_on_probabilities_reads_them_at_one_half():
    """BCELoss takes probabilities: a prediction is positive above 0.5 (not above 0, which all are)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((100, 2))
    y = (X[:, :1] + X[:, 1:] > 0.3).astype(np.float64)
    L.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()).double()
    h = train.fit(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.5), (X[:80], y[:80]),
                  val=(X[80:], y[80:]), epochs=4, seed=0, progress=False)
    p = train.predict(model, X[80:]).numpy()
    assert h["val_accuracy"][-1] == pytest.approx(((p > 0.5) == (y[80:] > 0)).mean())
    assert h["val_accuracy"][-1] != pytest.approx((y[80:] > 0).mean())      # not "everything positive"


def test_an_unknown_loss_logs_no_metric_unless_asked():
    X, y = _regression()
    model = _linear(3, 1)

    def loss(out, target):
        return ((out - target) ** 4).mean()

    h = train.fit(model, loss, optim.SGD(model.parameters(), lr=0.01), (X, y), epochs=1, progress=False)
    assert set(h.history) == {"loss", "lr"}
    h = train.fit(model, loss, optim.SGD(model.parameters(), lr=0.01), (X, y), epochs=1, metrics=["mae"],
                  progress=False)
    assert "mae" in h
