"""Pooling and upsampling: max / average / adaptive average pooling and interpolate (nearest, bilinear with
align_corners False/True, area) through the shared op checker, indices, layers and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from opcheck import check_op

import lamina
import lamina.nn as nn
import lamina.nn.functional as F

MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=2, stride=1),                                   # overlapping windows: scatter accumulates
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1), dilation=(2, 1)),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
]


@pytest.mark.parametrize("kw", MAX_CASES, ids=str)
@pytest.mark.parametrize("n", [2, 16])
def test_max_pool2d(kw, n, rn):
    shape = (n, 3, 7, 6) if n < 16 else (n, 2, 5, 4)
    check_op(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), rn(*shape))


@pytest.mark.parametrize("kw", MAX_CASES, ids=str)
def test_max_pool2d_indices_match_torch(kw, rn):
    x = rn(2, 3, 7, 6)
    y, idx = F.max_pool2d(lamina.tensor(x), return_indices=True, **kw)
    ty, tidx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == lamina.int64


def test_max_pool2d_ties_pick_the_first_like_torch():
    x = np.zeros((1, 2, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 1, 0] = 1.0  # two maxima in one window
    xl, xt = lamina.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(xl, 2).sum().backward()
    TF.max_pool2d(xt, 2).sum().backward()
    np.testing.assert_array_equal(xl.grad.numpy(), xt.grad.numpy())


def test_max_pool2d_on_integers_like_torch():
    x = np.arange(30).reshape(1, 1, 5, 6) % 7
    got = F.max_pool2d(lamina.tensor(x), 3, 2, padding=1)
    np.testing.assert_array_equal(got.numpy(), TF.max_pool2d(torch.tensor(x), 3, 2, padding=1).numpy())
    assert got.dtype == lamina.int64


AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), divisor_override=4),
]


@pytest.mark.parametrize("kw", AVG_CASES, ids=str)
@pytest.mark.parametrize("n", [2, 16])
def test_avg_pool2d(kw, n, rn):
    shape = (n, 3, 7, 6) if n < 16 else (n, 2, 5, 4)
    check_op(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), rn(*shape))


@pytest.mark.parametrize("n", [2, 16])
def test_pools_that_tile_the_input_exactly(n, rn):
    """Windows covering every pixel once: the backward writes instead of accumulating into zeros."""
    check_op(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), rn(n, 2, 4, 6))
    check_op(lambda x: F.avg_pool2d(x, (2, 3)), lambda x: TF.avg_pool2d(x, (2, 3)), rn(n, 2, 4, 6))


@pytest.mark.parametrize("size", [1, (3, 4), (2, 5), (None, 3), 7, (4, 4)])
def test_adaptive_avg_pool2d(size, rn):
    check_op(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), rn(2, 3, 7, 8))


INTERP_4D = [
    dict(scale_factor=2),
    dict(size=(5, 11)),
    dict(scale_factor=3, mode="nearest-exact"),
    dict(scale_factor=1.5, recompute_scale_factor=True),
    dict(scale_factor=2, mode="bilinear"),
    dict(scale_factor=(1.7, 0.6), mode="bilinear"),
    dict(size=(3, 7), mode="bilinear", align_corners=False),
    dict(size=(9, 4), mode="bilinear", align_corners=True),
    dict(size=(1, 1), mode="bilinear", align_corners=True),
    dict(size=(3, 2), mode="area"),
]


@pytest.mark.parametrize("kw", INTERP_4D, ids=str)
def test_interpolate_2d(kw, rn):
    check_op(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), rn(2, 3, 5, 6))


@pytest.mark.parametrize("kw", [dict(scale_factor=2, mode="linear"), dict(size=9, mode="linear", align_corners=True),
                                dict(size=4), dict(size=4, mode="area")], ids=str)
def test_interpolate_1d(kw, rn):
    check_op(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), rn(2, 3, 7))


@pytest.mark.parametrize("kw", [dict(scale_factor=2.3), dict(size=(29, 5)), dict(scale_factor=1 / 3, mode="bilinear"),
                                dict(size=(40, 7), mode="bilinear", align_corners=True)], ids=str)
def test_interpolate_float32_indices_match_torch(kw, rng):
    """Source indices are computed in the input's precision, as PyTorch does, so float32 agrees exactly."""
    x = rng.standard_normal((2, 3, 13, 17)).astype(np.float32)
    a = F.interpolate(lamina.tensor(x), **kw)
    assert a.dtype == lamina.float32
    np.testing.assert_allclose(a.numpy(), TF.interpolate(torch.tensor(x), **kw).numpy(), atol=1e-5)


def test_upsample_helpers():
    x = lamina.randn(1, 2, 3, 3)
    np.testing.assert_array_equal(F.upsample(x, scale_factor=2).numpy(), F.interpolate(x, scale_factor=2).numpy())
    np.testing.assert_array_equal(F.upsample_nearest(x, size=6).numpy(), np.repeat(np.repeat(x.numpy(), 2, 2), 2, 3))
    corners = F.upsample_bilinear(x, size=5).numpy()
    np.testing.assert_allclose(corners[..., ::2, ::2], x.numpy(), atol=1e-6)  # align_corners=True keeps the grid


@pytest.mark.parametrize("call,match", [
    (lambda: F.max_pool2d(lamina.randn(1, 1, 4, 4), 2, padding=2), "at most half"),
    (lambda: F.max_pool2d(lamina.randn(1, 1, 2, 2), 3), "does not fit"),
    (lambda: F.avg_pool2d(lamina.randn(1, 1, 4, 4), 2, padding=2), "at most half"),
    (lambda: F.interpolate(lamina.randn(1, 1, 4, 4), size=3, scale_factor=2), "exactly one"),
    (lambda: F.interpolate(lamina.randn(1, 1, 4, 4), scale_factor=2, mode="bicubic"), "not supported"),
    (lambda: F.interpolate(lamina.randn(1, 1, 4, 4), scale_factor=2, align_corners=True), "align_corners"),
    (lambda: F.adaptive_avg_pool2d(lamina.randn(1, 1, 4, 4), (1, 2, 3)), "output_size"),
])
def test_errors_name_the_problem(call, match):
    with pytest.raises((ValueError, RuntimeError, TypeError), match=match):
        call()


def test_layers_match_torch(rn):
    x = rn(2, 3, 8, 7).astype(np.float32)
    pairs = [
        (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
        (nn.AvgPool2d(2, count_include_pad=False), torch.nn.AvgPool2d(2, count_include_pad=False)),
        (nn.AdaptiveAvgPool2d((3, 2)), torch.nn.AdaptiveAvgPool2d((3, 2))),
        (nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear")),
        (nn.UpsamplingBilinear2d(size=(5, 9)), torch.nn.UpsamplingBilinear2d(size=(5, 9))),
        (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
    ]
    for lam, tor in pairs:
        np.testing.assert_allclose(lam(lamina.tensor(x)).numpy(), tor(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=repr(lam))
        assert lam(lamina.tensor(x)).dtype == lamina.float32
    y, idx = nn.MaxPool2d(2, return_indices=True)(lamina.tensor(x))
    assert y.shape == (2, 3, 4, 3) and idx.shape == y.shape
    assert list(nn.MaxPool2d(2).parameters()) == []
