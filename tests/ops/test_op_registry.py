"""Every op in ``Op.registry`` goes through ``check_op``: values and gradients against PyTorch and finite
differences, second order, forward mode against reverse mode, and ``gradgradcheck``.

A case names the op classes it exists for; ``test_every_registered_op_has_a_case`` fails when an op is
added without one, and ``test_each_case_runs_the_ops_it_names`` checks that the case really runs them
(in its forward, backward, double backward or forward-mode pass).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from opcheck import check_op

import lamina
import lamina.nn.functional as F
from lamina.autograd import Function, forward_ad, gradgradcheck
from lamina.autograd.op import UNARY, Op
from lamina.ops.negative_sampling import negative_sampling_loss


def _rn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _pos(seed, *shape):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


class _Cube(Function):
    """A user-defined op: y = x³, ȳ ↦ 3x² ȳ."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


def _dual_identity(x):
    """x through make_dual (the Alias op) outside any dual level's tangent."""
    with forward_ad.dual_level():
        d = forward_ad.make_dual(x, lamina.zeros_like(x))
        return forward_ad.unpack_dual(d).primal * 1.0


_IDX = np.array([[0, 2, 2], [1, 4, 0]])
_TARGET = np.array([1, 0, 3, 2])
_NS_IN, _NS_OUT = np.array([[0], [2], [2]]), np.array([[1, 3], [2, 0], [4, 4]])


def _ns_torch(x, y):
    s = (x[_NS_IN] * y[_NS_OUT]).sum(-1)
    return (-TF.logsigmoid(s[..., 0]).sum() - TF.logsigmoid(-s[..., 1:]).sum()) / _NS_IN.size


def _set_column(a, v):
    """out[:, 1] = v on a non-leaf tensor (the same code for lamina and torch), then a product."""
    out = a * 1.0
    out[:, 1] = v
    return out * a


def _torch_bn(x, rm, rv, w, b, training):
    """Training batch norm composed of torch ops: torch's fused op has a double backward whose own
    derivative (third order) disagrees with finite differences."""
    dims = [0] + list(range(2, x.ndim))
    shape = [1, -1] + [1] * (x.ndim - 2)
    xc = x - x.mean(dims, keepdim=True)
    xhat = xc * ((xc * xc).mean(dims, keepdim=True) + 1e-5) ** -0.5
    return xhat * w.reshape(shape) + b.reshape(shape)


def _bn_input_grad(vjp, bn, permute):
    """x̄ of training batch norm as a function of (ȳ, x, γ) (β = 0·γ), so BatchNormGrad's own derivatives are
    checked: third order of batch norm, forward over reverse. ``permute``: x as a (C, N, H, W) array viewed
    (N, C, H, W), the (C, M) path, with ȳ laid out differently."""
    def f(g, x, w):
        _, pullback = vjp(lambda a: bn(a.permute(1, 0, 2, 3) if permute else a, None, None, w, w * 0.0,
                                       training=True), x)
        return pullback(g)[0]
    return f


def _ce_input_grad(vjp, ce, tensor):
    """x̄ of per-row cross-entropy (label smoothing 0.1) as a function of (ȳ, x), so CrossEntropyGrad's own
    derivatives are checked (second and third order of the loss)."""
    def f(g, x):
        _, pullback = vjp(lambda a: ce(a, tensor(_TARGET), reduction="none", label_smoothing=0.1), x)
        return pullback(g)[0]
    return f


