"""Reverse mode: walk the graph from the outputs back to the inputs.

The walk is iterative (no recursion, so a chain of 100,000 ops works). It sorts
the nodes topologically once, then visits them from the output back, calling
each op's ``backward`` with the gradient summed over all its consumers. A
gradient whose shape differs from its input's (broadcasting) is summed back to
that shape here, in one place, rather than in every op.
"""
from __future__ import annotations

import numpy as np

from .. import _mode
from ..tensor import Tensor


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after all of its consumers (iterative DFS)."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        inputs = node.inputs
        if inputs is None:
            continue
        for t, need in zip(inputs, node.needs):
            n = t._node
            if need and n is not None and n not in seen:
                stack.append((n, False))
    order.reverse()
    return order


def _freed_error(node):
    return RuntimeError(
        f"backward: trying to go through the graph a second time (node {node.name()}), but its saved "
        "values were freed after the first backward. Pass retain_graph=True to the first "
        "backward (or autograd.grad) if you need to back-propagate twice."
    )


def _check_root(t: Tensor, g, where: str):
    if not isinstance(t, Tensor):
        raise TypeError(f"{where}: outputs must be tensors, got {type(t).__name__}")
    if not t.requires_grad:
        raise RuntimeError(
            f"{where}: the tensor does not require grad and has no grad_fn — none of the inputs that "
            "produced it has requires_grad=True (or it was computed under no_grad())"
        )
    if g is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"{where}: grad can be implicitly created only for scalar outputs, but the output has "
                f"shape {tuple(t.shape)}; pass gradient= (a tensor of that shape), or reduce first (.sum())"
            )
        return Tensor._make(np.ones_like(t._data))
    g = g if isinstance(g, Tensor) else Tensor._make(np.asarray(g, dtype=t.dtype))
    if g.shape != t.shape:
        raise RuntimeError(f"{where}: gradient has shape {tuple(g.shape)} but the output has shape {tuple(t.shape)}")
    return g


_sum_to = _cast = None
RowSparseGrad = sparse_accumulate = None


def _load_ops():
    global _sum_to, _cast, RowSparseGrad, sparse_accumulate
    from ..ops.elementwise import cast
    from ..ops.shape import sum_to
    from ..sparse import RowSparseGrad, accumulate as sparse_accumulate

    _sum_to, _cast = sum_to, cast


