"""lamina: a deep-learning library built from first principles on NumPy.

The API follows PyTorch: ``import lamina as torch``-style code should run with few changes.
"""
import builtins as _builtins

from . import autograd, backend, func, nn, onnx, ops, optim, utils
from ._promote import can_cast, promote_types, result_type
from ._size import Size
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .autograd import functional as _autograd_functional
from .autograd.op import UNARY as _UNARY
from .backend import (
    Generator,
    cuda,
    default_generator,
    device,
    float16,
    float32,
    float64,
    get_default_dtype,
    get_rng_state,
    initial_seed,
    int8,
    int16,
    int32,
    int64,
    manual_seed,
    seed,
    set_default_dtype,
    set_rng_state,
    uint8,
)
from .backend import bool_ as bool
from .errors import ShapeError
from .func import vmap  # torch.vmap
from .io import load, save
from .ops.elementwise import (
    abs,
    absolute,
    add,
    allclose,
    ceil,
    clamp,
    clip,
    cos,
    div,
    divide,
    eq,
    equal,
    exp,
    exp2,
    expm1,
    floor,
    floor_divide,
    fmod,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    multiply,
    ne,
    neg,
    negative,
    not_equal,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    subtract,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
)
from .ops.linalg import bmm, dot, inner, matmul, mm, mv, outer
from .ops.reduce import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    count_nonzero,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    softmax,
    sort,
    std,
    std_mean,
    sum,
    topk,
    var,
    var_mean,
)
from .ops.shape import (
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    expand,
    flatten,
    flip,
    gather,
    hstack,
    index_select,
    masked_fill,
    movedim,
    narrow,
    permute,
    repeat_interleave,
    reshape,
    scatter_add,
    split,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    t,
    tile,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
    vstack,
)
from .tensor import (
    Parameter,
    Tensor,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)

# every unary function declared with ``ops.elementwise.unary`` (lamina.sinh, lamina.atan …), with its aliases
globals().update({name: fn for name, fn in _UNARY.items() if name not in globals()})
arctan, arcsinh = globals()["atan"], globals()["asinh"]

half, double, long = float16, float64, int64
float = float32
int = int32

__version__ = "0.1.0"


def is_floating_point(input) -> _builtins.bool:
    return input.is_floating_point()


def numel(input) -> _builtins.int:
    return input.numel()


# ------------------------------------------------------------------ PyTorch boilerplate (issue 14)
# `torch.accelerator`, `torch.backends.cudnn`, `torch.utils.data` and `torch.utils.benchmark` reachable after `import lamina`
from . import (  # noqa: E402
    accelerator,
    backends,
    linalg,
    special,
)
from .linalg import matrix_power  # noqa: E402
from .linalg import pinv as pinverse  # noqa: E402
from .ops.compose_extra import (  # noqa: E402  # noqa: E402
    addbmm,
    addcdiv,
    addcmul,
    addmm,
    addmv,
    addr,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    baddbmm,
    bincount,
    block_diag,
    cartesian_prod,
    cdist,
    chain_matmul,
    column_stack,
    cross,
    cumprod,
    deg2rad,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    dist,
    dstack,
    fliplr,
    flipud,
    ger,
    hypot,
    is_complex,
    is_nonzero,
    is_same_size,
    kron,
    lerp,
    logaddexp,
    meshgrid,
    moveaxis,
    positive,
    rad2deg,
    ravel,
    roll,
    rot90,
    rsub,
    trace,
    tril,
    tril_indices,
    triu,
    triu_indices,
)

# torch's extra keywords on every op function above: axis=/keepdims= for dim=/keepdim=, and out=
from .ops.keywords import torch_keywords as _torch_keywords  # noqa: E402
from .ops.linalg_extra import det, einsum, slogdet  # noqa: E402
from .ops.linalg_extra import inv as inverse  # noqa: E402
from .ops.methods import _logdet as logdet  # noqa: E402
from .ops.scatter import index_add, masked_select, scatter  # noqa: E402
from .ops.special import digamma, erfinv, i0, lgamma, logit, polygamma, xlogy  # noqa: E402
from .ops.special import multigammaln as mvlgamma  # noqa: E402
from .tensor import randint_like  # noqa: E402
from .utils import benchmark as _utils_benchmark  # noqa: E402
from .utils import data as _utils_data  # noqa: E402

# last: torch's extra keywords on every op function above (axis=/keepdims= for dim=/keepdim=, and out=)
_torch_keywords(globals())
