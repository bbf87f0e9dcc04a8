"""Learning-rate schedulers: 30 epochs equal PyTorch's sequences (or the closed-form decays)."""
import math
import warnings

import numpy as np
import pytest
import torch

import lamina
import lamina.optim as lo
from lamina import io
from lamina.optim import lr_scheduler as ls

tls = torch.optim.lr_scheduler

EPOCHS = 30


def _optimizer(lib, kind="SGD"):
    if lib is lamina:
        a, b = (lamina.tensor(np.ones(2), requires_grad=True) for _ in range(2))
        mod = lo
    else:
        a, b = (torch.ones(2, requires_grad=True) for _ in range(2))
        mod = torch.optim
    if kind == "SGD":
        return mod.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)
    return mod.Adam([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)


def _sequence(make, lib, kind="SGD", metrics=None):
    opt = _optimizer(lib, kind)
    sched = make(lib, opt)
    seq = [sched.get_last_lr()]
    extra = []
    for e in range(EPOCHS):
        opt.step()
        sched.step(metrics[e]) if metrics is not None else sched.step()
        seq.append(sched.get_last_lr())
        extra.append([g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
    return np.array(seq, dtype=float), extra


def _m(lib):
    return ls if lib is lamina else tls


class _Halve:
    """A callable object: its state is saved by LambdaLR.state_dict."""

    def __init__(self):
        self.k = 0.5

    def __call__(self, e):
        return self.k ** (e // 4)


TORCH_EQUIVALENT = {
    "LambdaLR": lambda lib, o: _m(lib).LambdaLR(o, lambda e: 1 / (1 + e)),
    "LambdaLR-per-group": lambda lib, o: _m(lib).LambdaLR(o, [lambda e: 0.9 ** e, _Halve()]),
    "MultiplicativeLR": lambda lib, o: _m(lib).MultiplicativeLR(o, lambda e: 0.95),
    "StepLR": lambda lib, o: _m(lib).StepLR(o, step_size=7, gamma=0.3),
    "MultiStepLR": lambda lib, o: _m(lib).MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.5),
    "ConstantLR": lambda lib, o: _m(lib).ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda lib, o: _m(lib).LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=8),
    "LinearLR-decay": lambda lib, o: _m(lib).LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=12),
    "ExponentialLR": lambda lib, o: _m(lib).ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda lib, o: _m(lib).PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingLR": lambda lib, o: _m(lib).CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "SequentialLR": lambda lib, o: _m(lib).SequentialLR(o, [_m(lib).LinearLR(o, start_factor=0.2, total_iters=5),
                                                            _m(lib).CosineAnnealingLR(o, T_max=20)],
                                                        milestones=[5]),
    "SequentialLR-3": lambda lib, o: _m(lib).SequentialLR(o, [_m(lib).ConstantLR(o, factor=0.5, total_iters=3),
                                                              _m(lib).ExponentialLR(o, gamma=0.8),
                                                              _m(lib).StepLR(o, 4)], milestones=[4, 12]),
    "ChainedScheduler": lambda lib, o: _m(lib).ChainedScheduler([_m(lib).ConstantLR(o, factor=0.5, total_iters=4),
                                                                 _m(lib).ExponentialLR(o, gamma=0.9)]),
    "OneCycleLR": lambda lib, o: _m(lib).OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=EPOCHS),
    "OneCycleLR-linear-3phase": lambda lib, o: _m(lib).OneCycleLR(o, max_lr=1.0, epochs=3, steps_per_epoch=10,
                                                                  anneal_strategy="linear", three_phase=True),
}


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name", sorted(TORCH_EQUIVALENT))
def test_sequence_equals_torch(name, kind):
    make = TORCH_EQUIVALENT[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, ref_m = _sequence(make, torch, kind)
    ours, our_m = _sequence(make, lamina, kind)
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=1e-15)
    if name.startswith("OneCycle"):   # momentum / β1 cycles the same way
        np.testing.assert_allclose(np.array(our_m, float), np.array(ref_m, float), rtol=1e-13)


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("min", "abs"), ("max", "rel"), ("max", "abs")])
def test_reduce_on_plateau_equals_torch(mode, threshold_mode):
    rng = np.random.default_rng(3)
    metrics = list(np.repeat(rng.random(10), 3))
    make = lambda lib, o: _m(lib).ReduceLROnPlateau(o, mode=mode, factor=0.5, patience=2, cooldown=1,  # noqa: E731
                                                     threshold=0.05, threshold_mode=threshold_mode,
                                                     min_lr=[0.01, 0.02])
    ours, _ = _sequence(make, lamina, metrics=metrics)
    ref, _ = _sequence(make, torch, metrics=metrics)
    np.testing.assert_array_equal(ours, ref)
    assert ours[-1, 0] < ours[0, 0]


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                                  "PolynomialLR", "ConstantLR"])
def test_closed_form_jump_equals_torch(name):
    make = TORCH_EQUIVALENT[name]
    for lib in (lamina, torch):
        opt = _optimizer(lib)
        sched = make(lib, opt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = []
            for e in (3, 17, 9, 25):
                sched.step(e)
                got.append(sched.get_last_lr())
        if lib is lamina:
            ours = np.array(got)
        else:
            np.testing.assert_allclose(ours, np.array(got), rtol=1e-13)


SEED_FORMULAS = {
    "InverseTimeLR": (lambda o: ls.InverseTimeLR(o, decay_rate=0.5), lambda a0, e: a0 / (1 + 0.5 * e)),
    "StepDecayLR": (lambda o: ls.StepDecayLR(o, step_size=5, decay_rate=0.25),
                    lambda a0, e: a0 * 0.75 ** (e // 5)),
    "ExponentialDecayLR": (lambda o: ls.ExponentialDecayLR(o, decay_rate=0.9), lambda a0, e: 0.9 ** e * a0),
    "InverseSqrtLR": (lambda o: ls.InverseSqrtLR(o, decay_rate=0.8),
                      lambda a0, e: a0 if e == 0 else 0.8 / math.sqrt(e) * a0),
    "ManualLR-list": (lambda o: ls.ManualLR(o, [0.1, 0.1, 0.05, 0.01]),
                      lambda a0, e: [0.1, 0.1, 0.05, 0.01][min(e, 3)]),
    "ManualLR-dict": (lambda o: ls.ManualLR(o, {10: 0.02, 20: 0.004}),
                      lambda a0, e: a0 if e < 10 else (0.02 if e < 20 else 0.004)),
}


@pytest.mark.parametrize("name", sorted(SEED_FORMULAS))
def test_seed_decays_follow_their_formula(name):
    make, formula = SEED_FORMULAS[name]
    ours, _ = _sequence(lambda lib, o: make(o), lamina)
    expected = np.array([[formula(a0, e) for a0 in (0.1, 0.05)] for e in range(EPOCHS + 1)])
    np.testing.assert_allclose(ours, expected, rtol=1e-13)


def test_seed_decays_equal_their_torch_twins():
    pairs = [(lambda o: ls.StepDecayLR(o, step_size=5, decay_rate=0.25), lambda o: tls.StepLR(o, 5, gamma=0.75)),
             (lambda o: ls.ExponentialDecayLR(o, 0.9), lambda o: tls.ExponentialLR(o, 0.9)),
             (lambda o: ls.InverseTimeLR(o, 0.5), lambda o: tls.LambdaLR(o, lambda e: 1 / (1 + 0.5 * e)))]
    for ours_make, ref_make in pairs:
        ours, _ = _sequence(lambda lib, o, f=ours_make: f(o), lamina)
        ref, _ = _sequence(lambda lib, o, f=ref_make: f(o), torch)
        np.testing.assert_allclose(ours, ref, rtol=1e-15)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "SequentialLR", "OneCycleLR", "LambdaLR-per-group"])
def test_state_dict_round_trip(name):
    make = TORCH_EQUIVALENT[name]
    opt = _optimizer(lamina)
    sched = make(lamina, opt)
    for _ in range(10):
        opt.step()
        sched.step()
    sd_opt, sd = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sd
    opt2 = _optimizer(lamina)
    sched2 = make(lamina, opt2)
    opt2.load_state_dict(sd_opt)
    sched2.load_state_dict(sd)
    for _ in range(10):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched.get_last_lr() == sched2.get_last_lr()
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in opt2.param_groups]


