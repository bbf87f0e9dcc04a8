"""Hypergradients through an unrolled run of SGD (gradient-based hyperparameter search): reverse mode
(create_graph) and forward mode (dual numbers) against central finite differences."""
import numpy as np
import pytest

import lamina
import lamina.nn.functional as F
from lamina import nn, optim, tune
from lamina.tune import functional_call, hypergradient


def regression():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2))
    X, Xv = rng.normal(size=(40, 3)), rng.normal(size=(30, 3))
    Y, Yv = np.tanh(X @ w) + 0.1 * rng.normal(size=(40, 2)), np.tanh(Xv @ w)
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    X, Y, Xv, Yv = map(lamina.tensor, (X, Y, Xv, Yv))
    batches = [(X[:20], Y[:20]), (X[20:], Y[20:])]
    return (model, lambda p, b: F.mse_loss(functional_call(model, p, b[0]), b[1]),
            lambda p: F.mse_loss(functional_call(model, p, Xv), Yv), batches)


def classification():
    """Softmax regression on 3 blobs, parameters as a plain dict (no Module)."""
    rng = np.random.default_rng(1)
    centers = rng.normal(scale=2.0, size=(3, 4))
    y = np.arange(60) % 3
    X = centers[y] + rng.normal(size=(60, 4))
    Xt, yt = lamina.tensor(X[:40]), lamina.tensor(y[:40])
    Xv, yv = lamina.tensor(X[40:]), lamina.tensor(y[40:])
    params = {"W": rng.normal(scale=0.1, size=(4, 3)), "b": np.zeros(3)}
    return (params, lambda p: F.cross_entropy(Xt @ p["W"] + p["b"], yt),
            lambda p: F.cross_entropy(Xv @ p["W"] + p["b"], yv), None)


PROBLEMS = {"regression": regression, "classification": classification}


def finite_difference(params, tl, vl, hyper, steps, batches, name, group=None, rel=1e-6):
    def f(delta):
        h = {k: (dict(v) if isinstance(v, dict) else v) for k, v in hyper.items()}
        if group is None:
            h[name] += delta
        else:
            h[name][group] += delta
        return hypergradient(params, tl, vl, h, steps, wrt=[], batches=batches).value

    base = hyper[name] if group is None else hyper[name][group]
    eps = rel * max(abs(base), 0.1)
    return (f(eps) - f(-eps)) / (2 * eps)


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_hypergradient_equals_finite_differences(problem, mode):
    params, tl, vl, batches = PROBLEMS[problem]()
    hyper = {"lr": 0.3, "l2": 1e-2, "momentum": 0.5, "weight_decay": 1e-3}
    value, grads = hypergradient(params, tl, vl, hyper, steps=8, batches=batches, mode=mode)
    assert set(grads) == set(hyper)
    for name in hyper:
        fd = finite_difference(params, tl, vl, hyper, 8, batches, name)
        assert grads[name] == pytest.approx(fd, rel=1e-6, abs=1e-10), name
    assert value == hypergradient(params, tl, vl, hyper, 8, wrt=[], batches=batches).value


def test_reverse_and_forward_agree_per_group_lr():
    params, tl, vl, batches = regression()
    hyper = {"lr": {"0": 0.3, "2": 0.1}, "l2": 1e-2}
    rev = hypergradient(params, tl, vl, hyper, steps=10, batches=batches, mode="reverse")
    fwd = hypergradient(params, tl, vl, hyper, steps=10, batches=batches, mode="forward")
    assert set(rev.grads["lr"]) == {"0", "2"}
    for g in ("0", "2"):
        assert rev.grads["lr"][g] == pytest.approx(fwd.grads["lr"][g], rel=1e-10)
        fd = finite_difference(params, tl, vl, hyper, 10, batches, "lr", group=g)
        assert rev.grads["lr"][g] == pytest.approx(fd, rel=1e-6)
    assert rev.grads["l2"] == pytest.approx(fwd.grads["l2"], rel=1e-10)
    assert rev.value == fwd.value


