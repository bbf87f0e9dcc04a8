"""Shape and indexing ops: reshape, permute, broadcast, sum-to-shape, indexing, scatter, cat, pad, flip.

These move values around without arithmetic, so each backward is the inverse move
(reshape back, permute back, sum a broadcast, scatter an index) and each jvp is the
same move applied to the tangent.
"""
from __future__ import annotations

import numbers

from ..autograd.op import LinearMap, broadcast_to, cast, per_sample_if_batched, run, run1
from ..backend import index_add, xp
from ..errors import ShapeError
from ..tensor import Tensor
from .elementwise import _const, where


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _axis(dim: int, ndim: int, op: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
                         f"(expected {-max(ndim, 1)} .. {max(ndim, 1) - 1})")
    return dim % max(ndim, 1)


# ---------------------------------------------------------------------------- reshape / permute
class Reshape(LinearMap):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({x.size} elements) into {tuple(self.shape)}"
                + ("" if -1 in self.shape else f" ({int(xp.prod(self.shape))} elements)")
            ) from None

    def backward(self, g):
        return (reshape(g, self.in_shape),)



def reshape(x: Tensor, *shape) -> Tensor:
    shape = _shape_arg(shape)
    if shape == x._data.shape:
        return x
    return run1(Reshape(shape), x)


def view(x: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
        return cast(x, shape[0])
    return reshape(x, *shape)


def view_as(x, other):
    return reshape(x, other.shape)


reshape_as = view_as


class Permute(LinearMap):
    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, g):
        return (permute(g, tuple(xp.argsort(self.dims))),)