def run_backward(outputs, grad_outputs, retain_graph, create_graph, capture=None):
    """Back-propagate. With ``capture`` (a list of tensors) return their gradients instead of
    accumulating into leaves' ``.grad``."""
    if _sum_to is None:
        _load_ops()
    sum_to, cast = _sum_to, _cast
    prev_mode = _mode.grad_enabled
    _mode.grad_enabled = bool(create_graph)
    try:
        node_grads = {}  # node -> summed gradient of that node's output
        leaf_grads = {}  # leaf tensor -> summed gradient
        roots = []
        for t, g in zip(outputs, grad_outputs):
            n = t._node
            if n is None:  # a leaf given as output: its gradient is g itself
                prev = leaf_grads.get(t)
                leaf_grads[t] = g if prev is None else prev + g
            else:
                roots.append(n)
                prev = node_grads.get(n)
                node_grads[n] = g if prev is None else prev + g
        capture_nodes = None
        if capture is not None:
            capture_nodes = {t._node: i for i, t in enumerate(capture) if t._node is not None}
            captured = [None] * len(capture)

        for node in _topological_order(roots):
            g = node_grads.pop(node, None)
            if g is None:
                continue
            if node.freed:
                raise _freed_error(node)
            if node.hooks:
                for h in node.hooks:
                    new = h(g)
                    if new is not None:
                        g = new
            if node.retained is not None:
                t = node.retained()
                if t is not None:
                    t.grad = g if create_graph else g.detach()
            if capture_nodes and node in capture_nodes:
                captured[capture_nodes[node]] = g
            grads = node.backward(g)
            for t, gi, need in zip(node.inputs, grads, node.needs):
                if gi is None or not need:
                    continue
                if gi.__class__ is RowSparseGrad:  # an embedding's row-sparse gradient
                    if t._node is None:
                        leaf_grads[t] = sparse_accumulate(leaf_grads.get(t), gi)
                        continue
                    gi = gi.to_dense()
                d, td = gi._data, t._data
                if d.shape != td.shape:
                    gi = sum_to(gi, td.shape)
                if d.dtype != td.dtype:
                    gi = cast(gi, td.dtype)
                n = t._node
                if n is None:
                    prev = leaf_grads.get(t)
                    leaf_grads[t] = gi if prev is None else sparse_accumulate(prev, gi)
                else:
                    prev = node_grads.get(n)
                    node_grads[n] = gi if prev is None else prev + gi
            if not retain_graph:
                node.release()

        if capture is not None:
            for i, t in enumerate(capture):
                if t._node is None:
                    g = leaf_grads.get(t)
                    if g is not None:
                        captured[i] = _run_hooks(t, g)
            return captured

        owned = set()
        for leaf, g in leaf_grads.items():
            if leaf._hooks:
                g = _run_hooks(leaf, g)
            if g.__class__ is RowSparseGrad or leaf.grad.__class__ is RowSparseGrad:
                leaf.grad = sparse_accumulate(leaf.grad, g)
            elif not create_graph:
                prev = leaf.grad
                if prev is None:
                    leaf.grad = _owned(g, owned)
                elif prev._node is None and prev._data.flags.writeable and prev._data.shape == g._data.shape:
                    np.add(prev._data, g._data, out=prev._data, casting="unsafe")  # in place, as PyTorch does
                else:
                    leaf.grad = Tensor._make(prev._data + g._data)
            else:
                leaf.grad = g if leaf.grad is None else leaf.grad + g
        return None
    finally:
        _mode.grad_enabled = prev_mode


def _run_hooks(leaf, g):
    if leaf._hooks:
        for h in leaf._hooks:
            new = h(g)
            if new is not None:
                g = new
    return g


def _owned(g: Tensor, owned: set) -> Tensor:
    """A detached gradient whose array no other leaf holds and that can be updated in place."""
    a = g._data
    if not a.flags.writeable or a.base is not None or id(a) in owned:
        a = np.array(a)
    owned.add(id(a))
    return Tensor._make(a)


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """``lamina.autograd.backward``: accumulate gradients of ``tensors`` into the leaves' ``.grad``."""
    outs = _as_list(tensors)
    gs = _as_list(grad_tensors) or [None] * len(outs)
    if len(gs) != len(outs):
        raise ValueError(f"backward: got {len(outs)} outputs but {len(gs)} gradients")
    gs = [_check_root(t, g, "backward") for t, g in zip(outs, gs)]
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        ins = _as_list(inputs)
        got = run_backward(outs, gs, retain_graph, create_graph, capture=ins)
        for t, g in zip(ins, got):
            if g is not None:
                g = g if create_graph else g.detach()
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(outs, gs, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """``lamina.autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``, returned
    as a tuple (``.grad`` fields are left alone). With ``create_graph=True`` the result is itself
    differentiable (gradients of gradients)."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                "autograd.grad: every input must be a tensor with requires_grad=True; "
                f"got {'a tensor without requires_grad' if isinstance(t, Tensor) else type(t).__name__}"
            )
    gs = _as_list(grad_outputs) or [None] * len(outs)
    if len(gs) != len(outs):
        raise ValueError(f"autograd.grad: got {len(outs)} outputs but {len(gs)} grad_outputs")
    gs = [_check_root(t, g, "autograd.grad") for t, g in zip(outs, gs)]
    if retain_graph is None:
        retain_graph = create_graph
    got = run_backward(outs, gs, retain_graph, create_graph, capture=ins)
    result = []
    for i, (t, g) in enumerate(zip(ins, got)):
        if g is None:
            if materialize_grads:
                g = Tensor._make(np.zeros_like(t._data))
            elif allow_unused is False or (allow_unused is None and not materialize_grads):
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
