"""FFT convolution (``algorithm='fft'``, ops/conv_fft.py) against the direct path (im2col + GEMM): values,
gradients, second derivatives and forward mode equal to 1e-10 in float64 across strides, paddings,
dilations and groups; conv_transpose2d; the layers; ``algorithm`` checked; what 'auto' picks."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.ops.conv import ConvSpec, pick_algorithm
from lamina.ops.conv_fft import next_fast_len

TOL = dict(rtol=1e-10, atol=1e-10)

CASES = [
    # (x shape, w shape, kwargs)
    ((2, 3, 9, 8), (4, 3, 3, 3), dict()),
    ((2, 3, 9, 8), (4, 3, 5, 5), dict(padding=2)),
    ((1, 2, 12, 10), (3, 2, 7, 7), dict(padding=3)),
    ((2, 3, 9, 8), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ((2, 3, 11, 9), (4, 3, 4, 3), dict(stride=(3, 2), padding=(2, 1))),
    ((2, 2, 11, 10), (3, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    ((2, 2, 9, 9), (3, 2, 3, 3), dict(padding="same", dilation=3)),
    ((2, 2, 7, 8), (3, 2, 4, 2), dict(padding="same")),            # even kernel: asymmetric 'same' padding
    ((2, 4, 8, 8), (6, 2, 3, 3), dict(groups=2, stride=2, padding=1)),
    ((2, 4, 8, 7), (8, 1, 5, 3), dict(groups=4, padding=2)),        # depthwise, channel multiplier 2
    ((2, 4, 6, 5), (3, 4, 1, 1), dict()),                           # pointwise
    ((2, 4, 7, 7), (3, 4, 1, 1), dict(stride=2)),
    ((3, 2, 10, 13), (2, 2, 10, 13), dict()),                       # kernel as large as the input: 1×1 output
    ((17, 2, 6, 5), (3, 2, 3, 3), dict(padding=1)),                 # batch >= 16: the other memory layout
    ((1, 1, 31, 29), (1, 1, 11, 9), dict(padding=(5, 4), dilation=(1, 2))),  # prime-ish sizes, odd FFT lengths
]
IDS = [f"{c[0]}-{c[1]}-{c[2]}" for c in CASES]


def _leaves(rng, xs, ws, channels=None):
    """x, w and a bias of ``channels`` (default ws[0]) values."""
    x = lamina.tensor(rng.standard_normal(xs), requires_grad=True)
    w = lamina.tensor(rng.standard_normal(ws), requires_grad=True)
    b = lamina.tensor(rng.standard_normal(channels or ws[0]), requires_grad=True)
    return x, w, b


def _first_and_second(fn, leaves, rng):
    """fn's value, its vjp against a random u (create_graph) and the gradient of Σ ḡ² (second order)."""
    y = fn(*leaves)
    u = lamina.tensor(rng.standard_normal(y.shape))
    g = lamina.autograd.grad(y, leaves, u, create_graph=True)
    s = sum((gi * gi).sum() for gi in g)
    g2 = lamina.autograd.grad(s, leaves[:2])
    return [y.numpy()] + [gi.numpy() for gi in g] + [gi.numpy() for gi in g2]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("xs,ws,kw", CASES, ids=IDS)
def test_fft_equals_direct_values_gradients_and_second_order(xs, ws, kw):
    res = {}
    for alg in ("direct", "fft"):
        rng = np.random.default_rng(1)
        leaves = _leaves(rng, xs, ws)
        res[alg] = _first_and_second(lambda x, w, b, a=alg: F.conv2d(x, w, b, algorithm=a, **kw), leaves, rng)
    names = ["value", "x grad", "w grad", "b grad", "x second", "w second"]
    for name, d, f in zip(names, res["direct"], res["fft"]):
        assert d.shape == f.shape, name
        np.testing.assert_allclose(f, d, err_msg=name, **TOL)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_fft_equals_direct_on_random_geometries(data):
    """Random kernel, stride, padding, dilation and groups: values and first gradients agree."""
    d = data.draw
    g = d(st.sampled_from([1, 2, 3]))
    c, o = g * d(st.integers(1, 2)), g * d(st.integers(1, 2))
    kh, kw = d(st.integers(1, 6)), d(st.integers(1, 6))
    dil = (d(st.integers(1, 2)), d(st.integers(1, 2)))
    pad = (d(st.integers(0, 3)), d(st.integers(0, 3)))
    stride = (d(st.integers(1, 3)), d(st.integers(1, 3)))
    h = d(st.integers(max(1, dil[0] * (kh - 1) + 1 - 2 * pad[0]), 14))
    w = d(st.integers(max(1, dil[1] * (kw - 1) + 1 - 2 * pad[1]), 14))
    n = d(st.integers(1, 3))
    rng = np.random.default_rng(d(st.integers(0, 2**31)))
    x = lamina.tensor(rng.standard_normal((n, c, h, w)), requires_grad=True)
    wt = lamina.tensor(rng.standard_normal((o, c // g, kh, kw)), requires_grad=True)
    kwargs = dict(stride=stride, padding=pad, dilation=dil, groups=g)
    out = {}
    for alg in ("direct", "fft"):
        y = F.conv2d(x, wt, None, algorithm=alg, **kwargs)
        u = lamina.tensor(np.random.default_rng(7).standard_normal(y.shape))
        out[alg] = [y.numpy()] + [t.numpy() for t in lamina.autograd.grad(y, [x, wt], u)]
    for a, b in zip(out["direct"], out["fft"]):
        np.testing.assert_allclose(b, a, **TOL)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(stride=2, output_padding=1, dilation=2),
                                dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2)],
                         ids=str)
