"""Layers and their functional forms through the shared op checker: linear, embedding, batch norm,
layer norm, local response norm (across and within channels), dropout, maxout, flatten, residual."""
import numpy as np
import pytest
import torch
from opcheck import check_op

import lamina as L
import lamina.nn as nn
import lamina.nn.functional as F

tF = torch.nn.functional



# ---------------------------------------------------------------------------- linear
@pytest.mark.parametrize("xshape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_against_torch(xshape, rn):
    check_op(F.linear, tF.linear, rn(*xshape), rn(2, 3), rn(2))
    check_op(F.linear, tF.linear, rn(*xshape), rn(2, 3))


def test_linear_module_defaults_like_torch():
    L.manual_seed(0)
    m = nn.Linear(100, 30)
    assert m.weight.shape == (30, 100) and m.bias.shape == (30,) and m.weight.dtype == np.float32
    bound = 1 / np.sqrt(100)  # kaiming_uniform(a=√5) gives U(±1/√fan_in)
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.weight.numpy()).max() > 0.95 * bound
    assert np.abs(m.bias.numpy()).max() <= bound
    assert abs(m.weight.numpy().std() - bound / np.sqrt(3)) < 0.01
    assert repr(m) == "Linear(in_features=100, out_features=30, bias=True)  # 3,030 parameters"
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=L.float64).weight.dtype == np.float64
    x = L.randn(4, 100)
    np.testing.assert_allclose(m(x).numpy(), x.numpy() @ m.weight.numpy().T + m.bias.numpy(), rtol=1e-5)


def test_linear_shape_error_explains_a_1d_batch_of_scalars():
    """model = Sequential(Linear(1, 10), ...); x0 = linspace(-1, 1, 256); y = model(x0) is an error. Why?"""
    model = nn.Sequential(nn.Linear(1, 10), nn.ReLU(), nn.Linear(10, 1))
    x0 = L.linspace(-1, 1, 256)
    with pytest.raises(ValueError) as e:
        model(x0)
    msg = str(e.value)
    assert "in_features=1" in msg and "(256,)" in msg
    assert "single sample with 256 features" in msg and "x.unsqueeze(1)" in msg and "x[:, None]" in msg
    assert isinstance(e.value, RuntimeError)  # like PyTorch's error type too
    assert model(x0[:, None]).shape == (256, 1)
    with pytest.raises(ValueError, match="features must be the LAST dim"):
        nn.Linear(3, 2)(L.randn(3, 7))
    with pytest.raises(ValueError, match="flatten"):
        nn.Linear(12, 2)(L.randn(5, 3, 4))
    with pytest.raises(TypeError, match="float64 does not match weight dtype float32"):
        nn.Linear(3, 2)(L.randn(4, 3, dtype=L.float64))