def test_scheduler_drives_the_optimizer_update():
    w = lamina.tensor(np.zeros(1), requires_grad=True)
    opt = lo.SGD([w], lr=1.0)
    sched = ls.ManualLR(opt, [1.0, 0.5, 0.25])
    for _ in range(3):
        w.grad = lamina.tensor(np.ones(1))
        opt.step()
        sched.step()
    assert w.item() == -1.75


def test_scheduler_errors():
    with pytest.raises(TypeError, match="Optimizer"):
        ls.StepLR(object(), 3)
    opt = _optimizer(lamina)
    with pytest.raises(KeyError, match="initial_lr"):
        ls.StepLR(opt, 3, last_epoch=4)
    with pytest.raises(ValueError, match="milestones"):
        ls.SequentialLR(opt, [ls.ExponentialLR(opt, 0.9)], milestones=[3])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        ls.ChainedScheduler([ls.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="decay_rate"):
        ls.InverseSqrtLR(opt, decay_rate=0)
    with pytest.raises(ValueError, match="empty"):
        ls.ManualLR(opt, [])


def test_optimizer_and_scheduler_state_survive_lamina_save(tmp_path):
    opt = lo.Adam([lamina.tensor(np.ones(3), requires_grad=True)], lr=0.1)
    sched = ls.SequentialLR(opt, [ls.LinearLR(opt, 0.5, total_iters=2), ls.MultiStepLR(opt, [3, 6])], [2])
    p = opt.param_groups[0]["params"][0]
    for _ in range(4):
        p.grad = lamina.tensor(np.arange(3.0))
        opt.step()
        sched.step()
    io.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, str(tmp_path / "ckpt.safetensors"))
    back = io.load(str(tmp_path / "ckpt.safetensors"))
    opt2 = lo.Adam([lamina.tensor(p.numpy().copy(), requires_grad=True)], lr=0.1)
    sched2 = ls.SequentialLR(opt2, [ls.LinearLR(opt2, 0.5, total_iters=2), ls.MultiStepLR(opt2, [3, 6])], [2])
    opt2.load_state_dict(back["optimizer"])
    sched2.load_state_dict(back["scheduler"])
    p2 = opt2.param_groups[0]["params"][0]
    for _ in range(6):
        for o, s, q in ((opt, sched, p), (opt2, sched2, p2)):
            q.grad = lamina.tensor(np.arange(3.0))
            o.step()
            s.step()
        assert sched.get_last_lr() == sched2.get_last_lr()
        np.testing.assert_array_equal(p.numpy(), p2.numpy())
