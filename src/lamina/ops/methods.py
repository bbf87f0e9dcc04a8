"""The table of ``Tensor`` methods that the ops provide, and the typing stub made from it.

``tensor.py`` sits below the ops and imports none of them; this table is the one place
where ``x.exp()``, ``x + y``, ``x.reshape(...)``, ``x.backward()`` become methods. The same
table writes ``lamina/_tensor_methods.pyi``, the stub that shows type checkers these
methods (``write_stub()`` rewrites it; a test keeps it in sync).
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

from ..autograd import engine
from ..autograd.op import UNARY, sum_to
from ..tensor import Tensor
from . import convert, linalg, reduce, shape, windows
from . import elementwise as ew
from .inplace import OVERRIDES as _INPLACE
from .inplace import unary_inplace
from .keywords import numpy_names


# --------------------------------------------------------------------- reflected and in-place forms
def _radd(self, other):
    return ew.add(other, self)


def _rsub(self, other):
    return ew.sub(other, self)


def _rmul(self, other):
    return ew.mul(other, self)


def _rtruediv(self, other):
    return ew.div(other, self)


def _rpow(self, other):
    return ew.pow(other, self)


def _rfloordiv(self, other):
    return ew.floor_divide(other, self)


def _rmatmul(self, other):
    return linalg.matmul(other, self)


def _pos(self):
    return self


def _where(self, condition, other):
    return ew.where(condition, self, other)


def _full_transpose(self) -> Tensor:
    return shape.permute(self, tuple(reversed(range(self.ndim))))


def _matrix_transpose(self) -> Tensor:
    return shape.transpose(self, -2, -1)


# --------------------------------------------------------------------- the table
OPERATORS = {
    "__add__": ew.add2, "__radd__": _radd, "__sub__": ew.sub, "__rsub__": _rsub, "__mul__": ew.mul,
    "__rmul__": _rmul, "__truediv__": ew.div2, "__rtruediv__": _rtruediv, "__pow__": ew.pow, "__rpow__": _rpow,
    "__neg__": ew.neg, "__pos__": _pos, "__abs__": ew.abs, "__floordiv__": ew.floor_divide,
    "__rfloordiv__": _rfloordiv, "__mod__": ew.remainder, "__eq__": ew.eq, "__ne__": ew.ne, "__lt__": ew.lt,
    "__le__": ew.le, "__gt__": ew.gt, "__ge__": ew.ge, "__invert__": ew.logical_not, "__and__": ew.logical_and,
    "__or__": ew.logical_or, "__xor__": ew.logical_xor, "__matmul__": linalg.matmul, "__rmatmul__": _rmatmul,
    "__getitem__": shape.getitem,
}

_FUNCTIONS = [
    # elementwise
    ew.add, ew.sub, ew.mul, ew.div, ew.pow, ew.neg, ew.log2, ew.log10, ew.exp2,
    ew.rsqrt, ew.square, ew.reciprocal, ew.tan,
    ew.clamp, ew.clip, ew.maximum, ew.minimum, ew.eq, ew.ne, ew.lt, ew.le, ew.gt, ew.ge, ew.logical_not,
    ew.logical_and, ew.logical_or, ew.sign, ew.floor, ew.ceil, ew.round, ew.trunc, ew.isnan, ew.isinf, ew.isfinite,
    ew.remainder, ew.fmod, ew.floor_divide, ew.equal, ew.allclose, ew.isclose,
    convert.to,
    # shape and indexing
    shape.reshape, shape.view, shape.view_as, shape.reshape_as, shape.permute, shape.transpose, shape.movedim,
    shape.squeeze, shape.unsqueeze, shape.flatten, shape.unflatten, shape.expand, shape.expand_as,
    shape.broadcast_to, shape.index_select, shape.narrow, shape.masked_fill, shape.gather, shape.split,
    shape.chunk, shape.unbind, shape.repeat, shape.tile, shape.repeat_interleave, shape.flip, shape.clone, shape.t,
    sum_to, shape.scatter_add, windows.unfold,
    # reductions
    reduce.sum, reduce.mean, reduce.amax, reduce.amin, reduce.max, reduce.min, reduce.argmax, reduce.argmin,
    reduce.argsort, reduce.sort, reduce.topk, reduce.var, reduce.std, reduce.logsumexp, reduce.softmax,
    reduce.log_softmax, reduce.cumsum, reduce.norm, reduce.prod, reduce.any, reduce.all, reduce.count_nonzero,
    # products
    linalg.matmul, linalg.mm, linalg.bmm, linalg.mv, linalg.dot, linalg.outer,
]

METHODS: dict = {fn.__name__: fn for fn in _FUNCTIONS}
METHODS.update(UNARY)  # every function declared with ``unary`` (x.sinh(), x.atan() …)
METHODS.update({"arctan": ew.atan, "arcsinh": ew.asinh})
METHODS.update({
    "multiply": ew.mul, "subtract": ew.sub, "divide": ew.div, "true_divide": ew.div, "negative": ew.neg,
    "absolute": ew.abs, "greater": ew.gt, "greater_equal": ew.ge, "less": ew.lt, "less_equal": ew.le,
    "not_equal": ew.ne, "swapaxes": shape.transpose, "swapdims": shape.transpose, "where": _where,
    "backward": engine.tensor_backward, "type": convert.type_, "float": convert.to_float,
    "double": convert.to_double, "half": convert.to_half, "long": convert.to_long, "int": convert.to_int,
    "bool": convert.to_bool,
    "relu_": unary_inplace("relu_", ew.relu), "sigmoid_": unary_inplace("sigmoid_", ew.sigmoid),
    "exp_": unary_inplace("exp_", ew.exp), "sqrt_": unary_inplace("sqrt_", ew.sqrt),
    "neg_": unary_inplace("neg_", ew.neg),
})

PROPERTIES = {"T": _full_transpose, "mT": _matrix_transpose}


def bind() -> None:
    """Attach every entry of the table to ``Tensor``."""
    for name, fn in OPERATORS.items():
        setattr(Tensor, name, fn)
    for name, fn in METHODS.items():  # x.sum(axis=1, keepdims=True) as well as x.sum(dim=1, keepdim=True)
        setattr(Tensor, name, numpy_names(fn))
    for name, fn in _INPLACE.items():  # the in-place forms recorded in graphs (declared in tensor.py already)
        setattr(Tensor, name, fn)
    for name, fn in PROPERTIES.items():
        setattr(Tensor, name, property(fn))


# --------------------------------------------------------------------- the typing stub
_STUB_HEADER = '''"""Generated by ``lamina.ops.methods.write_stub()`` from the table in ``lamina/ops/methods.py``: do not edit.

