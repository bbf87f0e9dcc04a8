"""conv2d / conv_transpose2d and the Conv2d / ConvTranspose2d layers: values, gradients, second derivatives
and forward mode against PyTorch and finite differences (tests/opcheck.py), across strides, paddings,
dilations and groups (depthwise, 1×1), both memory layouts (batches below and above 16)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from opcheck import check_op

import lamina
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.ops import conv as conv_ops

CONV_CASES = [
    # (x shape, w shape, kwargs)
    ((2, 3, 6, 5), (4, 3, 3, 3), dict()),
    ((2, 3, 6, 5), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ((2, 2, 7, 6), (3, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    ((2, 2, 5, 5), (3, 2, 3, 3), dict(padding="same", dilation=2)),
    ((2, 2, 5, 6), (3, 2, 4, 2), dict(padding="same")),           # even kernel: asymmetric 'same' padding
    ((2, 2, 5, 5), (3, 2, 3, 3), dict(padding="valid")),
    ((2, 4, 5, 5), (6, 2, 3, 3), dict(groups=2, stride=2, padding=1)),
    ((2, 4, 5, 5), (8, 1, 3, 3), dict(groups=4, padding=1)),      # depthwise, channel multiplier 2
    ((2, 4, 4, 5), (3, 4, 1, 1), dict()),                          # pointwise 1×1
    ((2, 4, 5, 5), (3, 4, 1, 1), dict(stride=2)),                  # strided 1×1
    ((2, 2, 4, 4), (10, 2, 2, 2), dict(padding=1)),                # many output channels (other GEMM order)
    ((16, 2, 4, 3), (3, 2, 3, 3), dict(padding=1)),                # batch >= 16: (C, H, W, N) memory
    ((16, 2, 4, 4), (10, 1, 2, 2), dict(groups=2, stride=2)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("xs,ws,kw", CONV_CASES, ids=[str(c[2]) + str(c[0][0]) for c in CONV_CASES])
def test_conv2d_against_torch(xs, ws, kw, rn):
    check_op(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
             rn(*xs), rn(*ws), rn(ws[0]))


@pytest.mark.parametrize("n", [2, 16])
def test_conv2d_fused_relu(n, rn):
    """activation='relu' gives relu(conv2d(...)) in value, gradient, second derivative and forward mode."""
    check_op(lambda x, w, b: F.conv2d(x, w, b, padding=1, activation="relu"),
             lambda x, w, b: TF.relu(TF.conv2d(x, w, b, padding=1)), rn(n, 2, 3, 3), rn(3, 2, 2, 2), rn(3))


def test_conv2d_without_bias_and_unbatched(rn):
    check_op(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
             rn(3, 4, 4), rn(2, 3, 3, 3))


CONVT_CASES = [
    ((2, 3, 3, 4), (3, 2, 3, 3), dict()),
    ((2, 3, 3, 3), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 2, 3, 2), (2, 3, 3, 2), dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2), dilation=(1, 2))),
    ((2, 2, 3, 3), (2, 2, 2, 2), dict(stride=1, dilation=3, output_padding=2)),  # output_padding < dilation
    ((2, 4, 3, 3), (4, 2, 2, 2), dict(stride=2, groups=2)),
    ((2, 4, 3, 3), (4, 1, 3, 3), dict(groups=4, padding=1)),
    ((2, 3, 3, 3), (3, 2, 1, 1), dict()),
    ((16, 2, 2, 3), (2, 3, 2, 2), dict(stride=2, output_padding=1)),
]


@pytest.mark.parametrize("xs,ws,kw", CONVT_CASES, ids=[str(c[2]) + str(c[0][0]) for c in CONVT_CASES])
def test_conv_transpose2d_against_torch(xs, ws, kw, rn):
    cout = ws[1] * kw.get("groups", 1)
    check_op(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
             rn(*xs), rn(*ws), rn(cout))


def test_weight_gradient_op_is_differentiable(rn):
    """The weight-gradient op alone (a convolution of x with ȳ) checked like any other op."""
    spec = conv_ops.ConvSpec((2, 1), ((1, 1), (0, 0)), (1, 2), 1)

    def lam(x, g):
        return conv_ops._conv_w(x, g, (3, 2, 3, 2), spec)

    def tor(x, g):
        return torch.nn.grad.conv2d_weight(x, (3, 2, 3, 2), g, stride=(2, 1), padding=(1, 0), dilation=(1, 2))

    check_op(lam, tor, rn(2, 2, 5, 5), rn(2, 3, 3, 3))


def test_float32_stays_float32_and_layout_is_invisible():
    x = lamina.randn(20, 3, 6, 6)
    w = lamina.randn(5, 3, 3, 3)
    y = F.conv2d(x, w, padding=1)
    assert y.dtype == lamina.float32 and y.shape == (20, 5, 6, 6)
    ref = F.conv2d(x[:4], w, padding=1)  # batch < 16 uses the other memory order
    np.testing.assert_allclose(y.numpy()[:4], ref.numpy(), rtol=1e-5, atol=1e-5)
    z = F.conv_transpose2d(y, w, padding=1)
    assert z.dtype == lamina.float32 and z.shape == x.shape


def test_no_grad_keeps_no_columns():
    x, w = lamina.randn(2, 2, 5, 5), lamina.randn(3, 2, 3, 3, requires_grad=True)
    with lamina.no_grad():
        y = F.conv2d(x, w)
    assert y.grad_fn is None
    y = F.conv2d(x, w)
    assert y.grad_fn.cols is not None  # saved for the weight gradient
    y.sum().backward()
    assert w.grad.shape == w.shape


@pytest.mark.parametrize("call,match", [
    (lambda: F.conv2d(lamina.randn(1, 3, 5, 5), lamina.randn(2, 4, 3, 3)), "has 3 channels"),
    (lambda: F.conv2d(lamina.randn(1, 4, 5, 5), lamina.randn(3, 2, 3, 3), groups=2), "not divisible by groups"),
    (lambda: F.conv2d(lamina.randn(1, 1, 2, 2), lamina.randn(1, 1, 3, 3)), "larger than the padded input"),
    (lambda: F.conv2d(lamina.randn(1, 1, 5, 5), lamina.randn(1, 1, 3, 3), stride=2, padding="same"), "strided"),
    (lambda: F.conv2d(lamina.randn(5, 5), lamina.randn(1, 1, 3, 3)), "4-D input"),
    (lambda: F.conv2d(lamina.randn(1, 1, 5, 5), lamina.randn(1, 1, 3, 3), lamina.randn(2)), "bias must have shape"),
    (lambda: F.conv2d(lamina.randn(1, 1, 5, 5), lamina.randn(1, 1, 3, 3, dtype=lamina.float64)), "dtype"),
    (lambda: F.conv_transpose2d(lamina.randn(1, 2, 3, 3), lamina.randn(2, 1, 3, 3), stride=2, output_padding=2),
     "output_padding"),
])
def test_errors_name_the_problem(call, match):
    with pytest.raises((ValueError, RuntimeError, TypeError), match=match):
        call()


# ------------------------------------------------------------------------------ layers
@pytest.mark.parametrize("kw", [dict(kernel_size=3, padding=1), dict(kernel_size=(3, 2), stride=2, groups=2, bias=False),
                                dict(kernel_size=3, padding="same", dilation=2),
                                dict(kernel_size=3, padding=2, padding_mode="reflect"),
                                dict(kernel_size=3, padding=1, padding_mode="replicate"),
                                dict(kernel_size=3, padding=(1, 2), padding_mode="circular")])
def test_conv2d_layer_matches_torch(kw, rn):
    lamina.manual_seed(0)
    m = nn.Conv2d(4, 6, **kw)
    t = torch.nn.Conv2d(4, 6, **kw, dtype=torch.float32)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = rn(2, 4, 7, 6).astype(np.float32)
    xl, xt = lamina.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yl, yt = m(xl), t(xt)
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    u = rn(*yl.shape).astype(np.float32)
    (yl * lamina.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_conv_transpose2d_layer_and_output_size(rn):
    lamina.manual_seed(0)
    m = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    t = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, dtype=torch.float32)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = rn(2, 4, 5, 5).astype(np.float32)
    for size in (None, (10, 10), (9, 10)):
        yl, yt = m(lamina.tensor(x), output_size=size), t(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="not reachable"):
        m(lamina.tensor(x), output_size=(12, 12))


def test_default_init_is_pytorchs():
    """kaiming_uniform_(a=√5) gives U(±1/√fan_in) for the weight; the bias is U(±1/√fan_in) too."""
    lamina.manual_seed(1)
    m = nn.Conv2d(8, 16, 3, groups=2)
    fan_in = 4 * 9
    bound = 1 / math.sqrt(fan_in)
    w = m.weight.numpy()
    assert w.shape == (16, 4, 3, 3) and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(m.bias.numpy()).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    ct = nn.ConvTranspose2d(6, 4, 2)  # weight (in, out, kh, kw): fan_in = out·kh·kw
    assert np.abs(ct.weight.numpy()).max() <= 1 / math.sqrt(16)
    lamina.manual_seed(1)
    again = nn.Conv2d(8, 16, 3, groups=2)
    np.testing.assert_array_equal(again.weight.numpy(), w)


def test_layer_repr_and_errors():
    assert repr(nn.Conv2d(1, 6, 5, padding=2)).startswith("Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="expected input with 3 channels"):
        nn.Conv2d(3, 4, 3)(lamina.randn(1, 2, 5, 5))


def test_buffer_cache_never_hands_out_a_buffer_in_use():
    """Large results come from a cache of reusable buffers; one that anything still references is never reused."""
    cache = conv_ops.BufferCache(max_bytes=1 << 24)
    a = cache.empty((256, 256), np.float32)
    a[...] = 1.0
    view = a[::2]
    del a
    b = cache.empty((256, 256), np.float32)  # the first buffer is still referenced through `view`
    b[...] = 2.0
    assert (view == 1.0).all() and not np.shares_memory(view, b)
    del view, b
    c = cache.empty((256, 256), np.float32)  # now both are free: one is reused, nothing new allocated
    assert cache.bytes == 2 * 256 * 256 * 4 and c.shape == (256, 256)


def test_outputs_survive_later_calls():
    w = lamina.randn(8, 3, 3, 3)
    x1, x2 = lamina.randn(32, 3, 16, 16), lamina.randn(32, 3, 16, 16)
    y1 = F.conv2d(x1, w, padding=1)
    p1 = F.max_pool2d(y1, 2)
    saved = y1.numpy().copy(), p1.numpy().copy()
    for _ in range(3):
        F.max_pool2d(F.conv2d(x2, w, padding=1), 2)
    np.testing.assert_array_equal(y1.numpy(), saved[0])
    np.testing.assert_array_equal(p1.numpy(), saved[1])


BAND_CASES = [
    ((16, 2, 5, 4), (10, 2, 3, 3), dict(padding=1)),                             # bands of 2, 2 and 1 rows
    ((16, 2, 7, 6), (9, 2, 3, 3), dict(stride=2, padding=(1, 2), dilation=(2, 1))),
    ((16, 4, 4, 3), (5, 4, 3, 3), dict(padding=1)),                               # x̄ and w̄ in one pass
    ((16, 4, 4, 5), (4, 4, 4, 3), dict(padding="same", dilation=(1, 2))),         # asymmetric 'same' padding
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("xs,ws,kw", BAND_CASES, ids=[str(c[2]) for c in BAND_CASES])
def test_conv2d_in_row_bands_against_torch(xs, ws, kw, rn, monkeypatch):
    """Large layers gather their columns band by band (conv.band_rows); small thresholds force it here."""
    monkeypatch.setattr(conv_ops, "_BANDED_MIN", 0)
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", 20000)
    assert conv_ops.band_rows((16, 2, 5, 4), (3, 3), conv_ops.ConvSpec((1, 1), ((1, 1), (1, 1)), (1, 1), 1),
                              (5, 4), 8) == 2
    check_op(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
             rn(*xs), rn(*ws), rn(ws[0]))


def test_conv2d_with_few_output_channels_in_smaller_row_bands_against_torch(rn, monkeypatch):
    """A product with at most _FEW_CHANNELS output channels takes bands of _FEW_BAND_BYTES (the forward and the
    weight gradient gather them again from the padded input)."""
    monkeypatch.setattr(conv_ops, "_BANDED_MIN", 0)
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", 20000)
    monkeypatch.setattr(conv_ops, "_FEW_BAND_BYTES", 6000)
    spec = conv_ops.ConvSpec((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    assert conv_ops.band_rows((16, 2, 5, 4), (3, 3), spec, (5, 4), 8, out_channels=3) == 1
    assert conv_ops.band_rows((16, 2, 5, 4), (3, 3), spec, (5, 4), 8, out_channels=9) == 2
    check_op(lambda x, w, b: F.conv2d(x, w, b, padding=1), lambda x, w, b: TF.conv2d(x, w, b, padding=1),
             rn(16, 2, 5, 4), rn(3, 2, 3, 3), rn(3))


def test_conv_transpose2d_in_row_bands_against_torch(rn, monkeypatch):
    monkeypatch.setattr(conv_ops, "_BANDED_MIN", 0)
    monkeypatch.setattr(conv_ops, "_BAND_BYTES", 20000)
    check_op(lambda x, w: F.conv_transpose2d(x, w, padding=1), lambda x, w: TF.conv_transpose2d(x, w, padding=1),
             rn(16, 10, 4, 3), rn(10, 2, 3, 3))
