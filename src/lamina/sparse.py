"""Row-sparse gradients: the gradient of an embedding lookup touches only the looked-up rows.

``RowSparseGrad`` stands for a (num_rows, dim) matrix that is zero except at the row ids
``indices`` (an int64 array, repeats allowed), where it holds ``values()`` (len(indices), dim).
An ``Embedding(sparse=True)`` puts one in ``weight.grad``, so a step costs O(batch · dim) instead
of O(vocabulary · dim); optimizers that support it (SGD, Adagrad, SparseAdam) update only those rows.

Like PyTorch's sparse gradients it is honest about what it stands for: ``is_sparse`` is True,
``shape``, ``numel()``, ``len()`` and ``dtype`` are those of the dense matrix, ``to_dense()`` and
``coalesce()`` convert it, and any other op (``g * 2``, ``g.sum()``, ``g.numpy()``) sees the dense
matrix: it is materialised for that op, never used with the shape of its stored rows.

The entries may be kept *factored* (``RowSparseGrad.factored``): entry k is coef[k] times a source row,
one source row shared by ``per`` consecutive entries. The gradient of a batch of dot-product scores
s[j, t] = u_{ids[j, t]} · v_j in the u's is such a sum (coef = ∂ℓ/∂s, source rows v_j), and SGD applies
it as one sparse product into the matrix (``add_into``) without forming its (len(ids), dim) rows.

``coalesce_rows`` is a segmented sum: sort the ids, then one product S·V of a sparse 0/1 matrix S
(a row per distinct id, a one in the columns of its occurrences) with the rows V, by SciPy's CSR
kernel (``lamina.backend.segment_sums``; 2.7x faster than the NumPy form below at 2,048 Zipf-distributed ids of
dim 100, 3.7x at 12,288). Without SciPy the same sums come from whole-array NumPy operations
(``xp.add.at`` on rows is another 5x slower):

* ids seen once: their rows are copied;
* ids seen ``c`` times (c <= ``max_bucket``), all together: their rows are gathered into a
  (groups, c, dim) block and summed over axis 1;
* ids seen more often (the frequent words of a corpus): one ``np.add.reduceat`` over their
  gathered rows (few, long segments: where ``reduceat`` is fast).
"""
from __future__ import annotations

from typing import Any

from .backend import add_rows, segment_sums, xp
from .tensor import Tensor


def coalesce_rows(indices, values, max_bucket: int = 8, return_counts: bool = False):
    """``(rows, summed)``: the distinct ids of ``indices`` in increasing order and, for each, the
    sum of its rows of ``values`` (shape (len(indices), ...); float dtype kept). ``return_counts``: also how
    many times each id occurs, ``(rows, summed, counts)``."""
    idx = xp.asarray(indices).reshape(-1)
    n = idx.size
    vals = xp.asarray(values)
    if vals.shape[:1] != (n,):
        raise ValueError(f"coalesce_rows: {n} indices but values of shape {tuple(vals.shape)}")
    if n == 0:
        rows, summed, starts = idx.astype(xp.int64), vals.copy(), idx[:0]
    else:
        order = xp.argsort(idx)
        srt = idx[order]
        new = xp.empty(n, dtype=bool)
        new[0] = True
        xp.not_equal(srt[1:], srt[:-1], out=new[1:])
        starts = xp.flatnonzero(new)
        rows = srt[starts].astype(xp.int64, copy=False)
        summed = _sums(vals, order, starts, max_bucket)
    if not return_counts:
        return rows, summed
    return rows, summed, xp.diff(starts, append=n)


def _sums(vals, order, starts, max_bucket: int):
    """The summed rows of each run of equal ids (``starts``: where each run begins in the sorted ``order``)."""
    n, m = order.size, starts.size
    if m == n:  # no repeated id
        return vals[order]
    flat = vals.reshape(n, -1)
    summed = segment_sums(flat, order, starts)
    if summed is None:
        summed = _bucket_sums(flat, order, starts, max_bucket)
    return summed.reshape((m,) + vals.shape[1:])


