"""Conv1d, MaxPool1d/AvgPool1d, the adaptive 1-D pools and AdaptiveMaxPool2d against torch: torch's weights
loaded, values, gradients, indices, float32 and float64."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from opcheck import check_op
from twins import compare

import lamina
import lamina.nn as nn
import lamina.nn.functional as F

CONV = [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2, groups=2),
        dict(padding=2, padding_mode="reflect"), dict(padding=1, padding_mode="circular", bias=False)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", CONV, ids=str)
def test_conv1d_layer_with_torch_weights(kw, dtype):
    tm = torch.nn.Conv1d(4, 6, 3, **kw).to(torch.float64 if dtype is np.float64 else torch.float32)
    m = nn.Conv1d(4, 6, 3, dtype=dtype, **kw)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    m.load_state_dict({k: lamina.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 9))
    compare(m, tm, [x], dtype)
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert repr(m).split("(", 1)[1].split(")")[0] == repr(tm).split("(", 1)[1].split(")")[0]


def test_conv1d_init_bounds_and_unbatched_input():
    lamina.manual_seed(0)
    m = nn.Conv1d(3, 5, 4)
    bound = 1 / np.sqrt(3 * 4)
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.bias.numpy()).max() <= bound
    x = np.random.default_rng(1).standard_normal((3, 8))
    check_op(lambda a, w: F.conv1d(a, w, stride=2), lambda a, w: TF.conv1d(a, w, stride=2), x,
             np.random.default_rng(2).standard_normal((5, 3, 4)))


POOL = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=2, ceil_mode=True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", POOL, ids=str)
def test_pool1d_layers_match_torch(kw, dtype):
    x = np.random.default_rng(3).standard_normal((2, 3, 9))
    compare(nn.MaxPool1d(**kw), torch.nn.MaxPool1d(**kw), [x], dtype)
    compare(nn.AvgPool1d(**kw), torch.nn.AvgPool1d(**kw), [x], dtype)
    _, idx = F.max_pool1d(lamina.tensor(x), return_indices=True, dilation=1, **kw)
    np.testing.assert_array_equal(idx.numpy(), TF.max_pool1d(torch.tensor(x), return_indices=True, **kw)[1].numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [(3, 3), (2, 5), 1, (None, 2)], ids=str)
def test_adaptive_max_pool2d_matches_torch(size, dtype):
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 5))
    compare(nn.AdaptiveMaxPool2d(size), torch.nn.AdaptiveMaxPool2d(size), [x], dtype)
    _, idx = F.adaptive_max_pool2d(lamina.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), TF.adaptive_max_pool2d(torch.tensor(x), size, True)[1].numpy())
    assert idx.dtype == lamina.int64


def test_adaptive_pools_through_the_op_checker():
    x = np.random.default_rng(5).standard_normal((2, 2, 7))
    check_op(lambda a: F.adaptive_max_pool2d(a, (2, 3)), lambda a: TF.adaptive_max_pool2d(a, (2, 3)),
             np.random.default_rng(6).standard_normal((2, 5, 7)))  # unbatched (C, H, W)
    check_op(lambda a: F.adaptive_max_pool1d(a, 3), lambda a: TF.adaptive_max_pool1d(a, 3), x)
    check_op(lambda a: F.adaptive_avg_pool1d(a, 3), lambda a: TF.adaptive_avg_pool1d(a, 3), x)
    compare(nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), [x], np.float32)
    compare(nn.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4), [x], np.float32)


def test_bad_arguments_name_the_function():
    with pytest.raises(lamina.ShapeError, match="conv1d: weight must be a 3-D"):
        F.conv1d(lamina.zeros(1, 2, 5), lamina.zeros(3, 2, 1, 1))
    with pytest.raises(lamina.ShapeError, match="max_pool1d: expected a 3-D"):
        F.max_pool1d(lamina.zeros(1, 2, 3, 4), 2)
    with pytest.raises(ValueError, match="avg_pool1d: kernel_size must be an int"):
        F.avg_pool1d(lamina.zeros(1, 2, 6), (2, 2))
    with pytest.raises(lamina.ShapeError, match="adaptive_max_pool2d: expected a 4-D"):
        F.adaptive_max_pool2d(lamina.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="Conv1d: padding='same' is not supported for strided"):
        nn.Conv1d(2, 2, 3, stride=2, padding="same")
