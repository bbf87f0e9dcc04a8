"""CyclicLR against torch.optim.lr_scheduler.CyclicLR: 50 batches, step by step, the learning rates and the
cycled momentum (SGD's momentum, Adam's β1) equal torch's, in every mode."""
import numpy as np
import pytest
import torch

import lamina
import lamina.optim as lo
from lamina.optim import lr_scheduler as ls

STEPS = 50


class _Decay:
    """A callable object as scale_fn (its state is saved)."""

    def __init__(self):
        self.rate = 0.9

    def __call__(self, x):
        return self.rate ** x


CASES = {
    "triangular": dict(base_lr=0.01, max_lr=0.1, step_size_up=4),
    "triangular-asymmetric": dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.05], step_size_up=3, step_size_down=7),
    "triangular2": dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular2"),
    "exp_range": dict(base_lr=0.01, max_lr=0.1, step_size_up=6, mode="exp_range", gamma=0.97),
    "scale_fn-cycle": dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=lambda c: 1 / c),
    "scale_fn-iterations": dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=_Decay(),
                                scale_mode="iterations"),
    "momentum-range": dict(base_lr=0.01, max_lr=0.1, step_size_up=5, base_momentum=[0.7, 0.75],
                           max_momentum=0.95),
    "no-momentum-cycle": dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False),
}


def _optimizer(lib, kind):
    if lib is lamina:
        a, b = (lamina.tensor(np.ones(2), requires_grad=True) for _ in range(2))
        mod = lo
    else:
        a, b = (torch.ones(2, dtype=torch.float64, requires_grad=True) for _ in range(2))
        mod = torch.optim
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    return mod.SGD(groups, lr=0.1, momentum=0.9) if kind == "SGD" else mod.Adam(groups, lr=0.1)


def _trace(lib, kind, kw):
    opt = _optimizer(lib, kind)
    sched = (ls if lib is lamina else torch.optim.lr_scheduler).CyclicLR(opt, **kw)
    rows = []
    for _ in range(STEPS):
        opt.step()
        sched.step()
        rows.append(sched.get_last_lr() + [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
    return np.array(rows, dtype=float)


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_equals_torch_step_by_step(name, kind):
    ours, ref = _trace(lamina, kind, CASES[name]), _trace(torch, kind, CASES[name])
    np.testing.assert_allclose(ours, ref, rtol=1e-14, atol=1e-15)
    assert len(np.unique(ours[:, 0])) > 3                       # the rate did cycle


def test_momentum_moves_opposite_to_the_rate_and_groups_get_the_bounds():
    opt = _optimizer(lamina, "SGD")
    sched = ls.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2)
    assert opt.param_groups[0]["momentum"] == 0.9 and opt.param_groups[0]["lr"] == 0.01
    sched.step()
    assert opt.param_groups[0]["lr"] > 0.01 and opt.param_groups[0]["momentum"] < 0.9
    assert opt.param_groups[1]["base_momentum"] == 0.8 and opt.param_groups[1]["max_momentum"] == 0.9


def test_errors():
    p = lamina.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="CyclicLR: cycle_momentum needs an optimizer with momentum or betas"):
        ls.CyclicLR(lo.Adagrad([p]), 0.01, 0.1)
    ls.CyclicLR(lo.Adagrad([p]), 0.01, 0.1, cycle_momentum=False)
    with pytest.raises(ValueError, match="CyclicLR: mode must be one of"):
        ls.CyclicLR(lo.SGD([p], lr=0.1, momentum=0.9), 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="max_lr: expected 1 values"):
        ls.CyclicLR(lo.SGD([p], lr=0.1, momentum=0.9), 0.01, [0.1, 0.2])


def test_state_dict_saves_a_callable_objects_state():
    opt = _optimizer(lamina, "Adam")
    fn = _Decay()
    sched = ls.CyclicLR(opt, 0.01, 0.1, step_size_up=3, scale_fn=fn, scale_mode="iterations")
    for _ in range(4):
        sched.step()
    fn.rate = 0.5
    sd = sched.state_dict()
    assert sd["_scale_fn_custom"] == {"rate": 0.5}
    fresh = _Decay()
    sched2 = ls.CyclicLR(_optimizer(lamina, "Adam"), 0.01, 0.1, step_size_up=3, scale_fn=fresh,
                         scale_mode="iterations")
    sched2.load_state_dict(sd)
    assert fresh.rate == 0.5 and sched2.last_epoch == 4 and sched2._scale_fn_custom is fresh