def test_unrolled_run_is_lamina_sgd():
    """The functional run of hypergradient() follows optim.SGD(lr, momentum, weight_decay=l2) step for step."""
    model, tl, vl, batches = regression()
    res = hypergradient(model, tl, vl, {"lr": 0.2, "momentum": 0.9, "l2": 0.01}, steps=6, batches=batches, wrt="lr")
    assert set(res.grads) == {"lr"}
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9, weight_decay=0.01)
    params = dict(model.named_parameters())
    for t in range(6):
        opt.zero_grad()
        tl(params, batches[t % 2]).backward()
        opt.step()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(res.params[name], p.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_outer_loop_reduces_the_validation_loss(mode):
    model, tl, vl, batches = regression()
    seen = []
    opt = tune.tune_by_hypergradient(model, tl, vl, {"lr": 0.02, "l2": 1e-3}, steps=10, batches=batches,
                                     outer_steps=8, hyper_lr=0.3, mode=mode, callback=lambda i, r: seen.append(i))
    values = [r["value"] for r in opt.history]
    assert seen == list(range(8))
    assert opt.best["value"] < 0.5 * values[0]
    assert values[1] < values[0]
    assert opt.best["hyper"]["lr"] > 0.02          # the lr was too small: its hypergradient was negative
    assert opt.history[0]["grads"]["lr"] < 0


def test_warm_start_and_nonfinite_step_is_undone():
    model, tl, vl, batches = regression()
    h = tune.HyperparameterOptimizer(model, tl, vl, {"lr": 0.05}, steps=5, batches=batches, warm_start=True,
                                     hyper_lr=0.2)
    first = h.step()
    second = h.step()
    assert second < first                     # continued training from θ_T, with a larger lr
    h._u[:] = np.log(1e200)                    # force a diverging learning rate
    assert not np.isfinite(h.step())
    assert h.hyper["lr"] < 1.0 and h.hyper_lr == 0.1


def test_bad_arguments_are_clear_errors():
    model, tl, vl, batches = regression()
    with pytest.raises(ValueError, match="at least 'lr'"):
        hypergradient(model, tl, vl, {"l2": 0.1}, 3, batches=batches)
    with pytest.raises(ValueError, match="unknown hyperparameter 'beta'"):
        hypergradient(model, tl, vl, {"lr": 0.1, "beta": 1}, 3, batches=batches)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        hypergradient(model, tl, vl, {"lr": 0.1}, 0, batches=batches)
    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward'"):
        hypergradient(model, tl, vl, {"lr": 0.1}, 3, batches=batches, mode="both")
    with pytest.raises(ValueError, match="parameter '2.weight' is in no group"):
        hypergradient(model, tl, vl, {"lr": {"0": 0.1}}, 3, batches=batches)
    with pytest.raises(TypeError, match="val_loss must return a scalar Tensor"):
        hypergradient(model, tl, lambda p: 1.0, {"lr": 0.1}, 3, batches=batches)
    with pytest.raises(ValueError, match="l2=0.0 must be > 0 to be tuned in log space"):
        tune.HyperparameterOptimizer(model, tl, vl, {"lr": 0.1, "l2": 0.0}, 3, batches=batches)


def test_batchnorm_module_buffers_restored_and_modes_agree():
    from lamina.models.small_cnn import SmallCNN

    lamina.manual_seed(0)
    model = SmallCNN(10, 1, width=2, dropout=0.0).double()
    rng = np.random.default_rng(0)
    x, y = lamina.tensor(rng.normal(size=(16, 1, 8, 8))), lamina.tensor(np.arange(16) % 10)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    def tl(p):
        return F.cross_entropy(functional_call(model, p, x), y)

    rev = hypergradient(model, tl, tl, {"lr": 0.1, "l2": 1e-3}, 3, mode="reverse")
    fwd = hypergradient(model, tl, tl, {"lr": 0.1, "l2": 1e-3}, 3, mode="forward")
    assert rev.value == pytest.approx(fwd.value, rel=1e-12)
    for k in ("lr", "l2"):
        assert rev.grads[k] == pytest.approx(fwd.grads[k], rel=1e-9)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
