"""``lamina.special``, as ``torch.special``: error functions, gamma and polygamma, Bessel I₀/I₁, sinc,
logit/expit, xlogy, entr, and the softmax family. The erf, gamma and Bessel values come from SciPy
(``backend.special``); each function is differentiable (its derivative is stated in ``ops/special.py``)."""
from .ops.elementwise import exp2, expm1, log1p, round
from .ops.elementwise import sigmoid as expit
from .ops.reduce import log_softmax, logsumexp, softmax
from .ops.special import (
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
    logit,
    multigammaln,
    ndtr,
    ndtri,
    polygamma,
    sinc,
    xlog1py,
    xlogy,
)
from .ops.special import digamma as psi
from .ops.special import i0 as modified_bessel_i0
from .ops.special import i1 as modified_bessel_i1
from .ops.special import lgamma as gammaln

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "i0e",
           "i1", "i1e", "log1p", "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1",
           "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]