def _bucket_sums(flat, order, starts, max_bucket: int):
    """``segment_sums`` in NumPy: segments grouped by length, a (groups, c, dim) sum for short ones, one
    ``add.reduceat`` over the long ones."""
    n, m = flat.shape[0], starts.size
    counts = xp.empty(m, dtype=xp.int64)
    xp.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = n - starts[-1]
    out = xp.empty((m, flat.shape[1]), dtype=flat.dtype)
    by_count = xp.argsort(counts, kind="stable")  # groups of equal count side by side
    sc = counts[by_count]
    lo = 0
    for hi in (*(xp.flatnonzero(sc[1:] != sc[:-1]) + 1).tolist(), m):
        c, g = int(sc[lo]), by_count[lo:hi]
        if c == 1:
            out[g] = flat[order[starts[g]]]
        elif c <= max_bucket:
            out[g] = flat[order[starts[g][:, None] + xp.arange(c)]].sum(axis=1)
        else:  # every remaining group is heavy: one reduceat over their rows
            g, hc = by_count[lo:], sc[lo:]
            seg = xp.zeros(g.size, dtype=xp.int64)
            xp.cumsum(hc[:-1], out=seg[1:])
            pos = xp.repeat(starts[g] - seg, hc) + xp.arange(int(seg[-1] + hc[-1]))
            out[g] = xp.add.reduceat(flat[order[pos]], seg, axis=0)
            break
        lo = hi
    return out


