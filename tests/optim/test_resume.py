"""Reading an optimizer's or a scheduler's state changes nothing, and resuming from it is bit-exact.

For every optimizer and every learning-rate scheduler of ``lamina.optim``: train N steps, save the state
dicts with ``lamina.save`` (the safetensors checkpoint format), load them into fresh objects, train N more
steps and compare with a run that never stopped, with ``np.array_equal``.  A run that calls
``state_dict()`` after every step (as ``ModelCheckpoint`` does every epoch) equals one that never does.
"""
import inspect

import numpy as np
import pytest

import lamina
import lamina.optim as lo
from lamina import io, nn
from lamina.optim import lr_scheduler as ls

N = 20


def _problem(seed=0, dtype=np.float64, width=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((16, 4)).astype(dtype)
    Y = rng.standard_normal((16, 3)).astype(dtype)
    init = [rng.standard_normal((4, width)) * 0.5, rng.standard_normal(width) * 0.1,
            rng.standard_normal((width, 3)) * 0.5, rng.standard_normal(3) * 0.1]
    return lamina.tensor(X), lamina.tensor(Y), [a.astype(dtype) for a in init]


def _output(ps, X):
    w1, b1, w2, b2 = ps
    return lamina.tanh(X @ w1 + b1) @ w2 + b2


class Dense:
    """An MLP regression; ``step`` follows the optimizer's protocol (plain, closure with backward, closure
    that only computes the loss, closure that returns the residuals); the second-order methods (an n×n
    system a step) get a narrower net and fewer steps."""

    def __init__(self, make, protocol="plain", dtype=np.float64, width=6, steps=N):
        self.make, self.protocol, self.dtype, self.steps = make, protocol, dtype, steps
        self.X, self.Y, self.init = _problem(dtype=dtype, width=width)

    def fresh(self, arrays=None):
        ps = [lamina.tensor(np.array(a), requires_grad=True) for a in (arrays or self.init)]
        return ps, self.make(ps)

    def loss(self, ps):
        return ((_output(ps, self.X) - self.Y) ** 2).mean()

    def step(self, ps, opt):
        if self.protocol == "plain":
            opt.zero_grad()
            self.loss(ps).backward()
            opt.step()
        elif self.protocol == "closure":
            def closure():
                opt.zero_grad()
                loss = self.loss(ps)
                loss.backward()
                return loss
            opt.step(closure)
        elif self.protocol == "compute":
            opt.step(lambda: self.loss(ps))
        else:
            opt.step(lambda: (_output(ps, self.X) - self.Y).reshape(-1))


class Sparse:
    """An embedding with row-sparse gradients (SparseAdam); each step looks up other rows."""

    protocol = "sparse"
    steps = N

    def __init__(self, make):
        self.make = make
        self.init = [np.random.default_rng(1).standard_normal((12, 4))]

    def fresh(self, arrays=None):
        emb = nn.Embedding(12, 4, sparse=True, _weight=lamina.tensor(np.array((arrays or self.init)[0])))
        ps = [emb.weight]
        opt = self.make(ps)
        opt._emb = emb
        return ps, opt

    def step(self, ps, opt):
        k = opt.state[ps[0]].get("step", 0) if ps[0] in opt.state else 0
        idx = np.random.default_rng(k).integers(0, 12, size=5)
        opt.zero_grad()
        y = opt._emb(lamina.tensor(idx))
        (y * y * lamina.tensor(np.random.default_rng(k + 100).standard_normal((5, 4)))).sum().backward()
        opt.step()


OPTIMIZERS = {
    "SGD": Dense(lambda ps: lo.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "Adagrad": Dense(lambda ps: lo.Adagrad(ps, lr=0.1, lr_decay=0.01)),
    "Adadelta": Dense(lambda ps: lo.Adadelta(ps, lr=0.5)),
    "RMSprop": Dense(lambda ps: lo.RMSprop(ps, lr=1e-2, centered=True, momentum=0.9)),
    "Adam": Dense(lambda ps: lo.Adam(ps, lr=1e-2)),
    "Adam-float32": Dense(lambda ps: lo.Adam(ps, lr=1e-2, betas=(0.8, 0.99)), dtype=np.float32),
    "Adam-amsgrad": Dense(lambda ps: lo.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=0.1)),
    "AdamW": Dense(lambda ps: lo.AdamW(ps, lr=1e-2)),
    "NAdam": Dense(lambda ps: lo.NAdam(ps, lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    "RAdam": Dense(lambda ps: lo.RAdam(ps, lr=1e-2, betas=(0.9, 0.9), weight_decay=0.1)),
    "Adamax": Dense(lambda ps: lo.Adamax(ps, lr=1e-2, maximize=True)),
    "SGDHD": Dense(lambda ps: lo.SGDHD(ps, lr=0.05, momentum=0.9)),
    "AdamHD": Dense(lambda ps: lo.AdamHD(ps, lr=1e-2)),
    "SparseAdam": Sparse(lambda ps: lo.SparseAdam(ps, lr=0.05)),
    "LBFGS": Dense(lambda ps: lo.LBFGS(ps, max_iter=3, history_size=4), "closure"),
    "LBFGS-strong-wolfe": Dense(lambda ps: lo.LBFGS(ps, max_iter=3, line_search_fn="strong_wolfe"), "closure"),
    "BFGS": Dense(lambda ps: lo.BFGS(ps, max_iter=3, line_search_fn="strong_wolfe"), "closure"),
    "SGD-armijo": Dense(lambda ps: lo.SGD(ps, lr=0.5, line_search="armijo"), "closure"),
    "Newton": Dense(lambda ps: lo.Newton(ps, damping=1e-2), "compute", width=2, steps=3),
    "GaussNewton": Dense(lambda ps: lo.GaussNewton(ps, damping=1e-2), "residual", width=2, steps=3),
    "LevenbergMarquardt": Dense(lambda ps: lo.LevenbergMarquardt(ps), "residual", width=2, steps=3),
}


def _run(case, ps, opt, steps, peek=False):
    for _ in range(steps):
        case.step(ps, opt)
        if peek:
            before = _snapshot(opt)
            opt.state_dict()
            after = _snapshot(opt)
            assert before.keys() == after.keys()
            for k in before:
                assert type(before[k]) is type(after[k]) and np.array_equal(before[k], after[k]), k
    return [p.numpy().copy() for p in ps]


def _snapshot(opt) -> dict:
    """Every value of the optimizer's live state and groups, copied."""
    out = {}
    for i, s in enumerate(opt.state.values()):
        for k, v in s.items():
            out[(i, k)] = np.array(v, copy=True) if isinstance(v, np.ndarray) else \
                [np.array(r, copy=True) for r in v] if isinstance(v, list) else v
    for gi, g in enumerate(opt.param_groups):
        for k, v in g.items():
            if k != "params":
                out[("group", gi, k)] = v
    return out


def test_every_optimizer_of_lamina_optim_has_a_case():
    classes = {c for c in vars(lo).values() if inspect.isclass(c) and issubclass(c, lo.Optimizer)
               and c is not lo.Optimizer}
    covered = set()
    for case in OPTIMIZERS.values():
        covered.add(type(case.fresh()[1]))
    missing = sorted(c.__name__ for c in classes - covered)
    assert not missing, f"add a resume case to OPTIMIZERS for {missing}"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_reading_the_state_dict_changes_nothing(name):
    """state_dict() after every step: the live state is unchanged by each call and the run equals one that
    never reads it (Adam used to fold its moment factors into the buffers in place)."""
    case = OPTIMIZERS[name]
    quiet = _run(case, *case.fresh(), 2 * case.steps)
    read = _run(case, *case.fresh(), 2 * case.steps, peek=True)
    for a, b in zip(quiet, read):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_resume_through_a_checkpoint_file_is_bit_exact(name, tmp_path):
    case = OPTIMIZERS[name]
    whole = _run(case, *case.fresh(), 2 * case.steps)
    ps, opt = case.fresh()
    _run(case, ps, opt, case.steps)
    path = str(tmp_path / "ckpt.safetensors")
    io.save({"params": [p.numpy() for p in ps], "optimizer": opt.state_dict()}, path)
    back = io.load(path)
    ps2, opt2 = case.fresh(back["params"])
    opt2.load_state_dict(back["optimizer"])
    resumed = _run(case, ps2, opt2, case.steps)
    for a, b in zip(whole, resumed):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_adam_state_dict_holds_the_true_moments_without_changing_the_buffers():
    case = OPTIMIZERS["Adam"]
    ps, opt = case.fresh()
    _run(case, ps, opt, 7)
    live = opt.state[ps[0]]
    buf, factor = live["exp_avg"].copy(), live["exp_avg_scale"]
    assert factor != 1.0                      # the buffer is kept up to a factor
    sd = opt.state_dict()["state"][0]
    np.testing.assert_allclose(sd["exp_avg"], factor * buf, rtol=1e-15)
    assert np.array_equal(live["exp_avg"], buf) and live["exp_avg_scale"] == factor
    assert sd["exp_avg"] is not live["exp_avg"]


# ---------------------------------------------------------------------------- schedulers
class _Halve:
    """A callable object: LambdaLR saves its __dict__."""

    def __init__(self):
        self.k = 0.5

    def __call__(self, e):
        return self.k ** (e // 4)


SCHEDULERS = {
    "LambdaLR": lambda o: ls.LambdaLR(o, [lambda e: 1 / (1 + e), _Halve()]),
    "MultiplicativeLR": lambda o: ls.MultiplicativeLR(o, lambda e: 0.95),
    "StepLR": lambda o: ls.StepLR(o, 7, 0.3),
    "MultiStepLR": lambda o: ls.MultiStepLR(o, [3, 10, 10, 25], 0.5),
    "ConstantLR": lambda o: ls.ConstantLR(o, 0.25, 6),
    "LinearLR": lambda o: ls.LinearLR(o, 0.1, 1.0, 8),
    "ExponentialLR": lambda o: ls.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda o: ls.PolynomialLR(o, 30, 2.0),
    "CosineAnnealingLR": lambda o: ls.CosineAnnealingLR(o, 10, 0.001),
    "SequentialLR": lambda o: ls.SequentialLR(o, [ls.LinearLR(o, 0.2, total_iters=5),
                                                  ls.CosineAnnealingLR(o, 20)], [5]),
    "ChainedScheduler": lambda o: ls.ChainedScheduler([ls.ConstantLR(o, 0.5, 4), ls.ExponentialLR(o, 0.9)]),
    "CyclicLR": lambda o: ls.CyclicLR(o, [0.01, 0.005], [0.05, 0.02], step_size_up=5, step_size_down=3,
                                      mode="triangular2"),
    "OneCycleLR": lambda o: ls.OneCycleLR(o, max_lr=[0.05, 0.02], total_steps=2 * N),
    "ReduceLROnPlateau": lambda o: ls.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1),
    "InverseTimeLR": lambda o: ls.InverseTimeLR(o, 0.5),
    "StepDecayLR": lambda o: ls.StepDecayLR(o, 5, 0.25),
    "ExponentialDecayLR": lambda o: ls.ExponentialDecayLR(o, 0.9),
    "InverseSqrtLR": lambda o: ls.InverseSqrtLR(o, 1.0),
    "ManualLR": lambda o: ls.ManualLR(o, {3: 0.01, 9: 0.003}),
}


def _sched_fresh(make, arrays=None):
    X, Y, init = _problem(seed=2)
    ps = [lamina.tensor(np.array(a), requires_grad=True) for a in (arrays or init)]
    # two groups (the second at half the rate); Adam, whose β1 OneCycleLR cycles
    opt = lo.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01}], lr=0.02)
    return ps, opt, make(opt), X, Y