# (ops the case exists for, lamina function, torch function, inputs, check_op options)
CASES = [
    ("BroadcastTo SumTo", lambda a: a.expand(3, 2, 4) * 2.0, lambda a: a.expand(3, 2, 4) * 2.0, [_rn(1, 2, 1)], {}),
    # a float32 round trip hides the finite-difference step: checked against torch and forward mode only
    ("Cast", lambda a: a.float().double() * a, lambda a: a.float().double() * a, [_rn(2, 3)],
     {"atol": 1e-6, "fd": False}),
    ("Alias", _dual_identity, lambda a: a * 1.0, [_rn(3, 3)], {"fwd": False}),
    ("_FunctionOp", _Cube.apply, lambda a: a**3, [_rn(4, 3)], {"second_order": False, "fwd": False}),
    ("Add Mul Sub Div", lambda a, b: (a + b) * (a - b) / (b * b + 1.0), lambda a, b: (a + b) * (a - b) / (b * b + 1.0),
     [_rn(5, 2, 3), _rn(6, 3)], {}),
    ("AddScalar SubScalar RSubScalar MulScalar DivScalar RDivScalar",
     lambda a: ((a + 1.5) - 0.5) * 2.0 / 3.0 + (2.0 - a) + 1.0 / (a * a + 1.0),
     lambda a: ((a + 1.5) - 0.5) * 2.0 / 3.0 + (2.0 - a) + 1.0 / (a * a + 1.0), [_rn(7, 4)], {}),
    ("Pow", lambda a, b: a**b, lambda a, b: a**b, [_pos(8, 3), _rn(9, 3)], {}),
    ("PowScalar RPowScalar", lambda a: a**3 + a**0.5 + 2.0**a + a**2, lambda a: a**3 + a**0.5 + 2.0**a + a**2,
     [_pos(10, 4)], {}),
    ("Neg Exp Log Log1p Expm1 Sqrt", lambda a: -a.exp() + a.log() + a.log1p() + a.expm1() + a.sqrt(),
     lambda a: -a.exp() + a.log() + a.log1p() + a.expm1() + a.sqrt(), [_pos(11, 5)], {}),
    ("Abs Sin Cos", lambda a: a.abs() * a.sin() + a.cos(), lambda a: a.abs() * a.sin() + a.cos(), [_pos(12, 5)], {}),
    ("Tanh TanhGrad", lambda a: a.tanh(), lambda a: a.tanh(), [_rn(13, 2, 3)], {}),
    ("Sigmoid SigmoidGrad", lambda a: a.sigmoid(), lambda a: a.sigmoid(), [_rn(14, 2, 3)], {}),
    ("Relu Clamp", lambda a: a.relu() + a.clamp(-0.5, 0.5), lambda a: a.relu() + a.clamp(-0.5, 0.5),
     [np.array([-1.3, -0.2, 0.3, 0.9, 1.7])], {}),
    ("Maximum Minimum Where", lambda a, b: lamina.maximum(a, b) + lamina.minimum(a, b) * lamina.where(a > 0, a, b),
     lambda a, b: torch.maximum(a, b) + torch.minimum(a, b) * torch.where(a > 0, a, b), [_rn(15, 4), _rn(16, 4)], {}),
    ("LeakyRelu Elu", lambda a: F.leaky_relu(a, 0.1) + F.elu(a) + F.selu(a),
     lambda a: TF.leaky_relu(a, 0.1) + TF.elu(a) + TF.selu(a), [np.array([-1.3, -0.2, 0.3, 0.9])], {}),
    ("Softplus", lambda a: F.softplus(a, 1.5, 10.0), lambda a: TF.softplus(a, 1.5, 10.0), [_rn(17, 5)], {}),
    ("GeluTanh NormalCdf", lambda a: F.gelu(a, approximate="tanh") + F.gelu(a),
     lambda a: TF.gelu(a, approximate="tanh") + TF.gelu(a), [_rn(18, 5)], {}),
    ("Conv2d Conv2dWeight", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
     lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1), [_rn(19, 2, 3, 5, 5), _rn(20, 4, 3, 3, 3), _rn(21, 4)],
     {}),
    ("Conv2d ConvTranspose2d Conv2dWeight",  # stride 1, 'same' padding: x̄ as a convolution of ȳ
     lambda x, w, b: F.conv2d(x, w, b, padding=(1, 2), dilation=(1, 2), groups=2),
     lambda x, w, b: TF.conv2d(x, w, b, padding=(1, 2), dilation=(1, 2), groups=2),
     [_rn(70, 2, 4, 5, 6), _rn(71, 4, 2, 3, 3), _rn(72, 4)], {}),
    ("ConvTranspose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2),
     lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=2), [_rn(22, 2, 3, 3, 3), _rn(23, 3, 2, 3, 3), _rn(24, 2)],
     {}),
    ("Conv2dFFT Conv2dWeightFFT", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=(2, 1), dilation=(1, 2),
                                                           groups=2, algorithm="fft"),
     lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=(2, 1), dilation=(1, 2), groups=2),
     [_rn(59, 2, 4, 7, 6), _rn(60, 4, 2, 4, 3), _rn(61, 4)], {}),
    ("ConvTranspose2dFFT", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, algorithm="fft"),
     lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=2, padding=1), [_rn(62, 2, 3, 3, 3), _rn(63, 3, 2, 4, 4),
                                                                         _rn(64, 2)], {}),
    ("Reshape Permute Flip Clone", lambda a: a.reshape(3, 4).permute(1, 0).flip(0).clone(),
     lambda a: a.reshape(3, 4).permute(1, 0).flip(0).clone(), [_rn(25, 2, 6)], {}),
    ("SetItem", _set_column, _set_column, [_rn(27, 3, 4), _rn(28, 3)], {}),
    ("GetItem IndexAddInto", lambda a: a[np.array([0, 2, 2])] * a[1:, ::2].sum(),
     lambda a: a[torch.tensor([0, 2, 2])] * a[1:, ::2].sum(), [_rn(26, 3, 4)], {}),
    ("Gather ScatterAdd", lambda a, s: a.gather(1, lamina.tensor([[0, 0], [1, 2]])) + a.scatter_add(
        1, lamina.tensor([[0, 0], [1, 2]]), s)[:, :2],
     lambda a, s: a.gather(1, torch.tensor([[0, 0], [1, 2]])) + a.scatter_add(1, torch.tensor([[0, 0], [1, 2]]),
                                                                                s)[:, :2],
     [_rn(27, 2, 3), _rn(28, 2, 2)], {}),
    ("Cat", lambda a, b: lamina.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1), [_rn(29, 2, 3), _rn(30, 2, 2)], {}),
    ("Pad", lambda a: F.pad(a, (1, 2), value=0.5), lambda a: TF.pad(a, (1, 2), value=0.5), [_rn(31, 2, 3)], {}),
    ("MatMul", lambda a, b: a @ b, lambda a, b: a @ b, [_rn(32, 2, 3, 4), _rn(33, 4, 5)], {}),
    ("Sum Mean", lambda a: a.sum(1) + a.mean(0).sum(), lambda a: a.sum(1) + a.mean(0).sum(), [_rn(34, 3, 4)], {}),
    ("Amax Amin", lambda a: a.amax(1) + a.amin(0), lambda a: a.amax(1) + a.amin(0), [_rn(35, 3, 3)], {}),
    ("LogSumExp Softmax LogSoftmax", lambda a: a.logsumexp(1).sum() + a.softmax(1) * a.log_softmax(0),
     lambda a: a.logsumexp(1).sum() + a.softmax(1) * a.log_softmax(0), [_rn(36, 3, 4)], {}),
    ("CumSum", lambda a: a.cumsum(1), lambda a: a.cumsum(1), [_rn(37, 2, 4)], {}),
    ("Linear", F.linear, TF.linear, [_rn(38, 4, 3), _rn(39, 2, 3), _rn(40, 2)], {}),
    ("LinearReLU", F.linear_relu, lambda a, w, b: torch.relu(TF.linear(a, w, b)), [_rn(41, 4, 3), _rn(42, 2, 3),
                                                                                     _rn(43, 2)], {}),
    ("Embedding EmbeddingScatter", lambda w: F.embedding(_IDX, w), lambda w: TF.embedding(torch.tensor(_IDX), w),
     [_rn(44, 5, 3)], {}),
    ("BatchNorm BatchNormGrad", lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
     lambda a, w, b: TF.batch_norm(a, None, None, w, b, training=True), [_rn(45, 4, 3, 2), _rn(46, 3), _rn(47, 3)],
     {}),
    ("BatchNorm BatchNormGrad Permute",  # channel axis outermost in memory, as conv outputs are: the (C, M) path
     lambda a, w, b: F.batch_norm(a.permute(1, 0, 2, 3), None, None, w, b, training=True),
     lambda a, w, b: TF.batch_norm(a.permute(1, 0, 2, 3), None, None, w, b, training=True),
     [_rn(73, 3, 4, 2, 2), _rn(74, 3), _rn(75, 3)], {}),
    ("BatchNorm BatchNormGrad Permute GetItem",  # and a cropped view in that order (a padded transposed convolution's output)
     lambda a, w, b: F.batch_norm(a.permute(1, 0, 2, 3)[:, :, 1:, :2], None, None, w, b, training=True),
     lambda a, w, b: TF.batch_norm(a.permute(1, 0, 2, 3)[:, :, 1:, :2], None, None, w, b, training=True),
     [_rn(76, 3, 4, 3, 3), _rn(77, 3), _rn(78, 3)], {}),
    ("BatchNormGrad", _bn_input_grad(lamina.func.vjp, F.batch_norm, False), _bn_input_grad(torch.func.vjp, _torch_bn, False),
     [_rn(79, 6, 3), _rn(80, 6, 3), _rn(81, 3)], {}),
    ("BatchNormGrad Permute", _bn_input_grad(lamina.func.vjp, F.batch_norm, True), _bn_input_grad(torch.func.vjp, _torch_bn, True),
     [_rn(82, 4, 3, 2, 2), _rn(83, 3, 4, 2, 2), _rn(84, 3)], {}),
    ("WindowSum", lambda a: F.local_response_norm(a, 3, 0.3, 0.75, 2.0),
     lambda a: TF.local_response_norm(a, 3, 0.3, 0.75, 2.0), [_rn(48, 2, 4, 3)], {}),
    ("CrossEntropy", lambda a: F.cross_entropy(a, lamina.tensor(_TARGET)),
     lambda a: TF.cross_entropy(a, torch.tensor(_TARGET)), [_rn(49, 4, 5)], {}),
    ("CrossEntropyGrad", _ce_input_grad(lamina.func.vjp, F.cross_entropy, lamina.tensor),
     _ce_input_grad(torch.func.vjp, TF.cross_entropy, torch.tensor), [_rn(85, 4), _rn(86, 4, 5)], {}),
    ("BinaryCrossEntropy", lambda p, y: F.binary_cross_entropy(p, y), lambda p, y: TF.binary_cross_entropy(p, y),
     [np.random.default_rng(50).uniform(0.1, 0.9, (3, 2)), np.random.default_rng(51).uniform(0, 1, (3, 2))], {}),
    ("MaxPool2d MaxPoolScatter MaxPoolGather", lambda a: F.max_pool2d(a, 2, padding=1),
     lambda a: TF.max_pool2d(a, 2, padding=1), [_rn(52, 1, 2, 4, 5)], {}),
    ("AvgPool2d AvgPoolAdjoint", lambda a: F.avg_pool2d(a, 2), lambda a: TF.avg_pool2d(a, 2), [_rn(53, 1, 2, 4, 4)],
     {}),
    ("AxisLinear", lambda a: F.adaptive_avg_pool2d(a, (2, 3)), lambda a: TF.adaptive_avg_pool2d(a, (2, 3)),
     [_rn(54, 1, 2, 5, 7)], {}),
    ("AxisResample AxisResampleAdjoint", lambda a: F.interpolate(a, scale_factor=2, mode="bilinear"),
     lambda a: TF.interpolate(a, scale_factor=2, mode="bilinear"), [_rn(55, 1, 2, 3, 3)], {}),
    # scale_grad_by_freq rescales the gradient on purpose: not a derivative, so no finite differences
    ("_ScaleGrad", lambda w: F.embedding(_IDX, w, scale_grad_by_freq=True),
     lambda w: TF.embedding(torch.tensor(_IDX), w, scale_grad_by_freq=True), [_rn(56, 5, 3)],
     {"fd": False, "fwd": False}),
    ("NegativeSamplingLoss", lambda x, y: negative_sampling_loss(x * 1.0, y * 1.0, _NS_IN, _NS_OUT, "each", "mean"),
     _ns_torch, [_rn(57, 5, 3), _rn(58, 5, 3)], {}),
]