def test_linear_fused_backward_matches_composite_in_float32():
    x, w, b = (L.randn(8, 5, requires_grad=True), L.randn(3, 5, requires_grad=True), L.randn(3, requires_grad=True))
    (F.linear(x, w, b) ** 2).sum().backward()
    g1 = [t.grad.numpy().copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    ((x @ w.T + b) ** 2).sum().backward()
    for a, t in zip(g1, (x, w, b)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- embedding
def test_embedding_against_torch(rn):
    idx = np.array([[0, 2, 2], [4, 0, 1]])
    check_op(lambda w: F.embedding(idx, w), lambda w: tF.embedding(torch.tensor(idx), w), rn(5, 3))
    # padding_idx: the row is read but gets no gradient, by design, so finite differences do not apply
    check_op(lambda w: F.embedding(idx, w, padding_idx=2), lambda w: tF.embedding(torch.tensor(idx), w, padding_idx=2),
             rn(5, 3), fd=False, fwd=False)
    check_op(lambda w: F.embedding(idx, w, scale_grad_by_freq=True),
             lambda w: tF.embedding(torch.tensor(idx), w, scale_grad_by_freq=True), rn(5, 3), fd=False, fwd=False)


def test_embedding_module_padding_and_max_norm():
    L.manual_seed(0)
    e = nn.Embedding(10, 4, padding_idx=0)
    assert (e.weight.numpy()[0] == 0).all() and abs(e.weight.numpy()[1:].std() - 1) < 0.5
    out = e(L.tensor([[0, 3, 3]]))
    assert out.shape == (1, 3, 4)
    out.sum().backward()
    g = e.weight.grad.numpy()
    assert (g[0] == 0).all() and (g[3] == 2).all() and (g[5] == 0).all()
    m = nn.Embedding(6, 3, max_norm=1.0)
    m(L.tensor([1, 2]))
    norms = np.linalg.norm(m.weight.numpy(), axis=1)
    assert (norms[1:3] <= 1.0 + 1e-5).all()
    with pytest.raises(IndexError, match="index 6 is out of range for an embedding with 6 rows"):
        m(L.tensor([6]))
    pre = nn.Embedding.from_pretrained(L.eye(3))
    assert not pre.weight.requires_grad and pre(L.tensor([2])).tolist() == [[0.0, 0.0, 1.0]]


def test_embedding_row_sparse_gradient_form():
    from lamina.ops.layers import Embedding

    op = Embedding(np.array([3, 1, 3]))
    op.forward(np.zeros((5, 2)))
    rows, vals = op.rows(np.ones((3, 2)))
    assert rows.tolist() == [1, 3] and vals.tolist() == [[1, 1], [2, 2]]


# ---------------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 2, 2)])
def test_batch_norm_training_against_torch(shape, rn):
    x = rn(*shape) * 2 + 1
    check_op(lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
             lambda a, w, b: tF.batch_norm(a, None, None, w, b, training=True), x, rn(3), rn(3))
    check_op(lambda a: F.batch_norm(a, None, None, training=True),
             lambda a: tF.batch_norm(a, None, None, training=True), x)


# memory layouts of a (2, 3, 4, 5) batch: conv outputs (C, H, W, N), channels last (N, H, W, C), a cropped
# (C, N, H, W) view (as a padded transposed convolution leaves); each as (array shape, view to N, C, H, W)
_LAYOUTS = {"chwn": ((3, 4, 5, 2), lambda a: a.permute(3, 0, 1, 2)),
            "nhwc": ((2, 4, 5, 3), lambda a: a.permute(0, 3, 1, 2)),
            "cropped cnhw": ((3, 2, 5, 6), lambda a: a.permute(1, 0, 2, 3)[:, :, 1:, :5])}


@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_gradients_and_second_derivatives_in_memory_layouts(layout, affine, rn):
    shape, view = _LAYOUTS[layout]
    x = rn(*shape) * 2 + 1
    if affine:
        check_op(lambda a, w, b: F.batch_norm(view(a), None, None, w, b, training=True),
                 lambda a, w, b: tF.batch_norm(view(a), None, None, w, b, training=True), x, rn(3), rn(3))
    else:
        check_op(lambda a: F.batch_norm(view(a), None, None, training=True),
                 lambda a: tF.batch_norm(view(a), None, None, training=True), x)


def test_batch_norm_float32_gradients_in_conv_layout_against_torch(rng):
    x = rng.standard_normal((16, 8, 8, 32)).astype(np.float32) * 3 + 1  # (C, H, W, N) memory, as conv outputs
    g = rng.standard_normal((16, 8, 8, 32)).astype(np.float32)
    w, b = rng.uniform(0.5, 1.5, 16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    lx, lw, lb = (L.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    F.batch_norm(lx.permute(3, 0, 1, 2), None, None, lw, lb, training=True).backward(L.tensor(g).permute(3, 0, 1, 2))
    tF.batch_norm(tx.permute(3, 0, 1, 2), None, None, tw, tb, training=True).backward(torch.tensor(g).permute(3, 0, 1, 2))
    for a, t in ((lx, tx), (lw, tw), (lb, tb)):
        assert a.grad.dtype == np.float32
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 3)])
def test_batch_norm_hessian_vector_product_against_torch(shape, rn):
    x, w, b, u, v = rn(*shape), rn(3), rn(3), rn(*shape), rn(*shape)

    def loss(lib, bn):
        return lambda a, g: (bn(a, None, None, g, lib.tensor(b), training=True) ** 2 * lib.tensor(u)).sum()

    _, hv = L.autograd.functional.hvp(loss(L, F.batch_norm), (L.tensor(x), L.tensor(w)), (L.tensor(v), L.tensor(b)))
    _, thv = torch.autograd.functional.hvp(loss(torch, tF.batch_norm), (torch.tensor(x), torch.tensor(w)),
                                           (torch.tensor(v), torch.tensor(b)))
    for a, t in zip(hv, thv):
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 3)])
def test_batch_norm_input_gradient_op_forward_mode_matches_finite_differences(shape, rn):
    """BatchNormGrad(ȳ, x, γ)'s tangent (forward mode, as forward-over-reverse runs it) against central
    differences of its values."""
    from lamina.autograd import forward_ad
    from lamina.autograd.op import run
    from lamina.ops.layers import BatchNormGrad

    axes = (0,) + tuple(range(2, len(shape)))
    cshape = (1, 3) + (1,) * (len(shape) - 2)
    primals = [rn(*shape), rn(*shape) * 2 + 1, rn(3)]
    tangents = [rn(*shape), rn(*shape), rn(3)]

    def f(*arrays):
        return run(BatchNormGrad(axes, cshape, 1e-5), *[L.tensor(a) for a in arrays]).numpy()

    with forward_ad.dual_level():
        duals = [forward_ad.make_dual(L.tensor(p), L.tensor(t)) for p, t in zip(primals, tangents)]
        tangent = forward_ad.unpack_dual(run(BatchNormGrad(axes, cshape, 1e-5), *duals)).tangent.numpy()
    h = 1e-6
    fd = (f(*[p + h * t for p, t in zip(primals, tangents)]) - f(*[p - h * t for p, t in zip(primals, tangents)])) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-7)