def _sched_run(ps, opt, sched, X, Y, steps):
    lrs = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((_output(ps, X) - Y) ** 2).mean()
        loss.backward()
        opt.step()
        if isinstance(sched, ls.ReduceLROnPlateau):
            sched.step(round(float(loss.item()), 1))     # plateaus, so the rate does drop
        else:
            sched.step()
        lrs.append(sched.get_last_lr())
    return [p.numpy().copy() for p in ps], lrs


def test_every_scheduler_of_lr_scheduler_has_a_case():
    classes = {c for c in vars(ls).values() if inspect.isclass(c) and issubclass(c, ls.LRScheduler)
               and c is not ls.LRScheduler and not c.__name__.startswith("_")}
    covered = {type(_sched_fresh(make)[2]) for make in SCHEDULERS.values()}
    missing = sorted(c.__name__ for c in classes - covered)
    assert not missing, f"add a resume case to SCHEDULERS for {missing}"


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_resume_through_a_checkpoint_file_is_bit_exact(name, tmp_path):
    make = SCHEDULERS[name]
    whole, whole_lrs = _sched_run(*_sched_fresh(make), 2 * N)
    ps, opt, sched, X, Y = _sched_fresh(make)
    _, first_lrs = _sched_run(ps, opt, sched, X, Y, N)
    path = str(tmp_path / "ckpt.safetensors")
    io.save({"params": [p.numpy() for p in ps], "optimizer": opt.state_dict(), "scheduler": sched.state_dict()},
            path)
    back = io.load(path)
    ps2, opt2, sched2, X, Y = _sched_fresh(make, back["params"])
    opt2.load_state_dict(back["optimizer"])
    sched2.load_state_dict(back["scheduler"])
    resumed, rest_lrs = _sched_run(ps2, opt2, sched2, X, Y, N)
    assert first_lrs + rest_lrs == whole_lrs
    assert len({tuple(v) for v in whole_lrs}) > 1          # the schedule did move the rate
    for a, b in zip(whole, resumed):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ["MultiStepLR", "SequentialLR", "OneCycleLR", "ReduceLROnPlateau", "LambdaLR"])
def test_scheduler_state_dict_is_a_copy(name):
    """Changing (or saving) the returned dict leaves the scheduler as it was; a loaded scheduler shares
    nothing with the dict it was loaded from."""
    ps, opt, sched, X, Y = _sched_fresh(SCHEDULERS[name])
    _sched_run(ps, opt, sched, X, Y, 5)
    before = repr(sched.state_dict())

    def scribble(d):
        for v in list(d.values()):
            if isinstance(v, list):
                if v and isinstance(v[0], dict):
                    for c in v:
                        scribble(c)
                else:
                    v.append(-1.0)
            elif isinstance(v, dict):
                scribble(v)

    sd = sched.state_dict()
    scribble(sd)
    assert repr(sched.state_dict()) == before
    _, opt2, sched2, _, _ = _sched_fresh(SCHEDULERS[name])
    loaded = sched.state_dict()
    sched2.load_state_dict(loaded)
    scribble(loaded)
    assert repr(sched2.state_dict()) == before