# issue 14 (ports): einsum and the matrix functions of lamina.linalg; a factorisation is checked through
# functions its sign choices do not change (eigenvalues, squared eigen/singular vectors)
_SPD = _rn(60, 3, 3) @ _rn(60, 3, 3).T + np.eye(3)
_WELL = _rn(61, 3, 3) + 3 * np.eye(3)


def _eigh_parts(lib):
    return lambda a: (lambda w, v: w + v * v)(*lib.linalg.eigh((a + a.mT) * 0.5))


def _svd_parts(lib):
    return lambda a: (lambda u, s, vh: (u * u) @ (vh * vh) * s)(*lib.linalg.svd(a, full_matrices=False))


CASES += [
    ("Einsum", lambda a, b, c: lamina.einsum("bij,jk,bk->bi", a, b, c) + lamina.einsum("ii->i", b[:, :3]).sum(),
     lambda a, b, c: torch.einsum("bij,jk,bk->bi", a, b, c) + torch.einsum("ii->i", b[:, :3]).sum(),
     [_rn(62, 2, 2, 3), _rn(63, 3, 4), _rn(64, 2, 4)], {}),
    ("Inv Solve", lambda a, b: lamina.linalg.inv(a) + lamina.linalg.solve(a, b),
     lambda a, b: torch.linalg.inv(a) + torch.linalg.solve(a, b), [_WELL, _rn(65, 3, 3)], {}),
    ("Det LogAbsDet", lambda a: lamina.linalg.det(a) + lamina.linalg.slogdet(a)[1],
     lambda a: torch.linalg.det(a) + torch.linalg.slogdet(a)[1], [_WELL], {}),
    ("Cholesky", lambda a: lamina.linalg.cholesky((a + a.mT) * 0.5), lambda a: torch.linalg.cholesky((a + a.mT) * 0.5),
     [_SPD], {}),
    ("Eigh", _eigh_parts(lamina), _eigh_parts(torch), [_rn(66, 4, 4)], {}),
    # no forward-mode rule for QR and SVD (reverse mode and second order are checked)
    ("QR", lambda a: lamina.linalg.qr(a)[0] + lamina.linalg.qr(a)[1].sum(),
     lambda a: torch.linalg.qr(a)[0] + torch.linalg.qr(a)[1].sum(), [_rn(67, 5, 3)], {"fwd": False}),
    ("SVD", _svd_parts(lamina), _svd_parts(torch), [_rn(68, 4, 3)], {"fwd": False}),
]


