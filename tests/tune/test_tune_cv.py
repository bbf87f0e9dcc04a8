"""tune.kfold / tune.cross_val_score are utils.data's KFold / cross_validate; the trial objective of
``lamina tune`` builds its runs from the library (train.builders), not from the command line's module."""
import subprocess
import sys

import numpy as np
import pytest

from lamina import tune
from lamina.utils.data import KFold, cross_validate


@pytest.mark.parametrize("shuffle", [False, True])
def test_kfold_is_utils_data_kfold(shuffle):
    ours = list(tune.kfold(23, k=4, shuffle=shuffle, seed=3))
    ref = list(KFold(4, shuffle=shuffle, seed=3 if shuffle else None).split(23))
    assert len(ours) == 4
    for (tr, va), (rtr, rva) in zip(ours, ref):
        np.testing.assert_array_equal(tr, rtr)
        np.testing.assert_array_equal(va, rva)


def test_cross_val_score_is_the_mean_of_cross_validate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=40)

    def fit_score(Xtr, ytr, Xva, yva):
        w = np.linalg.lstsq(Xtr, ytr, rcond=None)[0]
        return float(np.mean((Xva @ w - yva) ** 2))

    score = tune.cross_val_score(fit_score, X, y, k=5, seed=1)
    ref = cross_validate(lambda tr, va: fit_score(X[tr], y[tr], X[va], y[va]), X, cv=KFold(5, shuffle=True, seed=1))
    assert score == ref.mean
    with pytest.raises(ValueError, match="X has 40 rows but y has 39"):
        tune.cross_val_score(fit_score, X, y[:-1])
    with pytest.raises(ValueError, match="n_splits must be an int >= 2"):
        list(tune.kfold(10, k=1))


def test_train_objective_does_not_import_the_command_line():
    code = ("import sys, lamina.tune.train_objective; "
            "print(sorted(m for m in ('lamina.runs', 'lamina.cli', 'lamina.demo') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
