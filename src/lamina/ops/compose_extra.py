"""Ops PyTorch programs use that are compositions of lamina's differentiable ops (no new op class):
their gradients, second derivatives and forward-mode tangents come from the ops they are made of.

* ``tril``/``triu``: where(mask, x, 0), mask_ij = [j − i ≤ k] (tril) or [j − i ≥ k] (triu);
* ``diagonal``: x[…, i, i + k] by an index (its adjoint scatters back); ``diag_embed``: x @ E with
  E the constant 0/1 matrix that puts xᵢ at (i + max(0, −k), i + max(0, k)) of an m × m block, m = n + |k|;
* ``cumprod``: the Hillis–Steele scan yᵢ ← yᵢ · y_{i−s} for s = 1, 2, 4, … (⌈log₂ n⌉ products; exact
  with zeros in x, where y/x formulas for the gradient fail);
* ``kron``: (A ⊗ B)[i·p + k, j·q + l] = A_ij B_kl, a broadcast product of interleaved dims, reshaped;
* ``roll``: x[(i − s) mod n]; ``meshgrid``: reshapes and broadcasts;
* ``bincount``: a scatter-add of the weights (1 without weights) into minlength bins;
* ``lerp``: start + w (end − start); ``addmm``/``addmv``/``baddbmm``: β·input + α·(A @ B).
"""
from __future__ import annotations

import numbers

from ..autograd.op import broadcast_to
from ..backend import as_dtype, xp
from ..tensor import Tensor, _to_array
from . import elementwise as ew
from . import shape as sh
from .linalg import bmm, matmul, mm, mv


def _const(a, dtype=None) -> Tensor:
    return Tensor._make(xp.asarray(a, dtype=dtype))


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._make(_to_array(x, None))


def _need_matrix(x: Tensor, op: str) -> None:
    if x.ndim < 2:
        raise RuntimeError(f"{op}: expected a tensor with at least 2 dims, got shape {tuple(x.shape)}")


