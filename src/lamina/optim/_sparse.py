"""Row-sparse gradients in the optimizers: coalescing and the errors of dense-only optimizers.

An ``nn.Embedding(sparse=True)`` (or ``Word2Vec``) leaves a :class:`lamina.sparse.RowSparseGrad`
in ``weight.grad``: row ids ``indices`` (n,) with repeats, and gradient rows ``values`` (n, dim).
The optimizers that apply it (SGD, Adagrad, SparseAdam) first *coalesce* it: one summed row per
distinct id, ``G[r] = Σ_{i: indices[i] = r} values[i]``, then touch only those rows, so a step costs
O(n · dim) whatever the number of rows of the parameter.

The coalescing (``lamina.sparse.coalesce_rows``) is a segmented sum in whole-array operations.
"""
from __future__ import annotations

from ..sparse import RowSparseGrad, coalesce_rows


def sparse_rows(grad: RowSparseGrad, dtype):
    """Coalesced ``(rows, values)`` of a row-sparse gradient, values cast to ``dtype``."""
    rows, vals = coalesce_rows(grad.indices, grad._values)
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
