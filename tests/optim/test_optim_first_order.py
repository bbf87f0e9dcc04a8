"""First-order optimizers against torch.optim: 50 steps on Rosenbrock and on a small MLP (float64)
give the same parameters (rtol 1e-8); state_dict round trips; dtype, groups, errors; the two
momentum forms of the seeds."""
import numpy as np
import pytest
import torch

import lamina
import lamina.optim as lo


def _fixed_data(seed=0):
    """The regression data and MLP start shared (read-only) by the tests below, drawn once."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 3))
    init = [rng.standard_normal((4, 8)) * 0.5, rng.standard_normal(8) * 0.1,
            rng.standard_normal((8, 3)) * 0.5, rng.standard_normal(3) * 0.1]
    return x, y, init


X, Y, INIT_MLP = _fixed_data()
INIT_ROSEN = [np.array([-1.2, 1.0, 0.5]), np.array([0.8, -0.3])]


def rosenbrock(lib, ps, sign):
    x = lib.cat([ps[0], ps[1]])
    return sign * ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def mlp(lib, ps, sign):
    w1, b1, w2, b2 = ps
    x, y = (lamina.tensor(X), lamina.tensor(Y)) if lib is lamina else (torch.tensor(X), torch.tensor(Y))
    return sign * ((lib.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()


def make(lib, name, kw, init, groups=False):
    if lib is lamina:
        ps = [lamina.tensor(a.copy(), requires_grad=True) for a in init]
        cls = getattr(lo, name)
    else:
        ps = [torch.tensor(a.copy(), dtype=torch.float64, requires_grad=True) for a in init]
        cls = getattr(torch.optim, name)
    if groups:   # two groups, the second with half the learning rate
        opt = cls([{"params": ps[:1]}, {"params": ps[1:], "lr": kw["lr"] / 2}], **kw)
    else:
        opt = cls(ps, **kw)
    return ps, opt


def train(lib, ps, opt, f, steps, sign):
    for _ in range(steps):
        opt.zero_grad()
        f(lib, ps, sign).backward()
        opt.step()
    return [p.detach().numpy().copy() if lib is torch else p.numpy().copy() for p in ps]


CONFIGS = [
    ("SGD", dict(lr=1e-3)),
    ("SGD", dict(lr=1e-3, momentum=0.9)),
    ("SGD", dict(lr=1e-3, momentum=0.9, dampening=0.9)),
    ("SGD", dict(lr=1e-3, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=1e-3, weight_decay=0.1)),
    ("SGD", dict(lr=1e-3, momentum=0.5, dampening=0.2, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4)),
    ("Adadelta", dict(weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=1e-3, centered=True)),
    ("RMSprop", dict(lr=1e-3, momentum=0.9)),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, maximize=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, kw in CONFIGS]
PROBLEMS = {"rosenbrock": (rosenbrock, INIT_ROSEN), "mlp": (mlp, INIT_MLP)}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_matches_torch_for_50_steps(name, kw, problem):
    f, init = PROBLEMS[problem]
    sign = -1.0 if kw.get("maximize") else 1.0
    ours = train(lamina, *make(lamina, name, kw, init), f, 50, sign)
    ref = train(torch, *make(torch, name, kw, init), f, 50, sign)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    assert not np.allclose(ours[0], init[0])   # the parameters did move


@pytest.mark.parametrize("name,kw", [c for c in CONFIGS if "lr" in c[1]][::3])
def test_param_groups_match_torch(name, kw):
    ours = train(lamina, *make(lamina, name, kw, INIT_MLP, groups=True), mlp, 20, 1.0)
    ref = train(torch, *make(torch, name, kw, INIT_MLP, groups=True), mlp, 20, 1.0)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def _only_plain_values(obj):
    if isinstance(obj, dict):
        return all(_only_plain_values(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_only_plain_values(v) for v in obj)
    return obj is None or isinstance(obj, (np.ndarray, int, float, bool, str))


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_identically(name, kw):
    sign = -1.0 if kw.get("maximize") else 1.0
    ps, opt = make(lamina, name, kw, INIT_MLP)
    train(lamina, ps, opt, mlp, 25, sign)
    sd = opt.state_dict()
    assert _only_plain_values(sd)
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    stateless = name == "SGD" and not kw.get("momentum")
    assert sorted(sd["state"]) == ([] if stateless else [0, 1, 2, 3])
    ps2 = [lamina.tensor(p.numpy().copy(), requires_grad=True) for p in ps]
    opt2 = getattr(lo, name)(ps2, lr=123.0)         # hyperparameters come from the state dict
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    a = train(lamina, ps, opt, mlp, 25, sign)
    b = train(lamina, ps2, opt2, mlp, 25, sign)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    if stateless:
        return
    # the saved dict was a copy: continuing training did not change it
    again = opt.state_dict()
    assert any(not np.array_equal(again["state"][0][k], sd["state"][0][k])
               for k in sd["state"][0] if isinstance(sd["state"][0][k], np.ndarray))


@pytest.mark.parametrize("name,kw", [c for c in CONFIGS if c[0] != "Adadelta"][::2])
def test_float32_stays_float32(name, kw):
    ps = [lamina.tensor(a.astype(np.float32), requires_grad=True) for a in INIT_MLP]
    opt = getattr(lo, name)(ps, **kw)
    x, y = lamina.tensor(X.astype(np.float32)), lamina.tensor(Y.astype(np.float32))
    for _ in range(3):
        opt.zero_grad()
        ((lamina.tanh(x @ ps[0] + ps[1]) @ ps[2] + ps[3] - y) ** 2).mean().backward()
        opt.step()
    assert all(p.dtype == np.float32 for p in ps)
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("threads", [1, 2])
def test_large_parameter_is_updated_blockwise_like_torch(threads):
    """A parameter bigger than one block, with one or several threads, gives torch's result."""
    saved = lo.get_num_threads()
    lo.set_num_threads(threads)
    try:
        _large_parameter_case()
    finally:
        lo.set_num_threads(saved)


