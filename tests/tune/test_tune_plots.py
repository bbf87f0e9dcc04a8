"""Plots are written (PNG and SVG) and parameter importance ranks what matters."""
import pytest

from lamina import tune


@pytest.fixture(scope="module")
def study():
    def objective(trial):
        x = trial.suggest_float("important", 0.0, 1.0)
        trial.suggest_float("noise", 1e-3, 1.0, log=True)
        c = trial.suggest_categorical("choice", ["a", "b"])
        return 10 * (x - 0.3) ** 2 + (0.1 if c == "b" else 0.0)

    s = tune.create_study(strategy=tune.Random(seed=0))
    s.optimize(objective, n_trials=60)
    return s


def test_param_importances_rank_the_parameter_that_matters(study):
    imp = tune.param_importances(study)
    assert list(imp)[0] == "important"
    assert imp["important"] > 0.7
    assert sum(imp.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("plot", [tune.plot_optimization_history, tune.plot_param_importances,
                                  tune.plot_slice, tune.plot_parallel_coordinate])
@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_plots_are_written(study, plot, suffix, tmp_path):
    path = tmp_path / f"{plot.__name__}.{suffix}"
    fig = plot(study, path=path)
    assert path.stat().st_size > 1000
    head = path.read_bytes()[:64]
    assert head.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in path.read_bytes()[:2000] or b"<?xml" in head
    assert fig.axes
    assert [p.name for p in tmp_path.iterdir()] == [path.name]     # no temporary file left


def test_plot_errors(study):
    with pytest.raises(ValueError, match="unknown parameters"):
        tune.plot_slice(study, params=["nope"])
    with pytest.raises(ValueError, match="no completed trial"):
        tune.plot_optimization_history(tune.create_study())
