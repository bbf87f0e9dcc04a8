"""The lines every PyTorch program starts with run under ``import lamina as torch``; devices other than
the CPU build device objects but refuse to be used, with one clear line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
import lamina.nn as nn


def test_accelerator_and_backends_answer_as_a_cpu_only_torch():
    assert lamina.accelerator.is_available() is torch.accelerator.is_available() is False
    assert lamina.accelerator.current_accelerator() is None and torch.accelerator.current_accelerator() is None
    assert lamina.accelerator.device_count() == torch.accelerator.device_count() == 0
    assert lamina.backends.cudnn.is_available() is False and lamina.backends.mps.is_available() is False
    assert lamina.backends.mps.is_available() == torch.backends.mps.is_available()
    for name in ("deterministic", "benchmark", "enabled"):
        assert getattr(lamina.backends.cudnn, name) == getattr(torch.backends.cudnn, name)
    old = lamina.backends.cudnn.deterministic
    lamina.backends.cudnn.deterministic = True
    try:
        assert lamina.backends.cudnn.deterministic is True
    finally:
        lamina.backends.cudnn.deterministic = old


def test_device_objects_build_like_torch_devices():
    for args in [("cuda",), ("cuda:1",), ("cuda", 0), ("cpu",), ("mps",)]:
        d, t = lamina.device(*args), torch.device(*args)
        assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert lamina.device("cuda") == "cuda" and lamina.device("cuda") != "cpu"
    dev = lamina.device("cuda" if lamina.cuda.is_available() else "cpu")
    assert lamina.zeros(2, device=dev).device == "cpu"
    with pytest.raises(RuntimeError, match="unknown device type 'gpu'"):
        lamina.device("gpu")


@pytest.mark.parametrize("use", [
    lambda d: lamina.ones(2).to(d),
    lambda d: lamina.ones(2).to(d, lamina.float64),
    lambda d: lamina.zeros(3, device=d),
    lambda d: lamina.randn(3, device=d),
    lambda d: lamina.tensor([1.0], device=d),
    lambda d: nn.Linear(2, 2).to(d),
    lambda d: nn.Linear(2, 2, device=d),
])
@pytest.mark.parametrize("dev", ["cuda", "cuda:0", lamina.device("cuda"), lamina.device("mps")])
def test_using_a_non_cpu_device_raises_one_clear_line(use, dev):
    with pytest.raises(RuntimeError, match=r"lamina runs on the CPU only; got device '(cuda|mps)") as e:
        use(dev)
    assert "\n" not in str(e.value)


def test_cuda_methods_raise_the_same_line():
    for obj in (lamina.ones(1), nn.Linear(1, 1)):
        with pytest.raises(RuntimeError, match="^cuda: lamina runs on the CPU only; got device 'cuda'"):
            obj.cuda()


def test_tensor_device_flags_match_torch():
    lt, tt = lamina.ones(2), torch.ones(2)
    for flag in ("is_cuda", "is_xpu", "is_mps", "is_cpu", "is_meta"):
        assert getattr(lt, flag) == getattr(tt, flag), flag
    assert lt.get_device() == tt.get_device() == -1


def test_data_parallel_wraps_calls_and_prefixes_state_dict_keys():
    rng = np.random.default_rng(0)
    inner = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    tinner = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    dp, tdp = nn.DataParallel(inner), torch.nn.DataParallel(tinner.float())
    assert dp.module is inner and list(dp.state_dict()) == list(tdp.state_dict())
    tdp.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in dp.state_dict().items()})
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(dp(lamina.tensor(x)).detach().numpy(), tdp(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert len(list(dp.parameters())) == 4 and lamina.nn.parallel.DataParallel is nn.DataParallel
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh_dp = nn.DataParallel(fresh)
    fresh_dp.load_state_dict(dp.state_dict())
    np.testing.assert_array_equal(fresh[0].weight.numpy(), inner[0].weight.numpy())
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.DataParallel(inner, device_ids=[0])


def test_format_of_one_value_tensors_follows_the_value():
    for v in (1.23456, -2.5):
        assert format(lamina.tensor(v), "+.2f") == format(torch.tensor(v), "+.2f")
        assert f"{lamina.tensor(v):>10.3f}" == f"{torch.tensor(v):>10.3f}"
    assert f"{lamina.tensor(3):05d}" == f"{torch.tensor(3):05d}"
    assert format(lamina.tensor([2.5]), ".1f") == "2.5"  # lamina: any one-value tensor (torch: 0-d only)
    t = lamina.tensor([1.0, 2.0])
    assert format(t, "") == str(t)
    with pytest.raises(TypeError, match="format spec"):
        format(t, ".2f")
    with pytest.raises(TypeError):
        format(torch.tensor([1.0, 2.0]), ".2f")


def _walk(root):
    """The node names reachable by next_functions, breadth first (a leaf shows as AccumulateGrad)."""
    out, todo = [], [root]
    while todo:
        n = todo.pop(0)
        nxt = [f for f, _ in n.next_functions]
        out.append(tuple(None if f is None else type(f).__name__ == "AccumulateGrad" for f in nxt))
        todo += [f for f in nxt if f is not None and type(f).__name__ != "AccumulateGrad"]
    return out


def test_next_functions_end_at_accumulate_grad_with_the_leaf_as_variable():
    w, c = lamina.randn(3, requires_grad=True), lamina.randn(3)
    tw, tc = torch.tensor(w.numpy(), requires_grad=True), torch.tensor(c.numpy())
    y, ty = (w * c).exp(), (tw * tc).exp()
    assert _walk(y.grad_fn) == _walk(ty.grad_fn)  # ((False,),) then ((True, None),)
    (node, idx), = y.grad_fn.next_functions
    assert idx == 0
    acc, const = node.next_functions
    assert acc[0].variable is w and const == (None, 0)
    a, b = lamina.randn(2, requires_grad=True), lamina.randn(2, requires_grad=True)
    s = a + b * 2.0
    first, second = s.grad_fn.next_functions
    assert first[0].variable is a and second[0].name() == "MulScalar"
    assert second[0].next_functions[0][0].variable is b


def test_subpackages_are_attributes_after_import():
    assert lamina.nn.utils.clip_grad_norm_ is not None
    assert lamina.utils.data.DataLoader.__name__ == "DataLoader"
    assert lamina.optim.lr_scheduler.StepLR.__name__ == "StepLR"
    assert lamina.utils.benchmark.Timer.__name__ == "Timer"


def test_benchmark_timer_measures_with_timeit():
    from lamina.utils import benchmark
    x = lamina.randn(64, 64)
    timer = benchmark.Timer(stmt="x @ x", setup="y = 1", globals={"x": x}, label="matmul")
    m = timer.timeit(20)
    assert m.number_per_run == 20 and len(m.times) == 1 and m.mean == m.median == m.times[0] > 0
    b = timer.blocked_autorange(min_run_time=0.05)
    assert sum(b.raw_times) >= 0.05 and len(b.times) >= 2 and b.mean > 0 and b.median > 0
    assert min(b.times) <= b.median <= max(b.times) and b.iqr >= 0
    assert "matmul" in repr(b) and "Median" in repr(b)
    slow = benchmark.Timer(stmt="sum(range(20000))").timeit(5)
    fast = benchmark.Timer(stmt="pass").timeit(5)
    assert slow.mean > fast.mean
    with pytest.raises(NameError):
        benchmark.Timer(stmt="undefined_name + 1").timeit(1)
