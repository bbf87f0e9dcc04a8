"""Matrix products: ``matmul`` (vector, matrix, batched, broadcast) and its aliases.

For y = A B the transposed-Jacobian products are  Ā = Ȳ Bᵀ  and  B̄ = Aᵀ Ȳ
(for y = Wx: W̄ = ȳ xᵀ and x̄ = Wᵀ ȳ). Batch dims that were broadcast
are summed back by the engine. A 1-D operand is lifted to a matrix for the rule
and squeezed back, exactly as the forward does.
"""
from __future__ import annotations

from ..autograd.op import Multilinear, promote, run
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor
from .elementwise import _const
from .shape import squeeze, unsqueeze

# The two products of MatMul's backward for each (ta, tb): (first, second, ta, tb) with operands
# numbered 0 = C̄, 1 = A, 2 = B. For C = A B:  Ā = C̄ Bᵀ, B̄ = Aᵀ C̄;  C = Aᵀ B:  Ā = B C̄ᵀ, B̄ = A C̄;
# C = A Bᵀ:  Ā = C̄ B, B̄ = C̄ᵀ A;  C = Aᵀ Bᵀ:  Ā = Bᵀ C̄ᵀ, B̄ = C̄ᵀ Aᵀ.
_GRAD_PRODUCTS = {
    (False, False): ((0, 2, False, True), (1, 0, True, False)),
    (True, False): ((2, 0, False, True), (1, 0, False, False)),
    (False, True): ((0, 2, False, False), (0, 1, True, False)),
    (True, True): ((2, 0, True, True), (0, 1, True, True)),
}


class MatMul(Multilinear):
    """C = op(A) @ op(B) where op transposes the last two dims when ``ta`` / ``tb`` is set.

    Carrying the transposes as flags (BLAS reads a transposed operand without a copy) keeps
    the backward to two products and no transpose ops:
    for C = A B:   Ā = C̄ Bᵀ,  B̄ = Aᵀ C̄."""

    ta = tb = False  # class defaults: set on the instance only when True (a recorded node's dict stays small)

    def __init__(self, ta=False, tb=False):
        if ta:
            self.ta = True
        if tb:
            self.tb = True

    def forward(self, a, b):
        if self.ta:
            a = a.swapaxes(-1, -2)
        if self.tb:
            b = b.swapaxes(-1, -2)
        if a.ndim == 2 and b.ndim == 2 and a.shape[0] * b.shape[1] <= 4096:
            # small matrices: the same product, and ndarray.dot skips the matmul ufunc's dispatch (~0.5 µs);
            # large ones stay on matmul, whose BLAS call on a transposed operand was 2–3 % faster
            return a.dot(b)
        return xp.matmul(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs
        if a._data.ndim == 1 or b._data.ndim == 1:
            return self._backward_vector(g, a, b, na, nb)
        (i, j, ta, tb), (k, m, ta2, tb2) = _GRAD_PRODUCTS[self.ta, self.tb]
        x = (g, a, b)
        return (_mm(x[i], x[j], ta, tb) if na else None), (_mm(x[k], x[m], ta2, tb2) if nb else None)

    def _backward_vector(self, g, a, b, na, nb):
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if na else None), (g * a if nb else None)
        if a.ndim == 1:  # (n,) @ (..., n, m) -> (..., m)
            g2 = unsqueeze(g, -2)
            ga = squeeze(_mm(g2, b, False, True), -2) if na else None
            gb = _mm(unsqueeze(a, -1), g2, False, False) if nb else None
            return ga, gb
        # (..., n, m) @ (m,) -> (..., n)
        g2 = unsqueeze(g, -1)
        ga = _mm(g2, unsqueeze(b, 0), False, False) if na else None
        gb = squeeze(_mm(a, g2, True, False), -1) if nb else None
        return ga, gb


def _mm(a, b, ta, tb):
    return run(MatMul(ta, tb), a, b)


def _check(a: Tensor, b: Tensor):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dim, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    k_a = a._data.shape[-1]
    k_b = b._data.shape[0] if b.ndim == 1 else b._data.shape[-2]
    if k_a != k_b:
        which = "its only dim" if b.ndim == 1 else "its second-to-last dim"
        raise ShapeError(
            f"matmul: cannot multiply shapes {tuple(a.shape)} and {tuple(b.shape)}: the first operand's last dim ({k_a}) "
            f"must equal the second operand's {which} ({k_b})"
        )
    if a.ndim > 2 and b.ndim > 2 and a.shape[:-2] != b.shape[:-2]:
        try:
            xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ShapeError(f"matmul: batch dims {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} of shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)} cannot be broadcast together") from None


def matmul(a, b) -> Tensor:
    a = a if isinstance(a, Tensor) else _const(a, b)
    b = b if isinstance(b, Tensor) else _const(b, a)
    if a._data.dtype is not b._data.dtype:  # PyTorch refuses mixed dtypes; lamina promotes them
        a, b = promote(a, b)
    try:
        return run(MatMul(), a, b)
    except ValueError:  # NumPy refused the shapes: say which and why (``_check``), else re-raise
        _check(a, b)
        raise


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expects two matrices, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: expects two 3-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def mv(a, v):
    if a.ndim != 2 or v.ndim != 1:
        raise ShapeError(f"mv: expects a matrix and a vector, got shapes {tuple(a.shape)} and {tuple(v.shape)}")
    return matmul(a, v)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expects two 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


inner = vdot = dot


def outer(a, b):
    return matmul(unsqueeze(a, 1), unsqueeze(b, 0))


ger = outer