def permute(x: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of a tensor of shape {tuple(x.shape)}")
    dims = tuple(d % x.ndim for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return run1(Permute(dims), x)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    n = x.ndim
    if n < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = _axis(dim0, n, "transpose"), _axis(dim1, n, "transpose")
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, dims)


swapaxes = swapdims = transpose


def t(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}; use transpose or .mT")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def movedim(x: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or sequences), keeping the others in order."""
    nd = x.ndim
    src = [source] if isinstance(source, numbers.Integral) else list(source)
    dst = [destination] if isinstance(destination, numbers.Integral) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: {len(src)} source dims but {len(dst)} destination dims")
    src_axes = [_axis(int(s), nd, "movedim") for s in src]
    dst_axes = [_axis(int(d), nd, "movedim") for d in dst]
    order = [n for n in range(nd) if n not in src_axes]
    for d, s in sorted(zip(dst_axes, src_axes)):
        order.insert(d, s)
    return permute(x, order)


def squeeze(x: Tensor, dim=None) -> Tensor:
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        axes = {_axis(d, x.ndim, "squeeze") for d in dims}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in axes and s == 1))
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    n = x.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a result with {n} dims (expected {-n} .. {n - 1})")
    d = dim % n
    shp = x._data.shape
    return reshape(x, shp[:d] + (1,) + shp[d:])


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = _axis(start_dim, x.ndim, "flatten"), _axis(end_dim, x.ndim, "flatten")
    shp = x._data.shape
    return reshape(x, shp[:s] + (int(xp.prod(shp[s:e + 1])),) + shp[e + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    d = _axis(dim, x.ndim, "unflatten")
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


# ---------------------------------------------------------------------------- broadcasting
def expand(x: Tensor, *sizes) -> Tensor:
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes given for a tensor with {x.ndim} dims (shape {tuple(x.shape)})")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def expand_as(x, other):
    return broadcast_to(x, other.shape)


def broadcast_tensors(*tensors):
    shape = xp.broadcast_shapes(*[t.shape for t in tensors])
    return tuple(broadcast_to(t, shape) for t in tensors)


# ---------------------------------------------------------------------------- indexing
def _normalize_index(index):
    """Tensors and lists become arrays; boolean masks become their integer coordinates."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
        elif isinstance(i, list):
            i = xp.asarray([j._data if isinstance(j, Tensor) else j for j in i])
        if isinstance(i, xp.ndarray):
            if i.dtype == xp.bool_:
                out.extend(xp.nonzero(i))
                continue
            if i.dtype.kind not in "iu":
                raise IndexError(f"index: tensors used as indices must be integer or bool, got {i.dtype}")
        out.append(i)
    return tuple(out)


def _is_basic(index) -> bool:
    return all(isinstance(i, (numbers.Integral, slice)) or i is None or i is Ellipsis for i in index)


class GetItem(LinearMap):
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape = x.shape
        try:
            out = x[self.index]
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {tuple(x.shape)})") from None
        if not isinstance(out, xp.ndarray):  # an int per dim: a 0-d view of the element, as PyTorch's x[i, j]
            out = x[(*self.index, Ellipsis) if isinstance(self.index, tuple) else (self.index, Ellipsis)]
        return out

    def backward(self, g):
        return (index_add_into(g, self.index, self.in_shape),)



class IndexAddInto(LinearMap):
    """Scatter ``g`` into zeros of ``shape`` at ``index``; repeated indices accumulate."""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        z = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            z[self.index] = g
        else:
            index_add(z, self.index, g)
        return z

    def backward(self, gg):
        return (run1(GetItem(self.index), gg),)



class SetItem(LinearMap):
    """y = x with y[index] = v (v broadcast to x[index]'s shape, cast to x's dtype): x̄ = ȳ with zeros at
    ``index``, v̄ = ȳ[index] (summed back to v's shape by the engine). Linear in (x, v) together."""

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        out = x.copy()
        try:
            out[self.index] = v
        except (IndexError, ValueError) as e:
            raise type(e)(f"__setitem__: {e} (tensor of shape {x.shape}, value of shape {xp.shape(v)})") from None
        return out

    def backward(self, g):
        gx = gv = None
        if self.needs[0]:
            keep = xp.ones(g.shape, dtype=g.dtype)
            keep[self.index] = 0
            gx = g * Tensor._make(keep)
        if self.needs[1]:
            gv = run1(GetItem(self.index), g)
        return gx, gv


def setitem(x: Tensor, index, value: Tensor) -> Tensor:
    """A new tensor: ``x`` with ``value`` written at ``index`` (the recorded form of ``x[index] = value``)."""
    return run(SetItem(_normalize_index(index)), x, value)


def index_add_into(g, index, shape):
    return run1(IndexAddInto(index, tuple(shape)), g)


@per_sample_if_batched(1, 'index')
def getitem(x: Tensor, index) -> Tensor:
    return run1(GetItem(_normalize_index(index)), x)


@per_sample_if_batched(2, 'index')
def index_select(x: Tensor, dim: int, index) -> Tensor:
    d = _axis(dim, x.ndim, "index_select")
    idx = index._data if isinstance(index, Tensor) else xp.asarray(index)
    return getitem(x, (slice(None),) * d + (idx,))


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = _axis(dim, x.ndim, "narrow")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def masked_fill(x: Tensor, mask, value) -> Tensor:
    """``value`` where ``mask``, else x; the value is cast to x's dtype (the result keeps it, as in PyTorch)."""
    v = value if isinstance(value, Tensor) else _const(value, x)
    return where(mask, cast(v, x.dtype), x)


class Gather(LinearMap):
    """out[i][j] = x[i][index[i][j]] along ``dim`` (PyTorch's gather)."""

    def __init__(self, dim, index):
        self.dim, self.index = dim, index

    def forward(self, x):
        self.in_shape = x.shape
        # the index may be smaller than x in the other dims (as torch allows): those read x's leading part
        lead = tuple(slice(None) if k == self.dim else slice(0, n) for k, n in enumerate(self.index.shape))
        return xp.take_along_axis(x[lead], self.index, axis=self.dim)

    def backward(self, g):
        return (run1(ScatterAdd(self.dim, self.index, self.in_shape), g),)



class ScatterAdd(LinearMap):
    def __init__(self, dim, index, shape):
        self.dim, self.index, self.shape = dim, index, shape

    def forward(self, g):
        z = xp.zeros(self.shape, dtype=g.dtype)
        idx = list(xp.indices(self.index.shape, sparse=True))
        idx[self.dim] = self.index
        index_add(z, tuple(idx), g)
        return z

    def backward(self, gg):
        return (run1(Gather(self.dim, self.index), gg),)



@per_sample_if_batched(2, 'index')
def gather(x: Tensor, dim: int, index) -> Tensor:
    idx = index._data if isinstance(index, Tensor) else xp.asarray(index)
    d = _axis(dim, x.ndim, "gather")
    if idx.ndim != x.ndim:
        raise ShapeError(f"gather: index has {idx.ndim} dims but the input has {x.ndim} (shapes {tuple(idx.shape)} and {tuple(x.shape)})")
    return run1(Gather(d, idx.astype(xp.int64, copy=False)), x)


@per_sample_if_batched(2, 'index')
def scatter_add(x: Tensor, dim: int, index, src: Tensor) -> Tensor:
    idx = index._data if isinstance(index, Tensor) else xp.asarray(index)
    return x + run1(ScatterAdd(_axis(dim, x.ndim, "scatter_add"), idx, x.shape), src)


# ---------------------------------------------------------------------------- joining
class Cat(LinearMap):
    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        self.sizes = [x.shape[self.dim] for x in xs]
        return xp.concatenate(xs, axis=self.dim)

    def _pieces(self, g):
        out, start = [], 0
        pre = (slice(None),) * self.dim
        for s in self.sizes:
            out.append(run1(GetItem(pre + (slice(start, start + s),)), g))
            start += s
        return out

    def backward(self, g):
        return tuple(p if need else None for p, need in zip(self._pieces(g), self.needs))



def cat(tensors, dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    tensors = [t if isinstance(t, Tensor) else _const(t) for t in tensors]
    nd = tensors[0].ndim
    d = _axis(dim, nd, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != nd or any(a != b for k, (a, b) in enumerate(zip(t.shape, tensors[0].shape)) if k != d):
            raise ShapeError(
                f"cat: tensor {i} has shape {tuple(t.shape)} but tensor 0 has shape {tuple(tensors[0].shape)}; "
                f"all sizes must match except along dim {dim}"
            )
    if len(tensors) == 1:
        return tensors[0]
    return run(Cat(d), *tensors)


concatenate = concat = cat


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: tensor {i} has shape {tuple(t.shape)} but tensor 0 has shape {tuple(tensors[0].shape)}; "
                             "stack needs equal shapes")
    n = tensors[0].ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"stack: dim {dim} is out of range for a result with {n} dims")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t if t.ndim > 1 else unsqueeze(t, 0) for t in tensors], 0)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    d = _axis(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        s = int(split_size_or_sections)
        sizes = [min(s, n - i) for i in range(0, n, s)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} sum to {sum(sizes)} but dim {dim} has size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    n = x.shape[_axis(dim, x.ndim, "chunk")]
    return split(x, -(-n // chunks), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    d = _axis(dim, x.ndim, "unbind")
    return tuple(getitem(x, (slice(None),) * d + (i,)) for i in range(x.shape[d]))


def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile ``x`` (PyTorch's ``repeat``): broadcast to an interleaved shape, then reshape."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: {len(sizes)} repeat counts given for a tensor with {x.ndim} dims")
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + x.shape)
    inter = []
    for s in x.shape:
        inter += [1, s]
    y = reshape(x, inter)
    y = broadcast_to(y, tuple(v for r, s in zip(sizes, x.shape) for v in (r, s)))
    return reshape(y, tuple(r * s for r, s in zip(sizes, x.shape)))


def tile(x: Tensor, dims) -> Tensor:
    return repeat(x, *dims)


def repeat_interleave(x: Tensor, repeats: int, dim=None) -> Tensor:
    if dim is None:
        x, dim = flatten(x), 0
    d = _axis(dim, x.ndim, "repeat_interleave")
    y = unsqueeze(x, d + 1)
    shape = list(y.shape)
    shape[d + 1] = int(repeats)
    y = broadcast_to(y, tuple(shape))
    return flatten(y, d, d + 1)


class Flip(LinearMap):
    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return xp.flip(x, self.dims)

    def backward(self, g):
        return (run1(Flip(self.dims), g),)



def flip(x: Tensor, dims) -> Tensor:
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    return run1(Flip(tuple(_axis(d, x.ndim, "flip") for d in dims)), x)


class Pad(LinearMap):
    """Constant padding; ``widths`` is NumPy's ((before, after), ...) per dim."""

    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def _crop(self):
        return tuple(slice(b, -a if a else None) for b, a in self.widths)

    def forward(self, x):
        return xp.pad(x, self.widths, constant_values=self.value)

    def tangent_op(self):
        return Pad(self.widths, 0)  # the padding constant has no tangent

    def backward(self, g):
        return (run1(GetItem(self._crop()), g),)



_INDEX_PAD = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}  # torch mode -> xp.pad mode


def _index_pad(x: Tensor, widths, mode: str) -> Tensor:
    """Reflect / replicate / circular padding as a gather: each padded dim indexes the input with
    ``xp.pad(arange(n), widths, mode)``, so the gradient adds back onto the source entries."""
    for d, (before, after) in enumerate(widths):
        if not (before or after):
            continue
        n = x.shape[d]
        limit = n - 1 if mode == "reflect" else n
        if max(before, after) > limit or n == 0:
            raise ValueError(f"pad: mode={mode!r} needs padding {'<' if mode == 'reflect' else '<='} the size of "
                             f"the dim; got padding {(before, after)} for dim {d} of size {n}")
        idx = xp.pad(xp.arange(n), (before, after), mode=_INDEX_PAD[mode])  # type: ignore[call-overload]
        x = getitem(x, (slice(None),) * d + (idx,))
    return x


def _check_pad(x: Tensor, pad, mode: str) -> None:
    """Refuse an unknown mode or a pad list that does not fit ``x`` (the errors of ``pad``)."""
    if mode != "constant" and mode not in _INDEX_PAD:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if mode != "constant" and len(pad) // 2 >= x.ndim:
        raise ValueError(f"pad: mode={mode!r} pads at most the last {x.ndim - 1} dims of a {x.ndim}-D input "
                         f"(the first is the batch or channel dim); got {tuple(pad)}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of pad sizes, at most 2 per dim; got {tuple(pad)} "
                         f"for shape {tuple(x.shape)}")


def _pad_widths(pad, ndim: int) -> list:
    """Torch's flat (left, right) list, last dim first, as one (before, after) pair per dim in dim order."""
    widths = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        before, after = pad[2 * k], pad[2 * k + 1]
        if before < 0 or after < 0:
            raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
        widths[ndim - 1 - k] = (int(before), int(after))
    return widths


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) for the last dim first, then the one before.
    ``mode`` 'constant' (with ``value``), 'reflect' (mirror without the edge), 'replicate' (repeat the edge)
    or 'circular' (wrap around)."""
    _check_pad(x, pad, mode)
    widths = _pad_widths(pad, x.ndim)
    if mode != "constant":
        return _index_pad(x, widths, mode)
    return run1(Pad(tuple(widths), value), x)


class Clone(LinearMap):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)



def clone(x: Tensor) -> Tensor:
    return run1(Clone(), x)