# ------------------------------------------------------------------------------ triangles and diagonals
def _zero(x: Tensor) -> Tensor:
    """0 in x's dtype, so that tril / triu keep it (bool, int and float32 tensors stay what they are)."""
    return Tensor._make(xp.zeros((), dtype=x.dtype))


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims: x_ij where j − i ≤ diagonal, else 0."""
    _need_matrix(x, "tril")
    n, m = x.shape[-2:]
    return ew.where(xp.tri(n, m, int(diagonal), dtype=bool), x, _zero(x))


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims: x_ij where j − i ≥ diagonal, else 0."""
    _need_matrix(x, "triu")
    n, m = x.shape[-2:]
    return ew.where(~xp.tri(n, m, int(diagonal) - 1, dtype=bool), x, _zero(x))


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """x[…, i, i + offset] over dims (dim1, dim2), as a new last dim."""
    _need_matrix(x, "diagonal")
    d1, d2 = sh._axis(dim1, x.ndim, "diagonal"), sh._axis(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 must differ, both are {dim1}")
    y = sh.movedim(x, (d1, d2), (-2, -1))
    n, m = y.shape[-2:]
    k = int(offset)
    length = max(0, min(n, m - k) if k >= 0 else min(n + k, m))
    i = xp.arange(length)
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    return sh.getitem(y, (Ellipsis, rows, cols))


def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose ``offset`` diagonal (over dims dim1, dim2 of the result) holds the last dim of x."""
    if x.ndim < 1:
        raise RuntimeError("diag_embed: expected a tensor with at least 1 dim, got a 0-d tensor")
    k = int(offset)
    n = x.shape[-1]
    m = n + abs(k)
    emb = xp.zeros((n, m * m), dtype=x.dtype)
    i = xp.arange(n)
    emb[i, (i + max(0, -k)) * m + i + max(0, k)] = 1
    out = sh.reshape(matmul(x, _const(emb)), (*x.shape[:-1], m, m))
    nd = out.ndim
    d1, d2 = sh._axis(dim1, nd, "diag_embed"), sh._axis(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: dim1 and dim2 must differ, both are {dim1}")
    if (d1, d2) == (nd - 2, nd - 1):
        return out
    if d1 > d2:  # the offset counts from dim1's index to dim2's: swap the roles by transposing
        d1, d2 = d2, d1
        out = sh.transpose(out, -2, -1)
    return sh.movedim(out, (nd - 2, nd - 1), (d1, d2))


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """A vector → the square matrix with it on diagonal ``diagonal``; a matrix → that diagonal."""
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(x.shape)}")


# ------------------------------------------------------------------------------ scans, products, shifts
def cumprod(x: Tensor, dim: int, dtype=None) -> Tensor:
    """yᵢ = x₀ x₁ ⋯ xᵢ along ``dim``: log₂ n rounds of yᵢ ← yᵢ · y_{i−s} (s = 1, 2, 4, …; y_{<0} = 1)."""
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x * 1
    d = sh._axis(dim, x.ndim, "cumprod")
    n = x.shape[d]
    y, s = x, 1
    while s < n:
        ones_shape = list(x.shape)
        ones_shape[d] = s
        y = y * sh.cat([_const(xp.ones(ones_shape, dtype=y.dtype)), sh.narrow(y, d, 0, n - s)], d)
        s *= 2
    return y if y is not x else x * 1


def kron(a: Tensor, b: Tensor) -> Tensor:
    """The Kronecker product: (A ⊗ B)[i·p + k, …] = A_i… B_k… over every dim (the fewer-dim one padded with 1s)."""
    a, b = _as_tensor(a), _as_tensor(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    ai = sh.reshape(a, tuple(v for s in sa for v in (s, 1)))
    bi = sh.reshape(b, tuple(v for s in sb for v in (1, s)))
    return sh.reshape(ai * bi, tuple(p * q for p, q in zip(sa, sb)))


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """out[(i + s) mod n] = x[i] along each dim of ``dims`` (the flattened tensor without dims)."""
    if dims is None:
        if not isinstance(shifts, numbers.Integral):
            if len(shifts) != 1:
                raise RuntimeError(f"roll: {len(shifts)} shifts need as many dims, got dims=None")
            shifts = shifts[0]
        return sh.reshape(roll(sh.reshape(x, (-1,)), int(shifts), 0), tuple(x.shape))
    shifts = [shifts] if isinstance(shifts, numbers.Integral) else list(shifts)
    dims = [dims] if isinstance(dims, numbers.Integral) else list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: got {len(shifts)} shifts but {len(dims)} dims; they must match")
    for s, dm in zip(shifts, dims):
        d = sh._axis(dm, x.ndim, "roll")
        n = x.shape[d]
        if n and int(s) % n:
            x = sh.index_select(x, d, (xp.arange(n) - int(s)) % n)
    return x


def meshgrid(*tensors, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Grids over the 1-D inputs: with 'ij' output k varies along dim k; 'xy' swaps the first two dims."""
    ts = _meshgrid_inputs(tensors, indexing)
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    full = tuple(t.shape[0] for t in ts)
    out = []
    for k, t in enumerate(ts):
        view = [1] * len(ts)
        view[k] = full[k]
        out.append(broadcast_to(sh.reshape(t, tuple(view)), full))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def _meshgrid_inputs(tensors, indexing: str) -> list[Tensor]:
    """meshgrid's inputs (given one by one or as one list) as 1-D tensors, checked."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [_as_tensor(t) for t in tensors]
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0-D or 1-D tensors, got shape {tuple(t.shape)}")
    return [sh.reshape(t, (-1,)) for t in ts]


def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """out_b = Σᵢ [xᵢ = b] wᵢ (wᵢ = 1 without weights) for b < max(max x + 1, minlength)."""
    idx = x._data if isinstance(x, Tensor) else xp.asarray(x)
    if idx.ndim != 1 or idx.dtype.kind not in "iub":
        raise RuntimeError(f"bincount: expected a 1-D tensor of integers, got shape {tuple(idx.shape)} dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise RuntimeError(f"bincount: the values must be non-negative, got min {int(idx.min())}")
    n = max(int(idx.max()) + 1 if idx.size else 0, int(minlength))
    if weights is None:
        return Tensor._make(xp.bincount(idx, minlength=n).astype(xp.int64))
    w = _as_tensor(weights)
    if w.shape != idx.shape:
        raise RuntimeError(f"bincount: weights of shape {tuple(w.shape)} must match the input's {tuple(idx.shape)}")
    dt = w.dtype if w.dtype.kind == "f" else xp.dtype(xp.float64)
    return sh.scatter_add(_const(xp.zeros(n, dtype=dt)), 0, idx, w.to(dt))


def lerp(start: Tensor, end: Tensor, weight) -> Tensor:
    """start + weight · (end − start)."""
    return start + weight * (end - start)


def _scaled_sum(op: str, inp, prod: Tensor, beta, alpha) -> Tensor:
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:  # as PyTorch: input is ignored (nan and inf in it do not propagate)
        return broadcast_to(prod * 1, prod.shape) if isinstance(prod, Tensor) else prod
    inp = _as_tensor(inp)
    return (inp if beta == 1 else inp * beta) + prod


def addmm(input, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """β·input + α·(mat1 @ mat2)."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """β·input + α·(mat @ vec)."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def baddbmm(input, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """β·input + α·(batch1 @ batch2), batch by batch."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """β·input + α·Σ_b batch1[b] @ batch2[b]."""
    return _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


# ------------------------------------------------------------------------------ Tensor.new_* (same dtype)
def _sizes(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _new_leaf(arr, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr)
    return t.requires_grad_(True) if requires_grad else t


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype (unless ``dtype``)."""
    from ..backend import check_device
    check_device(device)
    return _new_leaf(xp.zeros(_sizes(size), dtype=as_dtype(dtype) or self.dtype), requires_grad)


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``size`` with this tensor's dtype (unless ``dtype``)."""
    from ..backend import check_device
    check_device(device)
    return _new_leaf(xp.ones(_sizes(size), dtype=as_dtype(dtype) or self.dtype), requires_grad)


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` with this tensor's dtype (unless ``dtype``)."""
    from ..backend import check_device
    check_device(device)
    return _new_leaf(xp.empty(_sizes(size), dtype=as_dtype(dtype) or self.dtype), requires_grad)


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere in ``size``, with this tensor's dtype (unless ``dtype``)."""
    from ..backend import check_device
    check_device(device)
    return _new_leaf(xp.full(_sizes((size,)), fill_value, dtype=as_dtype(dtype) or self.dtype), requires_grad)


def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` as a new leaf with this tensor's dtype (unless ``dtype``)."""
    from ..backend import check_device
    check_device(device)
    arr = xp.array(data._data if isinstance(data, Tensor) else data, dtype=as_dtype(dtype) or self.dtype)
    return _new_leaf(arr, requires_grad)


# ------------------------------------------------------------------------------ more compositions
def trace(x: Tensor) -> Tensor:
    """tr X = Σᵢ x_ii of a matrix."""
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got shape {tuple(x.shape)}")
    return diagonal(x).sum()


def fliplr(x: Tensor) -> Tensor:
    """Reverse dim 1 (left ↔ right)."""
    if x.ndim < 2:
        raise RuntimeError(f"fliplr: expected at least 2 dims, got shape {tuple(x.shape)}")
    return sh.flip(x, 1)


def flipud(x: Tensor) -> Tensor:
    """Reverse dim 0 (up ↔ down)."""
    if x.ndim < 1:
        raise RuntimeError("flipud: expected at least 1 dim, got a 0-d tensor")
    return sh.flip(x, 0)


def rot90(x: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by k·90° in the plane of ``dims`` (from the first towards the second): k = 1 is flip(dim1) then
    a transpose of the two dims."""
    if len(dims) != 2:
        raise RuntimeError(f"rot90: dims must name 2 dims, got {dims}")
    d0, d1 = (sh._axis(d, x.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: the two dims must differ, got {dims}")
    k = int(k) % 4
    if k == 1:
        return sh.transpose(sh.flip(x, d1), d0, d1)
    if k == 2:
        return sh.flip(x, (d0, d1))
    if k == 3:
        return sh.flip(sh.transpose(x, d0, d1), d1)
    return x * 1


def ravel(x: Tensor) -> Tensor:
    return sh.reshape(x, (-1,))


def moveaxis(x: Tensor, source, destination) -> Tensor:
    return sh.movedim(x, source, destination)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,))."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(sh.reshape(t, (1,)) if t.ndim == 0 else t for t in ts)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: () → (1, 1), (n,) → (1, n)."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(sh.reshape(t, (1,) * (2 - t.ndim) + tuple(t.shape)) if t.ndim < 2 else t for t in ts)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: () → (1, 1, 1), (n,) → (1, n, 1), (m, n) → (m, n, 1)."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors

    def up(t):
        if t.ndim == 0:
            return sh.reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return sh.reshape(t, (1, t.shape[0], 1))
        if t.ndim == 2:
            return sh.unsqueeze(t, -1)
        return t
    out = tuple(up(t) for t in ts)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


def column_stack(tensors) -> Tensor:
    """Vectors as columns (n,) → (n, 1), then concatenated along dim 1."""
    return sh.cat([sh.reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors], 1)


def dstack(tensors) -> Tensor:
    """Concatenate along dim 2 after ``atleast_3d``."""
    return sh.cat(list(atleast_3d(list(tensors))), 2)


def diagflat(x: Tensor, offset: int = 0) -> Tensor:
    """The flattened input on diagonal ``offset`` of a square matrix."""
    return diag_embed(sh.reshape(x, (-1,)), offset)


def block_diag(*tensors) -> Tensor:
    """The matrices (0-d and 1-d inputs as 1 × n rows) along the diagonal of one block matrix, zeros elsewhere."""
    ms = [sh.reshape(t, (1, -1)) if t.ndim < 2 else t for t in (_as_tensor(t) for t in tensors)]
    cols = sum(m.shape[1] for m in ms)
    rows, left = [], 0
    for m in ms:
        pieces = []
        if left:
            pieces.append(_const(xp.zeros((m.shape[0], left), dtype=m.dtype)))
        pieces.append(m)
        right = cols - left - m.shape[1]
        if right:
            pieces.append(_const(xp.zeros((m.shape[0], right), dtype=m.dtype)))
        rows.append(sh.cat(pieces, 1) if len(pieces) > 1 else m)
        left += m.shape[1]
    return sh.cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """Every tuple (a, b, …) of the inputs' elements, in row-major order, as the rows of a matrix."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return sh.stack([sh.reshape(g, (-1,)) for g in grids], 1)


def chain_matmul(*matrices) -> Tensor:
    out = matrices[0]
    for m in matrices[1:]:
        out = matmul(out, m)
    return out


def addcmul(input: Tensor, t1: Tensor, t2: Tensor, *, value=1) -> Tensor:
    """input + value · t1 · t2."""
    return input + t1 * t2 * value if value != 1 else input + t1 * t2


def addcdiv(input: Tensor, t1: Tensor, t2: Tensor, *, value=1) -> Tensor:
    """input + value · t1 / t2."""
    return input + t1 / t2 * value if value != 1 else input + t1 / t2


def addr(input, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """β·input + α·(vec1 ⊗ vec2)."""
    return _scaled_sum("addr", input, sh.unsqueeze(vec1, 1) * sh.unsqueeze(vec2, 0), beta, alpha)


def ger(vec1: Tensor, vec2: Tensor) -> Tensor:
    """The outer product vec1 vec2ᵀ."""
    return sh.unsqueeze(vec1, 1) * sh.unsqueeze(vec2, 0)


def dist(x: Tensor, y: Tensor, p=2) -> Tensor:
    """‖x − y‖_p over every element."""
    from .reduce import norm
    return norm(x - y, p)


def cdist(x1: Tensor, x2: Tensor, p=2.0) -> Tensor:
    """Pairwise distances d_ij = ‖x1ᵢ − x2ⱼ‖_p between the rows of (…, m, d) and (…, n, d)."""
    from .reduce import norm
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: the inputs need the same last dim, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    return norm(sh.unsqueeze(x1, -2) - sh.unsqueeze(x2, -3), p, -1)


def logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """log(eᵃ + eᵇ) = max(a, b) + log1p(e^{−|a − b|}) (no overflow)."""
    return ew.maximum(a, b) + ew.log1p(ew.exp(-ew.abs(a - b)))


def hypot(a: Tensor, b: Tensor) -> Tensor:
    """√(a² + b²)."""
    return ew.sqrt(a * a + b * b)


def deg2rad(x: Tensor) -> Tensor:
    return x * (3.141592653589793 / 180.0)


def rad2deg(x: Tensor) -> Tensor:
    return x * (180.0 / 3.141592653589793)


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """other − alpha · input."""
    return other - (input * alpha if alpha != 1 else input)


def positive(x: Tensor) -> Tensor:
    return x


def cross(a: Tensor, b: Tensor, dim=None) -> Tensor:
    """a × b of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    if dim is None:
        dim = next((i for i, s in enumerate(a.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dim of size 3 in shape {tuple(a.shape)}")
    d = sh._axis(dim, a.ndim, "cross")
    if a.shape[d] != 3:
        raise RuntimeError(f"cross: dim {dim} must have size 3, got {a.shape[d]}")
    a0, a1, a2 = sh.unbind(a, d)
    b0, b1, b2 = sh.unbind(b, d)
    return sh.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle (j − i ≤ offset), row by row."""
    from ..backend import check_device
    check_device(device)
    r, c = xp.nonzero(xp.tri(row, col, offset, dtype=bool))
    return Tensor._make(xp.stack([r, c]).astype(as_dtype(dtype) or xp.int64))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) row and column indices of the upper triangle (j − i ≥ offset), row by row."""
    from ..backend import check_device
    check_device(device)
    r, c = xp.nonzero(~xp.tri(row, col, offset - 1, dtype=bool))
    return Tensor._make(xp.stack([r, c]).astype(as_dtype(dtype) or xp.int64))


def is_nonzero(x: Tensor) -> bool:
    if x.numel() != 1:
        raise RuntimeError(f"is_nonzero: expected a tensor of one value, got shape {tuple(x.shape)}")
    return bool(x.item() != 0)


def is_same_size(x: Tensor, other: Tensor) -> bool:
    return tuple(x.shape) == tuple(other.shape)


def is_complex(x: Tensor) -> bool:
    return x.dtype.kind == "c"