CASES += [
    ("UnfoldDim UnfoldDimAdjoint", lambda a: a.unfold(1, 3, 2) * a.unfold(-1, 2, 1).sum(),
     lambda a: a.unfold(1, 3, 2) * a.unfold(-1, 2, 1).sum(), [_rn(69, 2, 7, 3)], {}),
]

# scatter/fold/special (issue 14): the fold pair and the special functions that are no plain torch.<name>
_FOLD = dict(kernel_size=(2, 3), dilation=(1, 2), padding=(1, 0), stride=(2, 1))
CASES += [
    ("Unfold Fold", lambda a: F.fold(F.unfold(a, **_FOLD) * 1.5, (5, 6), **_FOLD),
     lambda a: TF.fold(TF.unfold(a, **_FOLD) * 1.5, (5, 6), **_FOLD), [_rn(70, 2, 3, 5, 6)], {}),
    ("Polygamma", lambda a: lamina.polygamma(1, a) + lamina.special.polygamma(2, a),
     lambda a: torch.polygamma(1, a) + torch.special.polygamma(2, a), [_pos(71, 2, 3)], {}),
    ("I1 I0e I1e", lambda a: lamina.special.i1(a) + lamina.special.i0e(a) * lamina.special.i1e(a),
     lambda a: torch.special.i1(a) + torch.special.i0e(a) * torch.special.i1e(a), [_rn(72, 2, 3)], {}),
    ("Erfcx", lamina.special.erfcx, torch.special.erfcx, [_rn(73, 2, 3)], {}),
    ("Erfinv", lamina.erfinv, torch.erfinv, [np.random.default_rng(74).uniform(-0.9, 0.9, (2, 3))], {}),
    ("Lgamma Digamma", lambda a: lamina.lgamma(a) + a.digamma(), lambda a: torch.lgamma(a) + a.digamma(),
     [_pos(75, 2, 3)], {}),
    ("I0", lamina.i0, torch.i0, [_rn(76, 2, 3)], {}),
    ("LogNdtr", lamina.special.log_ndtr, torch.special.log_ndtr,
     [np.random.default_rng(77).uniform(-4.0, 3.0, (2, 3))], {}),
]


