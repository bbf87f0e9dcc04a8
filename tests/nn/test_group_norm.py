"""GroupNorm and InstanceNorm1d/2d against torch: torch's weights and buffers loaded, values, gradients,
running statistics and eval mode, float32 and float64."""
import numpy as np
import pytest
import torch
from opcheck import check_op
from twins import compare

import lamina
import lamina.nn as nn
import lamina.nn.functional as F


def _load(module, tmodule):
    module.load_state_dict({k: lamina.tensor(v.detach().numpy().copy()) for k, v in tmodule.state_dict().items()})
    return module


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_group_norm_layer_matches_torch(dtype):
    tm = torch.nn.GroupNorm(3, 6).to(torch.float64 if dtype is np.float64 else torch.float32)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-0.5, 0.5)
    m = _load(nn.GroupNorm(3, 6, dtype=dtype), tm)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 4)).astype(dtype)
    compare(m, tm, [x], dtype)
    for name, p in m.named_parameters():  # the affine parameters' gradients too
        assert p.grad is not None and p.grad.shape == dict(tm.named_parameters())[name].shape


def test_group_norm_through_the_op_checker():
    rng = np.random.default_rng(1)
    check_op(lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: torch.nn.functional.group_norm(x, 2, w, b),
             rng.standard_normal((2, 4, 5)), rng.standard_normal(4), rng.standard_normal(4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,shape", [("1d", (3, 4, 7)), ("2d", (2, 4, 3, 5)), ("2d", (4, 3, 5))],
                         ids=["1d", "2d", "2d-unbatched"])
def test_instance_norm_with_running_stats_matches_torch(kind, shape, dtype):
    tdt = torch.float64 if dtype is np.float64 else torch.float32
    tm = getattr(torch.nn, f"InstanceNorm{kind}")(4, affine=True, track_running_stats=True).to(tdt)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
    m = _load(getattr(nn, f"InstanceNorm{kind}")(4, affine=True, track_running_stats=True, dtype=dtype), tm)
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    x = np.random.default_rng(2).standard_normal(shape)
    compare(m, tm, [x], dtype)  # training: instance statistics, running averages updated
    tol = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.running_mean.numpy(), tm.running_mean.numpy(), **tol)
    np.testing.assert_allclose(m.running_var.numpy(), tm.running_var.numpy(), **tol)
    m.eval()
    tm.eval()
    compare(m, tm, [x + 1.0], dtype)  # eval: the running averages


def test_instance_norm_defaults_as_torch():
    m, tm = nn.InstanceNorm2d(3), torch.nn.InstanceNorm2d(3)
    assert (m.affine, m.track_running_stats) == (tm.affine, tm.track_running_stats) == (False, False)
    assert list(m.state_dict()) == list(tm.state_dict()) == []
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4))
    compare(m, tm, [x], np.float64)
    check_op(F.instance_norm, torch.nn.functional.instance_norm, x[:, :, :2])


def test_bad_shapes_name_the_layer():
    with pytest.raises(ValueError, match="GroupNorm: num_channels"):
        nn.GroupNorm(4, 6)
    with pytest.raises(lamina.ShapeError, match="GroupNorm"):
        nn.GroupNorm(2, 6)(lamina.zeros(2, 4, 3))
    with pytest.raises(lamina.ShapeError, match="InstanceNorm1d"):
        nn.InstanceNorm1d(3)(lamina.zeros(2, 3, 4, 5))
    with pytest.raises(lamina.ShapeError, match=r"InstanceNorm2d\(3\): input has 2 channels"):
        nn.InstanceNorm2d(3, affine=True)(lamina.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial element"):
        F.instance_norm(lamina.zeros(2, 3, 1))