The methods that the ops attach to ``Tensor``, as a type checker sees them."""
import builtins
from typing import Any

from .tensor import Tensor

class TensorMethods:
'''

_KNOWN_TYPES = {"Tensor", "int", "float", "bool", "str", "tuple", "list", "dict", "None", "Any", "..."}


_BUILTIN = re.compile(r"\b(int|float|bool|str|tuple|list|dict)\b")


def _annotation(text) -> str:
    """An annotation string usable in the stub (Any where it names something the stub does not import).
    Builtin types are spelled ``builtins.int`` …: inside the class, ``int`` and ``bool`` are methods."""
    if text is inspect.Parameter.empty or not isinstance(text, str):
        return "Any"
    words = {w for w in text.replace("|", " ").replace("[", " ").replace("]", " ").replace(",", " ").split()}
    return _BUILTIN.sub(r"builtins.\1", text) if words <= _KNOWN_TYPES else "Any"


_UNARY_OPERATORS = {"__neg__", "__pos__", "__abs__", "__invert__"}


def _param(p: inspect.Parameter) -> str:
    prefix = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(p.kind.name, "")
    text = f"{prefix}{p.name}: {_annotation(p.annotation)}"
    return text + (" = ..." if p.default is not inspect.Parameter.empty else "")


def _operator_signature(name: str) -> str:
    """Operators take one operand (``other``) or none, as Python calls them."""
    args = "self" if name in _UNARY_OPERATORS else "self, other: Any"
    ignore = "  # type: ignore[override]" if name in ("__eq__", "__ne__") else ""
    return f"    def {name}({args}) -> Tensor: ...{ignore}"


def _signature(name: str, fn) -> str:
    if name in OPERATORS:
        return _operator_signature(name)
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[1:]  # the first parameter becomes self
    parts = ["self"]
    seen_kw_only = False
    for p in params:
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not seen_kw_only:
            parts.append("*")
            seen_kw_only = True
        seen_kw_only = seen_kw_only or p.kind is inspect.Parameter.VAR_POSITIONAL
        parts.append(_param(p))
    ret = sig.return_annotation
    ret = "Tensor" if ret is inspect.Signature.empty else _annotation(ret)
    return f"    def {name}({', '.join(parts)}) -> {ret}: ..."


def render_stub() -> str:
    lines = [_signature(name, fn) for name, fn in sorted({**OPERATORS, **METHODS}.items())]
    lines += [f"    @property\n    def {name}(self) -> Tensor: ..." for name in sorted(PROPERTIES)]
    return _STUB_HEADER + "\n".join(lines) + "\n"


STUB_PATH = Path(__file__).resolve().parent.parent / "_tensor_methods.pyi"


def write_stub() -> None:
    """Rewrite the stub after changing the table:
    ``python -c "from lamina.ops.methods import write_stub; write_stub()"``."""
    STUB_PATH.write_text(render_stub(), encoding="utf-8")


# --------------------------------------------------------------------- issue 14 (ports): composed ops and matrix functions
from . import compose_extra as _cx  # noqa: E402
from . import linalg_extra as _lx  # noqa: E402


def _logdet(self) -> Tensor:
    """log det A (nan where det A < 0, as PyTorch)."""
    sign, logabs = _lx.slogdet(self)
    return ew.where(sign._data > 0, logabs, float("nan")) if (sign._data <= 0).any() else logabs


METHODS.update({
    "tril": _cx.tril, "triu": _cx.triu, "diagonal": _cx.diagonal, "diag": _cx.diag, "diag_embed": _cx.diag_embed,
    "cumprod": _cx.cumprod, "kron": _cx.kron, "roll": _cx.roll, "lerp": _cx.lerp, "addmm": _cx.addmm,
    "addmv": _cx.addmv, "baddbmm": _cx.baddbmm, "addbmm": _cx.addbmm, "bincount": _cx.bincount,
    "new_zeros": _cx.new_zeros, "new_ones": _cx.new_ones, "new_empty": _cx.new_empty, "new_full": _cx.new_full,
    "new_tensor": _cx.new_tensor, "det": _lx.det, "inverse": _lx.inv, "slogdet": _lx.slogdet, "logdet": _logdet,
})
METHODS.update({
    "trace": _cx.trace, "fliplr": _cx.fliplr, "flipud": _cx.flipud, "rot90": _cx.rot90, "ravel": _cx.ravel,
    "moveaxis": _cx.moveaxis, "diagflat": _cx.diagflat, "addcmul": _cx.addcmul, "addcdiv": _cx.addcdiv,
    "addr": _cx.addr, "ger": _cx.ger, "dist": _cx.dist, "logaddexp": _cx.logaddexp, "hypot": _cx.hypot,
    "deg2rad": _cx.deg2rad, "rad2deg": _cx.rad2deg, "positive": _cx.positive, "cross": _cx.cross,
    "is_nonzero": _cx.is_nonzero, "is_same_size": _cx.is_same_size, "is_complex": _cx.is_complex,
})

# --------------------------------------------------------------------- scatter, index_add, masked_select
from . import scatter as _sc  # noqa: E402

METHODS.update({"scatter": _sc.scatter, "index_add": _sc.index_add, "masked_select": _sc.masked_select})

# --------------------------------------------------------------------- special functions (x.erf(), x.lgamma() …)
from . import special as _sp  # noqa: E402


def _polygamma(self, n: int) -> Tensor:
    """ψ⁽ⁿ⁾(self)."""
    return _sp.polygamma(n, self)


METHODS.update(UNARY)
METHODS.update({"logit": _sp.logit, "xlogy": _sp.xlogy, "polygamma": _polygamma, "mvlgamma": _sp.multigammaln,
                "erfinv": _sp.erfinv, "lgamma": _sp.lgamma, "digamma": _sp.digamma, "i0": _sp.i0})


def _inplace_with_args(name: str, fn):
    """The in-place form of ``fn(self, *args)``: computed out of place, then written into ``self``
    (outside a recorded graph, as ``_inplace``)."""
    def method(self, *args, **kwargs) -> Tensor:
        return self._assign(name, fn(self.detach(), *args, **kwargs)._data)

    method.__name__ = name
    method.__doc__ = f"In-place ``{name[:-1]}`` (outside a recorded graph)."
    return method


METHODS.update({name + "_": _inplace_with_args(name + "_", fn) for name, fn in (
    ("scatter", _sc.scatter), ("scatter_add", shape.scatter_add), ("index_add", _sc.index_add),
    ("masked_fill", shape.masked_fill))})
