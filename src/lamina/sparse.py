"""Row-sparse gradients: the gradient of an embedding lookup touches only the looked-up rows.

``RowSparseGrad`` stands for a (num_rows, dim) matrix that is zero except at ``indices``, where
it holds ``values`` (len(indices), dim). An ``Embedding(sparse=True)`` puts one in ``weight.grad``,
so a step costs O(batch · dim) instead of O(vocabulary · dim); optimizers that support it
(SGD, Adagrad, SparseAdam) update only those rows. Repeated indices are allowed until
``coalesce()`` sums them.
"""
from __future__ import annotations


from .backend import index_add, xp
from .tensor import Tensor


class RowSparseGrad(Tensor):
    __slots__ = ("indices", "dense_shape")

    @classmethod
    def make(cls, indices: xp.ndarray, values: xp.ndarray, dense_shape: tuple) -> "RowSparseGrad":
        t = super()._make(values)
        t.indices = xp.asarray(indices, dtype=xp.int64).reshape(-1)
        t.dense_shape = tuple(dense_shape)
        return t

    is_sparse = True

    @property
    def shape(self):
        return self.dense_shape

    @property
    def ndim(self):
        return len(self.dense_shape)

    def size(self, dim=None):
        return self.dense_shape if dim is None else self.dense_shape[dim]

    def detach(self) -> "RowSparseGrad":
        return RowSparseGrad.make(self.indices, self._data, self.dense_shape)

    def values(self) -> Tensor:
        return Tensor._make(self._data)

    def coalesce(self) -> "RowSparseGrad":
        """One entry per row: repeated indices are summed (sorted by row)."""
        rows, inv = xp.unique(self.indices, return_inverse=True)
        if len(rows) == len(self.indices):
            order = xp.argsort(self.indices, kind="stable")
            return RowSparseGrad.make(self.indices[order], self._data[order], self.dense_shape)
        vals = xp.zeros((len(rows),) + self._data.shape[1:], dtype=self._data.dtype)
        index_add(vals, inv, self._data)
        return RowSparseGrad.make(rows, vals, self.dense_shape)

    def to_dense(self) -> Tensor:
        out = xp.zeros(self.dense_shape, dtype=self._data.dtype)
        index_add(out, self.indices, self._data)
        return Tensor._make(out)

    def numpy(self, force: bool = False) -> xp.ndarray:
        return self.to_dense()._data

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def add(self, other):
        if isinstance(other, RowSparseGrad):
            return RowSparseGrad.make(xp.concatenate([self.indices, other.indices]),
                                      xp.concatenate([self._data, other._data]), self.dense_shape)
        dense = xp.array(other._data if isinstance(other, Tensor) else other, dtype=self._data.dtype)
        index_add(dense, self.indices, self._data)
        return Tensor._make(dense)

    __add__ = __radd__ = add

    def mul_(self, s):
        self._data = self._data * (s._data if isinstance(s, Tensor) else s)
        return self

    def __repr__(self):
        return (f"RowSparseGrad(shape={self.dense_shape}, rows={len(self.indices)}, "
                f"dtype=lamina.{self._data.dtype})")


def accumulate(prev, g):
    """prev + g where either may be row-sparse (sparse + sparse stays sparse)."""
    if isinstance(g, RowSparseGrad):
        return g if prev is None else g.add(prev)
    if isinstance(prev, RowSparseGrad):
        return prev.add(g)
    return g if prev is None else prev + g