def _large_parameter_case():
    rng = np.random.default_rng(1)
    w0, g = rng.standard_normal(600_000), rng.standard_normal(600_000)   # > _MIN_THREADED: threads used
    for amsgrad in (False, True):
        ours = lamina.tensor(w0.copy(), requires_grad=True)
        ref = torch.tensor(w0.copy(), requires_grad=True)
        o1, o2 = lo.Adam([ours], lr=1e-2, amsgrad=amsgrad), torch.optim.Adam([ref], lr=1e-2, amsgrad=amsgrad)
        for k in range(3):
            ours.grad = lamina.tensor(g * (k + 1))
            ref.grad = torch.tensor(g * (k + 1))
            o1.step()
            o2.step()
        np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-10)
    # and SGD with momentum over two big parameters at once
    a, b = (lamina.tensor(w0.copy(), requires_grad=True) for _ in range(2))
    ta, tb = (torch.tensor(w0.copy(), requires_grad=True) for _ in range(2))
    o1, o2 = lo.SGD([a, b], lr=0.1, momentum=0.9), torch.optim.SGD([ta, tb], lr=0.1, momentum=0.9)
    for k in range(3):
        a.grad, b.grad = lamina.tensor(g), lamina.tensor(-g * k)
        ta.grad, tb.grad = torch.tensor(g), torch.tensor(-g * k)
        o1.step()
        o2.step()
    np.testing.assert_allclose(a.numpy(), ta.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.numpy(), tb.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_textbook_momentum_forms_are_sgd_options():
    """Velocity form v = βv - α∇, θ = θ + v  ==  SGD(momentum=β);  Nesterov (gradient at θ + βv)
    == SGD(nesterov=True) on the look-ahead point;  EWMA form v = βv + (1-β)∇, θ = θ - αv, v0 = ∇θ0
    == SGD(momentum=β, dampening=β)."""
    alpha, beta = 1e-3, 0.9

    def grad(theta):
        x = lamina.tensor(theta, requires_grad=True)
        rosenbrock(lamina, [x[:3], x[3:]], 1.0).backward()
        return x.grad.numpy()

    theta0 = np.concatenate(INIT_ROSEN)
    # velocity form
    th, v = theta0.copy(), np.zeros(5)
    # Nesterov
    th_n, v_n = theta0.copy(), np.zeros(5)
    # EWMA form
    th_e, v_e = theta0.copy(), None
    for _ in range(30):
        v = beta * v - alpha * grad(th)
        th = th + v
        v_n = beta * v_n - alpha * grad(th_n + beta * v_n)
        th_n = th_n + v_n
        g = grad(th_e)
        v_e = g if v_e is None else beta * v_e + (1 - beta) * g
        th_e = th_e - alpha * v_e

    def run(**kw):
        ps = [lamina.tensor(a.copy(), requires_grad=True) for a in INIT_ROSEN]
        return np.concatenate(train(lamina, ps, lo.SGD(ps, lr=alpha, **kw), rosenbrock, 30, 1.0))

    np.testing.assert_allclose(run(momentum=beta), th, rtol=1e-10)
    np.testing.assert_allclose(run(momentum=beta, nesterov=True), th_n + beta * v_n, rtol=1e-10)
    np.testing.assert_allclose(run(momentum=beta, dampening=beta), th_e, rtol=1e-10)


def test_zero_grad_and_missing_grads():
    ps, opt = make(lamina, "Adam", dict(lr=0.1), INIT_ROSEN)
    ps[0].grad = lamina.tensor(np.ones(3))
    opt.step()                                  # ps[1] has no grad: untouched, no state
    np.testing.assert_array_equal(ps[1].numpy(), INIT_ROSEN[1])
    assert ps[1] not in opt.state and opt.state[ps[0]]["step"] == 1
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(ps[0].grad.numpy(), 0)
    opt.zero_grad()
    assert ps[0].grad is None


def test_step_with_closure_returns_loss_and_add_param_group():
    ps, opt = make(lamina, "SGD", dict(lr=1e-3, momentum=0.9), INIT_ROSEN[:1])
    extra = lamina.tensor(np.array([0.8, -0.3]), requires_grad=True)
    opt.add_param_group({"params": [extra], "lr": 1e-4})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 1e-4

    def closure():
        opt.zero_grad()
        loss = rosenbrock(lamina, [ps[0], extra], 1.0)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.item()) == pytest.approx(float(rosenbrock(lamina, [lamina.tensor(INIT_ROSEN[0]),
                                                                          lamina.tensor(INIT_ROSEN[1])], 1.0).item()))
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [extra]})