def test_conv_transpose2d_fft_equals_direct(kw):
    g = kw.get("groups", 1)
    res = {}
    for alg in ("direct", "fft"):
        rng = np.random.default_rng(2)
        leaves = _leaves(rng, (2, 4, 5, 6), (4, 6 // g, 3, 4), channels=6)
        res[alg] = _first_and_second(lambda x, w, b, a=alg: F.conv_transpose2d(x, w, b, algorithm=a, **kw),
                                     leaves, rng)
    for d, f in zip(res["direct"], res["fft"]):
        np.testing.assert_allclose(f, d, **TOL)


def test_forward_mode_equals_direct():
    rng = np.random.default_rng(3)
    prim = (lamina.tensor(rng.standard_normal((2, 2, 9, 9))), lamina.tensor(rng.standard_normal((3, 2, 5, 5))))
    tang = (lamina.tensor(rng.standard_normal((2, 2, 9, 9))), lamina.tensor(rng.standard_normal((3, 2, 5, 5))))
    out = {a: lamina.func.jvp(lambda x, w, a=a: F.conv2d(x, w, stride=2, padding=2, algorithm=a), prim, tang)
           for a in ("direct", "fft")}
    for d, f in zip(out["direct"], out["fft"]):
        np.testing.assert_allclose(f.numpy(), d.numpy(), **TOL)


def test_fused_relu_and_unbatched_input():
    rng = np.random.default_rng(4)
    x = lamina.tensor(rng.standard_normal((2, 8, 8)), requires_grad=True)  # unbatched (C, H, W)
    w = lamina.tensor(rng.standard_normal((3, 2, 5, 5)), requires_grad=True)
    res = {}
    for alg in ("direct", "fft"):
        y = F.conv2d(x, w, padding=2, activation="relu", algorithm=alg)
        res[alg] = [y.numpy()] + [g.numpy() for g in lamina.autograd.grad(y.sum(), [x, w])]
    assert res["fft"][0].shape == (3, 8, 8) and (res["fft"][0] == 0).any()
    for d, f in zip(res["direct"], res["fft"]):
        np.testing.assert_allclose(f, d, **TOL)


def test_retained_graph_gives_the_same_gradients_twice():
    """The spectra kept by the forward op are used once; a second backward recomputes them."""
    rng = np.random.default_rng(5)
    x, w, b = _leaves(rng, (2, 3, 8, 8), (2, 3, 7, 7))
    y = F.conv2d(x, w, b, padding=3, algorithm="fft")
    y.sum().backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    y.sum().backward()
    for a, t in zip(first, (x, w, b)):
        np.testing.assert_allclose(t.grad.numpy(), a, **TOL)


def test_float32_stays_float32_and_close_to_direct():
    rng = np.random.default_rng(6)
    x = lamina.tensor(rng.standard_normal((2, 3, 16, 16)).astype(np.float32), requires_grad=True)
    w = lamina.tensor(rng.standard_normal((4, 3, 9, 9)).astype(np.float32), requires_grad=True)
    ys = {a: F.conv2d(x, w, padding=4, algorithm=a) for a in ("direct", "fft")}
    assert ys["fft"].dtype == lamina.float32
    np.testing.assert_allclose(ys["fft"].numpy(), ys["direct"].numpy(), rtol=1e-4, atol=1e-4)
    gw = lamina.autograd.grad(ys["fft"].sum(), [w])[0]
    assert gw.dtype == lamina.float32


@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
def test_conv2d_layer_algorithm(mode):
    lamina.manual_seed(0)
    direct = nn.Conv2d(3, 4, 7, padding=3, padding_mode=mode, algorithm="direct").double()
    fft = nn.Conv2d(3, 4, 7, padding=3, padding_mode=mode, algorithm="fft").double()
    fft.load_state_dict(direct.state_dict())
    assert "algorithm='fft'" in repr(fft)
    x = lamina.tensor(np.random.default_rng(7).standard_normal((2, 3, 10, 10)))
    yd, yf = direct(x), fft(x)
    np.testing.assert_allclose(yf.numpy(), yd.numpy(), **TOL)
    yd.sum().backward()
    yf.sum().backward()
    np.testing.assert_allclose(fft.weight.grad.numpy(), direct.weight.grad.numpy(), **TOL)
    np.testing.assert_allclose(fft.bias.grad.numpy(), direct.bias.grad.numpy(), **TOL)


def test_conv_transpose2d_layer_algorithm():
    lamina.manual_seed(0)
    direct = nn.ConvTranspose2d(3, 2, 5, stride=2, algorithm="direct").double()
    fft = nn.ConvTranspose2d(3, 2, 5, stride=2, algorithm="fft").double()
    fft.load_state_dict(direct.state_dict())
    x = lamina.tensor(np.random.default_rng(8).standard_normal((2, 3, 4, 4)))
    np.testing.assert_allclose(fft(x, output_size=(12, 12)).numpy(), direct(x, output_size=(12, 12)).numpy(), **TOL)


def test_algorithm_is_checked():
    x, w = lamina.randn(1, 2, 8, 8), lamina.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: algorithm must be 'auto', 'direct' or 'fft', got 'FFT'"):
        F.conv2d(x, w, algorithm="FFT")
    with pytest.raises(ValueError, match=r"conv_transpose2d: algorithm must be .* got None"):
        F.conv_transpose2d(lamina.randn(1, 3, 4, 4), w, algorithm=None)
    with pytest.raises(ValueError, match=r"Conv2d: algorithm must be 'auto', 'direct' or 'fft', got 'winograd'"):
        nn.Conv2d(2, 3, 3, algorithm="winograd")
    with pytest.raises(ValueError, match=r"ConvTranspose2d: algorithm must be"):
        nn.ConvTranspose2d(2, 3, 3, algorithm=1)


def _op_name(y):
    return type(y._node).__name__


def test_auto_picks_fft_for_a_big_kernel_and_direct_for_3x3():
    rng = np.random.default_rng(9)
    x = lamina.tensor(rng.standard_normal((2, 8, 64, 64)), requires_grad=True)
    big = lamina.tensor(rng.standard_normal((8, 8, 15, 15)))
    small = lamina.tensor(rng.standard_normal((8, 8, 3, 3)))
    assert _op_name(F.conv2d(x, big, padding=7)) == "Conv2dFFT"
    assert _op_name(F.conv2d(x, small, padding=1)) == "Conv2d"
    assert _op_name(F.conv2d(x, big, padding=7, algorithm="direct")) == "Conv2d"
    assert _op_name(F.conv2d(x, small, padding=1, algorithm="fft")) == "Conv2dFFT"
    assert _op_name(nn.Conv2d(8, 8, 15, padding=7).double()(x)) == "Conv2dFFT"
    assert _op_name(nn.Conv2d(8, 8, 3, padding=1).double()(x)) == "Conv2d"
    # a tiny image stays direct whatever the kernel; a large stride needs a larger kernel
    assert pick_algorithm((3, 3), (15, 15), ConvSpec((1, 1), ((7, 7), (7, 7)), (1, 1), 1)) == "fft"
    assert pick_algorithm((4, 4), (9, 9), ConvSpec((1, 1), ((0, 0), (0, 0)), (1, 1), 1)) == "direct"
    assert pick_algorithm((64, 64), (9, 9), ConvSpec((4, 4), ((4, 4), (4, 4)), (1, 1), 1)) == "direct"


def test_next_fast_len_is_the_smallest_7_smooth_length():
    def smooth(m):
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        return m == 1

    for n in range(1, 400):
        m = next_fast_len(n)
        assert m >= n and smooth(m) and not any(smooth(k) for k in range(n, m)), n


@pytest.mark.parametrize("which", ["x", "w"])
def test_one_input_requiring_grad(which):
    """Only the spectrum the gradient needs is kept; either gradient alone matches the direct one."""
    rng = np.random.default_rng(10)
    xa, wa = rng.standard_normal((2, 3, 10, 9)), rng.standard_normal((4, 3, 7, 5))
    res = {}
    for alg in ("direct", "fft"):
        x = lamina.tensor(xa, requires_grad=which == "x")
        w = lamina.tensor(wa, requires_grad=which == "w")
        y = F.conv2d(x, w, stride=(1, 2), padding=(3, 1), algorithm=alg)
        res[alg] = lamina.autograd.grad((y * y).sum(), [x if which == "x" else w])[0].numpy()
    np.testing.assert_allclose(res["fft"], res["direct"], **TOL)