def _unary_cases():
    """A case for each function declared with ``unary`` whose op no case above names: checked against
    ``torch.<name>`` on inputs drawn from the op's ``domain`` (so a new unary function needs no line here)."""
    named = {name for case in CASES for name in case[0].split()}
    cases = []
    for i, (name, fn) in enumerate(sorted(UNARY.items())):
        with np.errstate(all="ignore"):  # only the op's name is wanted here
            op = type(fn(lamina.ones(1, requires_grad=True)).grad_fn).__name__
        if op in named:
            continue
        lo, hi = next(c for c in Op.registry if c.__name__ == op).domain
        x = np.random.default_rng(100 + i).uniform(lo, hi, (2, 3))
        cases.append((op, fn, getattr(torch, name), [x], {}))
    return cases


CASES += _unary_cases()
IDS = [c[0] for c in CASES]


def test_every_registered_op_has_a_case():
    covered = {name for case in CASES for name in case[0].split()}
    missing = sorted(cls.__name__ for cls in Op.registry if cls.__name__ not in covered)
    assert not missing, f"ops without a check_op case in tests/ops/test_op_registry.py: {missing}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_against_torch_and_finite_differences(case):
    _, lf, tf, arrays, options = case
    check_op(lf, tf, *arrays, **options)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_gradgradcheck(case):
    _, lf, _, arrays, options = case
    if options.get("second_order") is False or options.get("fd") is False:
        pytest.skip("no finite-difference second derivative for this case (see its comment in CASES)")
    xs = tuple(lamina.tensor(a.copy(), requires_grad=True) for a in arrays)
    assert gradgradcheck(lf, xs, atol=1e-4, rtol=1e-3)