@pytest.mark.parametrize("bad,match", [
    (lambda p: lo.SGD(p, lr=-1.0), "invalid learning rate"),
    (lambda p: lo.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: lo.Adam(p, betas=(1.0, 0.9)), "betas"),
    (lambda p: lo.RMSprop(p, alpha=-0.1), "alpha"),
    (lambda p: lo.Adadelta(p, rho=1.5), "rho"),
    (lambda p: lo.Adagrad(p, lr_decay=-1), "lr_decay"),
    (lambda p: lo.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: lo.SGD(p[0], lr=0.1), "iterable of Tensors"),
])
def test_errors(bad, match):
    ps = [lamina.tensor(np.ones(2), requires_grad=True)]
    with pytest.raises((ValueError, TypeError), match=match):
        bad(ps)


def test_load_state_dict_checks_layout():
    ps, opt = make(lamina, "Adam", dict(lr=0.1), INIT_MLP)
    train(lamina, ps, opt, mlp, 2, 1.0)
    sd = opt.state_dict()
    _, opt2 = make(lamina, "Adam", dict(lr=0.1), INIT_MLP[:2])
    with pytest.raises(ValueError, match="group 0 has 4 parameters"):
        opt2.load_state_dict(sd)


@pytest.mark.parametrize("betas,steps", [((0.5, 0.9), 150), ((0.0, 0.5), 150), ((0.9, 0.0), 10)])
def test_adam_long_run_with_renormalized_moments_matches_torch(betas, steps):
    """Adam keeps its moments up to a factor that is folded back in when tiny (every ~34 steps for β1 = 0.5);
    β = 0 has no memory (β2 = 0 divides by |g|: chaotic, so only a few steps).  state_dict() exports the
    true moments."""
    kw = dict(lr=3e-3, betas=betas)
    ours_ps, ours = make(lamina, "Adam", kw, INIT_MLP)
    ref_ps, ref = make(torch, "Adam", kw, INIT_MLP)
    a = train(lamina, ours_ps, ours, mlp, steps, 1.0)
    b = train(torch, ref_ps, ref, mlp, steps, 1.0)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-8, atol=1e-12)
    sd, tsd = ours.state_dict(), ref.state_dict()
    for i in range(4):
        for k in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(sd["state"][i][k], tsd["state"][i][k].numpy(), rtol=1e-7, atol=1e-14)
        assert sd["state"][i]["step"] == steps and not any(k.endswith("_scale") for k in sd["state"][i])


def test_adam_with_cycled_beta1_matches_torch():
    """OneCycleLR changes β1 every step; the scaled moments follow."""
    curves = []
    for lib in (lamina, torch):
        ps, opt = make(lib, "Adam", dict(lr=1e-2), INIT_MLP)
        sched = (lo.lr_scheduler if lib is lamina else torch.optim.lr_scheduler).OneCycleLR(
            opt, max_lr=0.05, total_steps=40)
        for _ in range(40):
            opt.zero_grad()
            mlp(lib, ps, 1.0).backward()
            opt.step()
            sched.step()
        curves.append([p.detach().numpy().copy() if lib is torch else p.numpy().copy() for p in ps])
    for u, v in zip(*curves):
        np.testing.assert_allclose(u, v, rtol=1e-8, atol=1e-12)