def test_batch_norm_eval_against_torch(rn, rng):
    rm, rv = rn(3), rng.uniform(0.5, 2, 3)
    check_op(lambda a, w, b: F.batch_norm(a, L.tensor(rm), L.tensor(rv), w, b, training=False),
             lambda a, w, b: tF.batch_norm(a, torch.tensor(rm), torch.tensor(rv), w, b, training=False),
             rn(4, 3, 2, 2), rn(3), rn(3))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_running_statistics_over_steps(momentum, rng):
    lm = nn.BatchNorm2d(3, momentum=momentum)
    tm = torch.nn.BatchNorm2d(3, momentum=momentum).float()
    with torch.no_grad():
        tm.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
        tm.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    lm.weight.data = L.tensor([0.5, 1.0, 2.0])
    lm.bias.data = L.tensor([0.1, -0.2, 0.3])
    for step in range(4):
        x = (rng.standard_normal((5, 3, 4, 4)) * (step + 1) + step).astype(np.float32)
        np.testing.assert_allclose(lm(L.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(lm, name).numpy(), getattr(tm, name).numpy(), rtol=1e-5, atol=1e-6)
    assert lm.num_batches_tracked.item() == 4 and lm.num_batches_tracked.dtype == np.int64
    lm.eval()
    tm.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(lm(L.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert lm.num_batches_tracked.item() == 4  # eval leaves the statistics alone


def test_batchnorm1d_modes_and_errors():
    bn = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and bn.running_mean is None
    x = L.randn(8, 4) * 3 + 2
    y = bn.eval()(x).numpy()  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)
    tb = nn.BatchNorm1d(4)
    assert tb(L.randn(5, 4, 7)).shape == (5, 4, 7)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        tb(L.randn(1, 4))
    with pytest.raises(ValueError, match="3 channels on dim 1"):
        tb(L.randn(5, 3))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        tb(L.randn(2, 4, 3, 3))
    assert tb.state_dict().keys() == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}


# ---------------------------------------------------------------------------- other normalisations
def test_layer_norm_against_torch(rn):
    check_op(lambda a, w, b: F.layer_norm(a, (4,), w, b), lambda a, w, b: tF.layer_norm(a, (4,), w, b),
             rn(3, 4), rn(4), rn(4))
    check_op(lambda a: F.layer_norm(a, (2, 3)), lambda a: tF.layer_norm(a, (2, 3)), rn(2, 2, 3))
    ln = nn.LayerNorm(5)
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_local_response_norm_across_channels_against_torch(size, rn):
    x = rn(2, 6, 3, 3)
    check_op(lambda a: F.local_response_norm(a, size, 0.3, 0.75, 2.0),
             lambda a: tF.local_response_norm(a, size, 0.3, 0.75, 2.0), x)
    check_op(lambda a: F.local_response_norm(a, size), lambda a: tF.local_response_norm(a, size), rn(2, 4, 5))


def test_local_response_norm_matches_a_keras_style_layer(rn):
    """A Keras LRN layer written out: scale = k + α/n Σ_{i<n} sqr[:, i:i+ch] over zero-padded channels, x / scale^β."""
    x = rn(2, 7, 3, 3)
    alpha, k, beta, n = 1e-1, 1.0, 0.75, 5
    half = n // 2
    sq = np.zeros((2, 7 + 2 * half, 3, 3))
    sq[:, half:half + 7] = x ** 2
    scale = k + sum(alpha / n * sq[:, i:i + 7] for i in range(n))
    expected = x / scale ** beta
    got = nn.LocalResponseNorm(n, alpha, beta, k)(L.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("size", [2, 3])
def test_local_response_norm_within_channel(size, rn):
    def torch_ref(a):
        sq = tF.pad(a * a, (size // 2, (size - 1) // 2, size // 2, (size - 1) // 2))
        avg = tF.avg_pool2d(sq, size, stride=1)  # Σ over the size×size window / size²
        return a / (1.5 + 0.2 * avg) ** 0.6

    check_op(lambda a: F.local_response_norm_within_channel(a, size, 0.2, 0.6, 1.5), torch_ref, rn(2, 3, 4, 5))
    m = nn.LocalResponseNorm(size, 0.2, 0.6, 1.5, region="within_channel")
    x = rn(1, 2, 4, 4)
    np.testing.assert_allclose(m(L.tensor(x)).numpy(), torch_ref(torch.tensor(x)).numpy(), rtol=1e-12)
    assert "within_channel" in repr(m)
    with pytest.raises(ValueError, match="region"):
        nn.LocalResponseNorm(3, region="spatial")


def test_normalize_against_torch(rn):
    check_op(lambda a: F.normalize(a, dim=1), lambda a: tF.normalize(a, dim=1), rn(3, 4))


# ---------------------------------------------------------------------------- dropout
def test_dropout_is_inverted_seeded_and_train_only():
    x = L.ones(200, 100, requires_grad=True)
    L.manual_seed(1)
    d = nn.Dropout(0.3)
    y = d(x)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # gradient is the scaled mask
    L.manual_seed(1)
    np.testing.assert_array_equal(d(x).numpy(), y.numpy())  # reproducible under the same seed
    assert d.eval()(x) is x
    assert F.dropout(x, 0.0) is x and (F.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    z = nn.Dropout2d(0.5)(L.ones(4, 6, 3, 3)).numpy()
    assert ((z == 0) | (z == 2)).all() and (z.reshape(4, 6, 9).std(-1) == 0).all()  # whole channels
    y32 = F.dropout(L.ones(3, 3), 0.5)
    assert y32.dtype == np.float32


def test_alpha_dropout_keeps_selu_statistics():
    L.manual_seed(0)
    x = L.randn(200000)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01


# ---------------------------------------------------------------------------- maxout, flatten, residual
def test_maxout_against_torch(rn):
    def torch_maxout(x, w, b):
        return tF.linear(x, w, b).view(x.shape[0], 2, 3).max(-1).values

    check_op(lambda x, w, b: F.maxout(F.linear(x, w, b), 3), torch_maxout, rn(4, 5), rn(6, 5), rn(6))
    m = nn.Maxout(5, 2, pieces=3)
    x = L.randn(4, 5)
    z = (x.numpy() @ m.linear.weight.numpy().T + m.linear.bias.numpy()).reshape(4, 2, 3).max(-1)
    np.testing.assert_allclose(m(x).numpy(), z, rtol=1e-6)
    assert m.num_parameters() == 6 * 5 + 6


def test_maxout_generalises_relu():
    """max(0·x + 0, 1·x + 0) is ReLU."""
    m = nn.Maxout(1, 1, pieces=2)
    m.linear.weight.data = L.tensor([[0.0], [1.0]])
    m.linear.bias.data = L.tensor([0.0, 0.0])
    x = L.tensor([[-2.0], [3.0]])
    assert m(x).tolist() == [[0.0], [3.0]]


def test_flatten_unflatten_and_residual():
    x = L.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    lin = nn.Linear(4, 4)
    r = nn.Residual(lin)
    v = L.randn(3, 4)
    np.testing.assert_allclose(r(v).numpy(), v.numpy() + lin(v).numpy(), rtol=1e-6)
    proj = nn.Residual(nn.Linear(4, 2), shortcut=nn.Linear(4, 2, bias=False))
    assert proj(v).shape == (3, 2) and len(list(proj.parameters())) == 3
    with pytest.raises(ValueError, match="skip connection"):
        nn.Residual(nn.Linear(4, 2))(v)


def test_dropout_through_the_op_checker_with_a_fixed_mask(rn):
    p, shape = 0.3, (4, 5)
    keep = np.random.default_rng(0).random(shape) >= p  # what lamina's generator seeded with 0 draws

    def lam(x):
        return F.dropout(x, p, generator=L.Generator().manual_seed(0))

    check_op(lam, lambda x: x * torch.tensor(keep / (1 - p)), rn(*shape))
    check_op(lambda x: F.dropout2d(x, 0.5, generator=L.Generator().manual_seed(1)),
             lambda x: x * torch.tensor((np.random.default_rng(1).random((2, 3, 1, 1)) >= 0.5) * 2.0), rn(2, 3, 2, 2))


def test_flatten_and_residual_through_the_op_checker(rn):
    check_op(lambda x: nn.Flatten()(x), lambda x: torch.nn.Flatten()(x), rn(2, 3, 2))
    check_op(lambda x, w, b: nn.Residual(_Fn(lambda v: F.tanh(F.linear(v, w, b))))(x),
             lambda x, w, b: x + torch.tanh(tF.linear(x, w, b)), rn(3, 4), rn(4, 4), rn(4))


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_embedding_max_norm_matches_torch(rng):
    w = rng.standard_normal((6, 3)).astype(np.float32) * 2
    idx = np.array([1, 2, 2, 5])
    lw, tw = L.tensor(w.copy()), torch.tensor(w.copy())
    out = F.embedding(L.tensor(idx), lw, max_norm=1.5)
    tout = tF.embedding(torch.tensor(idx), tw, max_norm=1.5)
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-6)
    np.testing.assert_allclose(lw.numpy(), tw.numpy(), rtol=1e-6)  # the same rows were renormalised in place


def test_fused_linear_relu_against_torch(rn):
    x = rn(5, 4)
    check_op(F.linear_relu, lambda a, w, b: torch.relu(tF.linear(a, w, b)), x, rn(3, 4), rn(3))
    check_op(F.linear_relu, lambda a, w: torch.relu(tF.linear(a, w)), rn(2, 3, 4), rn(3, 4))