@pytest.fixture
def op_recorder(monkeypatch):
    """The op classes whose forward or backward runs while the fixture is active."""
    seen: set[str] = set()
    for cls in [Op, *Op.registry]:
        for rule in ("forward", "backward"):
            if rule in cls.__dict__:
                def recording(self, *args, _inner=cls.__dict__[rule]):
                    seen.add(type(self).__name__)
                    return _inner(self, *args)

                monkeypatch.setattr(cls, rule, recording)
    return seen


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_case_runs_the_ops_it_names(case, op_recorder):
    names, lf, _, arrays, options = case
    xs = [lamina.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = lf(*xs)
    u = lamina.tensor(np.random.default_rng(0).standard_normal(out.shape))
    gs = lamina.autograd.grad(out, xs, u, create_graph=True, allow_unused=True, materialize_grads=True)
    s = sum((g * g).sum() for g in gs)
    if s.requires_grad:
        lamina.autograd.grad(s, xs, allow_unused=True)
    if options.get("fwd", True):
        lamina.func.jvp(lf, tuple(lamina.tensor(a) for a in arrays), tuple(lamina.ones_like(lamina.tensor(a))
                                                                         for a in arrays))
    assert set(names.split()) <= op_recorder, f"not run: {sorted(set(names.split()) - op_recorder)}"
