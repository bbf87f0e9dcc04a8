"""Row-sparse gradients in the optimizers: coalescing and the errors of dense-only optimizers.

An ``nn.Embedding(sparse=True)`` (or ``Word2Vec``) leaves a :class:`lamina.sparse.RowSparseGrad`
in ``weight.grad``: row ids ``indices`` (n,) with repeats, and gradient rows ``values`` (n, dim).
The optimizers that apply it (SGD, Adagrad, SparseAdam) first *coalesce* it: one summed row per
distinct id, ``G[r] = Σ_{i: indices[i] = r} values[i]``, then touch only those rows, so a step costs
O(n · dim) whatever the number of rows of the parameter.

``coalesce_rows`` is a segmented sum written with whole-array NumPy operations (``np.add.at`` on
rows is about 8x slower): sort the ids, then

* ids seen once: their rows are copied;
* ids seen ``c`` times (c <= ``max_bucket``), all together: their rows are gathered into a
  (groups, c, dim) block and summed over axis 1;
* ids seen more often (the frequent words of a corpus): one ``np.add.reduceat`` over their
  gathered rows (few, long segments: where ``reduceat`` is fast).
"""
from __future__ import annotations

import numpy as np

from ..sparse import RowSparseGrad


def coalesce_rows(indices, values, max_bucket: int = 8):
    """``(rows, summed)``: the distinct ids of ``indices`` in increasing order and, for each, the
    sum of its rows of ``values`` (shape (len(indices), ...); float dtype kept)."""
    idx = np.asarray(indices).reshape(-1)
    n = idx.size
    vals = np.asarray(values)
    if vals.shape[:1] != (n,):
        raise ValueError(f"coalesce_rows: {n} indices but values of shape {vals.shape}")
    if n == 0:
        return idx.astype(np.int64), vals.copy()
    flat = vals.reshape(n, -1)
    order = np.argsort(idx)
    srt = idx[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(srt[1:], srt[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    rows = srt[starts].astype(np.int64, copy=False)
    m = starts.size
    if m == n:  # no repeated id
        return rows, vals[order]
    counts = np.empty(m, dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = n - starts[-1]
    out = np.empty((m, flat.shape[1]), dtype=flat.dtype)
    by_count = np.argsort(counts, kind="stable")  # groups of equal count side by side
    sc = counts[by_count]
    lo = 0
    for hi in (*(np.flatnonzero(sc[1:] != sc[:-1]) + 1).tolist(), m):
        c, g = int(sc[lo]), by_count[lo:hi]
        if c == 1:
            out[g] = flat[order[starts[g]]]
        elif c <= max_bucket:
            out[g] = flat[order[starts[g][:, None] + np.arange(c)]].sum(axis=1)
        else:  # every remaining group is heavy: one reduceat over their rows
            g, hc = by_count[lo:], sc[lo:]
            seg = np.zeros(g.size, dtype=np.int64)
            np.cumsum(hc[:-1], out=seg[1:])
            pos = np.repeat(starts[g] - seg, hc) + np.arange(int(seg[-1] + hc[-1]))
            out[g] = np.add.reduceat(flat[order[pos]], seg, axis=0)
            break
        lo = hi
    return rows, out.reshape((m,) + vals.shape[1:])


def sparse_rows(grad: RowSparseGrad, dtype):
    """Coalesced ``(rows, values)`` of a row-sparse gradient, values cast to ``dtype``."""
    rows, vals = coalesce_rows(grad.indices, grad._data)
    if vals.dtype != dtype:
        vals = vals.astype(dtype)
    return rows, vals


def is_sparse(grad) -> bool:
    return grad.__class__ is RowSparseGrad


def _describe(group_index: int, param_index: int, p) -> str:
    return f"parameter {param_index} of parameter group {group_index} (shape {tuple(p.shape)})"


def dense_only_error(opt_name: str, group_index: int, param_index: int, p) -> RuntimeError:
    """The error of an optimizer that cannot apply a row-sparse gradient."""
    return RuntimeError(
        f"{opt_name}.step: {_describe(group_index, param_index, p)} has a row-sparse gradient "
        "(from nn.Embedding(sparse=True) or Word2Vec(sparse=True)), which this optimizer does not apply; "
        "create the embedding with sparse=False, or use optim.SparseAdam, optim.SGD or optim.Adagrad for it")


def sparse_only_error(opt_name: str, group_index: int, param_index: int, p) -> RuntimeError:
    """The error of SparseAdam given a dense gradient."""
    return RuntimeError(
        f"{opt_name}.step: {_describe(group_index, param_index, p)} has a dense gradient; SparseAdam only "
        "applies row-sparse gradients (nn.Embedding(sparse=True)): use optim.Adam for dense parameters "
        "(one optimizer per kind of parameter)")