class RowSparseGrad(Tensor):
    __slots__ = ("indices", "_rows", "_coef", "dense_shape")
    indices: Any  # int64 row ids (n,), repeats allowed
    _rows: Any    # (r, dim) source rows; entry k holds coef[k] · _rows[k // (n / r)]
    _coef: Any    # (n,) entry coefficients, or None (all ones)
    dense_shape: tuple

    @classmethod
    def make(cls, indices, values, dense_shape: tuple) -> RowSparseGrad:
        """The gradient whose entry k adds the row ``values[k]`` into row ``indices[k]``."""
        t = cls._new(indices, values, None, dense_shape)
        if values.shape[:1] != t.indices.shape or tuple(values.shape[1:]) != t.dense_shape[1:]:
            raise ValueError(f"RowSparseGrad: {t.indices.size} row ids with values of shape {tuple(values.shape)} "
                             f"do not describe rows of a matrix of shape {t.dense_shape}")
        return t

    @classmethod
    def factored(cls, indices, coef, rows, dense_shape: tuple) -> RowSparseGrad:
        """The gradient Σ_k e_{indices[k]} ⊗ coef[k] · rows[k // per], per = len(indices) / len(rows): each row
        of ``rows`` (r, dim) scaled into ``per`` consecutive entries, kept factored (the (len(indices), dim) rows
        are formed only if something asks for ``values()``). It is the gradient of a batch of scores
        s[j, t] = u_{indices[j, t]} · rows[j] with coefficients ∂ℓ/∂s = coef, as a (r·per)-entry sum."""
        t = cls._new(indices, rows, None if coef is None else xp.asarray(coef).reshape(-1), dense_shape)
        n, r = t.indices.size, rows.shape[0]
        if rows.ndim != len(t.dense_shape) or tuple(rows.shape[1:]) != t.dense_shape[1:] or r == 0 or n % r \
                or (t._coef is not None and t._coef.shape != (n,)):
            raise ValueError(f"RowSparseGrad.factored: {n} row ids, {None if coef is None else xp.size(coef)} "
                             f"coefficients and source rows of shape {tuple(rows.shape)} do not describe rows of a "
                             f"matrix of shape {t.dense_shape} (each source row used len(ids) / len(rows) times)")
        return t

    @classmethod
    def _new(cls, indices, rows, coef, dense_shape) -> RowSparseGrad:
        t = object.__new__(cls)
        t.requires_grad, t.grad, t._node, t._tangent, t._hooks, t._version = False, None, None, None, None, 0
        t.indices = xp.asarray(indices, dtype=xp.int64).reshape(-1)
        t._rows, t._coef, t.dense_shape = rows, coef, tuple(dense_shape)
        return t

    @property
    def _values(self):
        """The entries' rows (len(indices), dim), formed (once) when the gradient is factored."""
        rows, coef = self._rows, self._coef
        n = self.indices.size
        if coef is None and rows.shape[0] == n:
            return rows
        per = n // rows.shape[0]
        vals = rows if per == 1 else xp.repeat(rows, per, axis=0)
        if coef is not None:
            vals = vals * coef.astype(vals.dtype, copy=False).reshape((n,) + (1,) * (rows.ndim - 1))
        self._rows, self._coef = vals, None
        return vals

    @_values.setter
    def _values(self, values):
        if values.shape[:1] != self.indices.shape:
            raise ValueError(f"RowSparseGrad: {self.indices.size} row ids but values of shape {tuple(values.shape)}")
        self._rows, self._coef = values, None

    def scaled(self, factors) -> RowSparseGrad:
        """The gradient with entry k scaled by ``factors[k]`` (kept factored; nothing is formed)."""
        f = xp.asarray(factors).reshape(-1)
        coef = f if self._coef is None else self._coef * f
        return RowSparseGrad._new(self.indices, self._rows, coef, self.dense_shape)

    def add_into(self, target, alpha: float = 1.0) -> None:
        """``target += alpha · self`` in place on a dense (rows, dim) array: one sparse product, no copies of the
        rows (``lamina.backend.add_rows``)."""
        if self.indices.size == 0:
            return
        rows = self._rows
        if rows.ndim != 2:
            rows = self._values.reshape(self.indices.size, -1)
            target = target.reshape(target.shape[0], -1)
        add_rows(target, self.indices, rows, self._coef, alpha)

    is_sparse = True

    @property
    def _data(self):
        """The dense matrix: what every op that does not know the row-sparse form computes on."""
        return self._dense()

    @property
    def shape(self):
        return self.dense_shape

    @property
    def ndim(self):
        return len(self.dense_shape)

    @property
    def dtype(self):
        return self._rows.dtype

    def size(self, dim=None):
        return self.dense_shape if dim is None else self.dense_shape[dim]

    def dim(self) -> int:
        return len(self.dense_shape)

    def numel(self) -> int:
        n = 1
        for s in self.dense_shape:
            n *= s
        return n

    def __len__(self):
        return self.dense_shape[0]

    def detach(self) -> RowSparseGrad:
        return RowSparseGrad._new(self.indices, self._rows, self._coef, self.dense_shape)

    def values(self) -> Tensor:
        """The stored rows, (len(indices), dim)."""
        return Tensor._make(self._values)

    def is_coalesced(self) -> bool:
        return bool(self.indices.size < 2 or (self.indices[1:] > self.indices[:-1]).all())

    def coalesce(self) -> RowSparseGrad:
        """One entry per row, sorted by row id: repeated ids are summed."""
        rows, vals = coalesce_rows(self.indices, self._values)
        return RowSparseGrad.make(rows, vals, self.dense_shape)

    def cleared(self) -> RowSparseGrad:
        """The zero gradient of the same matrix (no rows), as ``zero_grad(set_to_none=False)`` leaves it."""
        return RowSparseGrad._new(self.indices[:0], self._rows[:0], None, self.dense_shape)

    def _dense(self):
        out = xp.zeros(self.dense_shape, dtype=self._rows.dtype)
        self.add_into(out)
        return out

    def to_dense(self) -> Tensor:
        return Tensor._make(self._dense())

    def numpy(self, force: bool = False):
        return self._dense()

    def __array__(self, dtype=None, copy=None):
        d = self._dense()
        return d if dtype is None else d.astype(dtype)

    def add(self, other):
        """self + other: row-sparse when both are, else the dense sum."""
        if isinstance(other, RowSparseGrad):
            return RowSparseGrad.make(xp.concatenate([self.indices, other.indices]),
                                      xp.concatenate([self._values, other._values]), self.dense_shape)
        dense = xp.array(other._data if isinstance(other, Tensor) else other, dtype=self._rows.dtype)
        self.add_into(dense)
        return Tensor._make(dense)

    __add__ = __radd__ = add

    def mul_(self, s):
        """Scale the stored rows in place (what gradient clipping does)."""
        s = s._data if isinstance(s, Tensor) else s
        if self._coef is not None and xp.ndim(s) == 0:
            self._coef = self._coef * s
        else:
            self._values = self._values * s
        return self

    def _assign(self, name, values):
        raise RuntimeError(f"{name}: a row-sparse gradient cannot be updated in place like a dense tensor; "
                           "use .to_dense() first (or mul_ to scale it)")

    def __repr__(self):
        return (f"RowSparseGrad(shape={self.dense_shape}, rows={len(self.indices)}, "
                f"dtype=lamina.{self.dtype})")


def accumulate(prev, g):
    """prev + g where either may be row-sparse (sparse + sparse stays sparse)."""
    if isinstance(g, RowSparseGrad):
        return g if prev is None else g.add(prev)
    if isinstance(prev, RowSparseGrad):
        return prev.add(g)
    return g if prev is None else prev + g
