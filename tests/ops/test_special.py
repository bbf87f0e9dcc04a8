"""lamina.special against torch.special: values and gradients in float32 and float64, the compositions
through the op checker, torch.special's aliases, domain errors and the SciPy requirement."""
import sys

import numpy as np
import pytest
import torch
import torch.special as TS
from opcheck import check_op
from twins import compare

import lamina
import lamina.special as S

_UNIT = (0.05, 0.95)   # probabilities
_POS = (0.6, 4.0)      # the gamma family
_ANY = (-2.5, 2.5)

FUNCTIONS = [("erf", _ANY), ("erfc", _ANY), ("erfinv", (-0.95, 0.95)), ("erfcx", _ANY), ("expit", _ANY),
             ("logit", _UNIT), ("log1p", _POS), ("expm1", _ANY), ("exp2", _ANY), ("gammaln", _POS), ("digamma", _POS),
             ("psi", _POS), ("i0", _ANY), ("i0e", _ANY), ("i1", _ANY), ("i1e", _ANY), ("sinc", _ANY), ("entr", _POS),
             ("ndtr", _ANY), ("ndtri", _UNIT), ("log_ndtr", (-6.0, 3.0))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,domain", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_unary_special_functions_match_torch(name, domain, dtype):
    x = np.random.default_rng(0).uniform(*domain, (3, 4))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype is np.float32 else dict(rtol=1e-9, atol=1e-10)
    compare(getattr(S, name), getattr(TS, name), [x], dtype, tol=tol)


def test_compositions_through_the_op_checker():
    rng = np.random.default_rng(1)
    p, y = rng.uniform(0.05, 0.95, (2, 3)), rng.uniform(0.5, 2.0, (2, 3))
    check_op(lambda a: S.logit(a, eps=0.1), lambda a: TS.logit(a, eps=0.1), p)
    check_op(S.xlogy, TS.xlogy, p, y)
    check_op(S.xlog1py, TS.xlog1py, p, y)
    check_op(S.entr, TS.entr, y)
    check_op(S.ndtri, TS.ndtri, p)
    check_op(lambda a: S.multigammaln(a, 3), lambda a: TS.multigammaln(a, 3), y + 1.5)


def test_xlogy_is_zero_where_x_is_zero_and_its_gradient_finite():
    x = lamina.tensor([0.0, 0.0, 2.0], requires_grad=True)
    y = lamina.tensor([0.0, 3.0, 0.5], requires_grad=True)
    tx, ty = torch.tensor([0.0, 0.0, 2.0], requires_grad=True), torch.tensor([0.0, 3.0, 0.5], requires_grad=True)
    out, tout = S.xlogy(x, y), TS.xlogy(tx, ty)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(y.grad.numpy()[1:], ty.grad.numpy()[1:])
    assert y.grad.numpy()[0] == 0.0  # torch: 0/0 = nan there; lamina routes nothing into the x = 0 branch
    assert np.isfinite(x.grad.numpy()[1:]).all()
    np.testing.assert_allclose(S.xlogy(2.0, lamina.tensor([float("nan")])).numpy(), [np.nan])


def test_edge_values_match_torch():
    x = np.array([-1.0, 0.0, 0.5, 1.0])
    for name in ("entr", "sinc", "i1", "i1e", "logit"):
        with np.errstate(all="ignore"):  # logit(0), logit(1) = ∓inf, logit(−1) = nan, as torch's
            got = getattr(S, name)(lamina.tensor(x)).numpy()
        np.testing.assert_allclose(got, getattr(TS, name)(torch.tensor(x)).numpy(), rtol=1e-12, err_msg=name)
    a, ta = lamina.tensor([0.0], requires_grad=True), torch.tensor([0.0], requires_grad=True)
    (S.sinc(a) + S.i1(a) + S.i1e(a)).sum().backward()
    (TS.sinc(ta) + TS.i1(ta) + TS.i1e(ta)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())


def test_polygamma_softmax_family_and_tensor_methods():
    x = np.random.default_rng(2).uniform(0.5, 3.0, (2, 3))
    a, t = lamina.tensor(x), torch.tensor(x)
    for n in (0, 1, 3):
        np.testing.assert_allclose(S.polygamma(n, a).numpy(), TS.polygamma(n, t).numpy(), rtol=1e-8)  # torch: ~5e-10
        np.testing.assert_allclose(a.polygamma(n).numpy(), t.polygamma(n).numpy(), rtol=1e-8)
    np.testing.assert_allclose(S.softmax(a, 1).numpy(), TS.softmax(t, 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(S.log_softmax(a, 0).numpy(), TS.log_softmax(t, 0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(S.logsumexp(a, 1).numpy(), TS.logsumexp(t, 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(S.round(a * 3).numpy(), TS.round(t * 3).numpy())
    for name in ("erf", "erfc", "erfinv", "lgamma", "digamma", "i0", "sinc", "logit"):
        np.testing.assert_allclose(getattr(a * 0.3, name)().numpy(), getattr(t * 0.3, name)().numpy(), rtol=1e-10)
        np.testing.assert_allclose(getattr(lamina, name)(a * 0.3).numpy(), getattr(torch, name)(t * 0.3).numpy(),
                                   rtol=1e-10)
    np.testing.assert_allclose(lamina.mvlgamma(a + 1, 2).numpy(), torch.mvlgamma(t + 1, 2).numpy(), rtol=1e-12)
    np.testing.assert_allclose(lamina.xlogy(a, a).numpy(), torch.xlogy(t, t).numpy(), rtol=1e-12)


def test_bad_arguments_name_the_function(monkeypatch):
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative int"):
        S.polygamma(-1, lamina.ones(2))
    with pytest.raises(ValueError, match=r"multigammaln: all elements must be greater than \(p-1\)/2"):
        S.multigammaln(lamina.tensor([0.5]), 3)
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    with pytest.raises(ImportError, match=r"lamina.special: this function needs scipy \(scipy.special.erf\)"):
        S.erf(lamina.ones(2))


@pytest.mark.parametrize("name", ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0",
                                  "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
                                  "airy_ai"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_undifferentiated_bessel_functions_match_torch(name, dtype):
    x = np.random.default_rng(7).uniform(0.2, 4.0, (3, 4)).astype(dtype)
    out = getattr(S, name)(lamina.tensor(x, requires_grad=True))
    assert out.dtype == np.dtype(dtype) and not out.requires_grad
    np.testing.assert_allclose(out.numpy(), getattr(TS, name)(torch.tensor(x)).numpy(),
                               rtol=2e-5 if dtype is np.float32 else 1e-10, atol=1e-7)


def test_spherical_bessel_j0_values_and_a_gradient_torch_lacks():
    x = np.random.default_rng(8).uniform(0.3, 6.0, (2, 5))
    np.testing.assert_allclose(S.spherical_bessel_j0(lamina.tensor(x)).numpy(),
                               TS.spherical_bessel_j0(torch.tensor(x)).numpy(), rtol=1e-12)
    check_op(S.spherical_bessel_j0, lambda a: torch.sin(a) / a, x)  # torch has no derivative: sin x / x instead
