"""``lamina.special``, as ``torch.special``: error functions, gamma and polygamma, Bessel I₀/I₁, sinc,
logit/expit, xlogy, entr, log Φ, the softmax family, and (as constants,
undifferentiated as in PyTorch) the Bessel functions J, Y, K and Airy Ai. The erf, gamma and Bessel values come from SciPy
(``backend.special``); each function is differentiable (its derivative is stated in ``ops/special.py``)."""
from .ops.elementwise import exp2, expm1, log1p, round
from .ops.elementwise import sigmoid as expit
from .ops.reduce import log_softmax, logsumexp, softmax
from .ops.special import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    digamma,
    entr,
    erf,
    erfc,
    erfcx,
    erfinv,
    i0,
    i0e,
    i1,
    i1e,
    log_ndtr,
    logit,
    modified_bessel_k0,
    modified_bessel_k1,
    multigammaln,
    ndtr,
    ndtri,
    polygamma,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    sinc,
    spherical_bessel_j0,
    xlog1py,
    xlogy,
)
from .ops.special import digamma as psi
from .ops.special import i0 as modified_bessel_i0
from .ops.special import i1 as modified_bessel_i1
from .ops.special import lgamma as gammaln

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "log_ndtr", "modified_bessel_k0",
           "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
           "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "i0e",
           "i1", "i1e", "log1p", "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1",
           "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]
