"""Reverse mode: walk the graph from the outputs back to the inputs.

The walk is iterative (no recursion, so a chain of 100,000 ops works). It sorts
the nodes topologically once, then visits them from the output back, calling
each op's ``backward`` with the gradient summed over all its consumers. A
gradient whose shape differs from its input's (broadcasting) is summed back to
that shape here, in one place, rather than in every op.
"""
from __future__ import annotations

from .. import _mode
from ..backend import xp
from ..sparse import RowSparseGrad, accumulate
from ..tensor import INPLACE_EPOCH, Tensor
from .op import cast, sum_to


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after all of its consumers (iterative DFS)."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            if node.inputs is not None:
                for t, need in zip(node.inputs, node.needs):
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
        return Tensor._make(xp.ones_like(t._data))
    g = g if isinstance(g, Tensor) else Tensor._make(xp.asarray(g, dtype=t.dtype))
    if g.shape != t.shape:
        raise RuntimeError(f"{where}: gradient has shape {tuple(g.shape)} but the output has shape {tuple(t.shape)}")
    return g


def _tested_inputs(node) -> tuple:
    """The node's inputs after one int test each (a tensor never changed in place is at version 0); when one
    was changed, ``_check_versions`` raises or maps it to the history it had when recorded."""
    for t, saved in zip(node.inputs, _saved_versions(node)):
        v = t._version
        if v and (v != saved or t._node is not None):
            return _check_versions(node)
    return node.inputs


def _saved_versions(node) -> tuple:
    """Each input's version when the node was recorded (``versions`` is one int, the epoch, when all were 0)."""
    vs = node.versions
    return vs if vs.__class__ is tuple else (0,) * len(node.inputs)


def _check_versions(node) -> tuple:
    """Refuse to run ``node.backward`` on values changed in place since the forward (version counters).
    The walk tests each input inline first (in ``run_backward``); this raises, naming the culprit.
    Returns the inputs as recorded: an input changed in place since, by an op recorded in the graph,
    stands for the history it had then (``_at_version``), where its gradient goes."""
    inputs = list(node.inputs)
    for i, (t, saved) in enumerate(zip(node.inputs, _saved_versions(node))):
        v = t._version
        if v and (v != saved or t._node is not None):
            inputs[i] = _at_version(t, saved)
            _version_error(node, i, t, saved, inputs[i])
    return tuple(inputs)


def _at_version(t: Tensor, version: int) -> Tensor:
    """The tensor standing for ``t``'s history at ``version``: back along the in-place ops recorded since
    (each node's first input is the tensor it changed, ``ops/inplace.py``)."""
    while t._version != version:
        node = t._node
        if node is None or node.inplace_base is None or version > node.inplace_base or node.inputs is None:
            break
        t = node.inputs[0]
    return t


def _version_error(node, i: int, t: Tensor, saved: int, recorded: Tensor | None = None) -> None:
    """Raise if input ``i`` of ``node`` changed and the rule reads it, or if ``recorded`` (``t`` as the
    node recorded it) is the output of an op whose rule reads its own result and was changed after
    that op made it (at the producer's ``out_version``, 0 unless the producer was an in-place op)."""
    head = "one of the variables needed for gradient computation has been modified by an inplace operation: "
    if t._version != saved and node.reads_input(i):
        raise RuntimeError(
            f"{head}{node.name()}'s input {i} of shape {tuple(t.shape)} is at version {t._version}; "
            f"expected version {saved}. Change a copy (x.clone()) or make the change after backward"
        )
    r = t if recorded is None else recorded
    producer = r._node
    if producer is not None and producer.reads_output and not producer.freed and r._version != producer.out_version:
        raise RuntimeError(
            f"{head}{producer.name()}'s output of shape {tuple(t.shape)} is at version {r._version}; "
            f"expected version {producer.out_version}. Change a copy (y.clone()) or make the change after backward"
        )


def _run_hooks(hooks, g):
    for h in hooks:
        new = h(g)
        if new is not None:
            g = new
    return g


class _Walk:
    """The gradients summed so far during one backward pass: per node (its output) and per leaf."""

    def __init__(self, outputs, grad_outputs, capture) -> None:
        self.node_grads: dict = {}
        self.leaf_grads: dict = {}
        self.roots: list = []
        for t, g in zip(outputs, grad_outputs):
            if t._node is None:  # a leaf given as output: its gradient is g itself
                self.add_leaf(t, g)
            else:
                self.roots.append(t._node)
                self.add_node(t._node, g)
        self.capture_nodes: dict = {}
        self.captured: list = []  # the gradients of ``capture``, in its order
        if capture is not None:
            self.capture_nodes = {t._node: i for i, t in enumerate(capture) if t._node is not None}
            self.captured = [None] * len(capture)

    def add_node(self, node, g):
        prev = self.node_grads.get(node)
        self.node_grads[node] = g if prev is None else prev + g

    def add_leaf(self, t, g):
        prev = self.leaf_grads.get(t)
        self.leaf_grads[t] = g if prev is None else accumulate(prev, g)

    def observe(self, node, g, create_graph):
        """The gradient of the node's output as its hooks leave it; kept where retain_grad or capture asks.
        A node whose saved values were freed (a second backward without retain_graph) raises."""
        if node.freed:
            raise _freed_error(node)
        if node.hooks:
            g = _run_hooks(node.hooks, g)
        if node.retained is not None:
            t = node.retained()
            if t is not None:
                t.grad = g if create_graph else g.detach()
        if node in self.capture_nodes:
            self.captured[self.capture_nodes[node]] = g
        return g

    def pass_back(self, inputs, grads, needs):
        """Add each input's gradient: to its node's sum, or to the leaf's; the rare cases go through ``send``."""
        node_grads, leaf_grads = self.node_grads, self.leaf_grads
        for t, gi, need in zip(inputs, grads, needs):
            if not need or gi is None:
                continue
            # (dtype objects compared by identity: equal dtypes that are distinct objects take the general path)
            if gi.__class__ is not Tensor or gi._data.shape != t._data.shape or gi._data.dtype is not t._data.dtype:
                self.send(t, gi)  # a row-sparse gradient, a broadcast or a dtype change
                continue
            n = t._node
            if n is None:
                prev = leaf_grads.get(t)
                leaf_grads[t] = gi if prev is None else accumulate(prev, gi)
            else:
                prev = node_grads.get(n)
                node_grads[n] = gi if prev is None else prev + gi

    def send(self, t, gi):
        """Add the gradient ``gi`` of input ``t``, brought to t's shape and dtype."""
        if gi.__class__ is RowSparseGrad:  # an embedding's row-sparse gradient
            if t._node is None:
                self.leaf_grads[t] = accumulate(self.leaf_grads.get(t), gi)
                return
            gi = gi.to_dense()
        d, td = gi._data, t._data
        if d.shape != td.shape:
            gi = sum_to(gi, td.shape)
        if d.dtype != td.dtype:
            gi = cast(gi, td.dtype)
        if t._node is None:
            self.add_leaf(t, gi)
        else:
            self.add_node(t._node, gi)


def _check_root_versions(outputs) -> None:
    """A root changed in place after the op that made it (which may read it) is an error."""
    for t in outputs:
        if t._version and t._node is not None:
            _version_error(t._node, -1, t, t._version)


def run_backward(outputs, grad_outputs, retain_graph, create_graph, capture=None):
    """Back-propagate. With ``capture`` (a list of tensors) return their gradients instead of
    accumulating into leaves' ``.grad``."""
    prev_mode = _mode.grad_enabled
    _mode.grad_enabled = bool(create_graph)
    try:
        _check_root_versions(outputs)
        walk = _Walk(outputs, grad_outputs, capture)
        node_grads, observing, epoch, pass_back = walk.node_grads, bool(walk.capture_nodes), INPLACE_EPOCH, walk.pass_back
        for node in _topological_order(walk.roots):
            g = node_grads.pop(node, None)
            if g is None:
                continue
            if node.watched or observing:  # hooks, retain_grad, capture, or a freed node (raises)
                g = walk.observe(node, g, create_graph)
            # inputs as recorded; tested only when some tensor changed in place since the node was recorded
            inputs = node.inputs if node.versions == epoch[0] else _tested_inputs(node)
            pass_back(inputs, node.backward(g), node.needs)
            if not retain_graph:
                node.release()
        return _finish(walk, capture, create_graph)
    finally:
        _mode.grad_enabled = prev_mode


def _finish(walk: _Walk, capture, create_graph: bool):
    """The end of a backward pass: the captured gradients, or None once the leaves' ``.grad`` are updated."""
    if capture is not None:
        return _captured(walk, capture)
    _accumulate_leaves(walk.leaf_grads, create_graph)
    return None


def _captured(walk: _Walk, capture):
    for i, t in enumerate(capture):
        if t._node is None:
            g = walk.leaf_grads.get(t)
            if g is not None:
                walk.captured[i] = _run_hooks(t._hooks, g) if t._hooks else g
    return walk.captured


def _accumulate_leaves(leaf_grads: dict, create_graph: bool) -> None:
    """leaf.grad += g for every leaf reached (in place when the existing grad allows it, as PyTorch does)."""
    owned: set = set()
    for leaf, g in leaf_grads.items():
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g)
        prev = leaf.grad
        if create_graph or g.__class__ is RowSparseGrad or prev.__class__ is RowSparseGrad:
            leaf.grad = _accumulate_recorded_or_sparse(prev, g)
        elif prev is None:
            leaf.grad = _owned(g, owned)
        elif prev._node is None and prev._data.flags.writeable and prev._data.shape == g._data.shape:
            xp.add(prev._data, g._data, out=prev._data, casting="unsafe")
        else:
            leaf.grad = Tensor._make(prev._data + g._data)


def _accumulate_recorded_or_sparse(prev, g):
    """prev + g as a new tensor: recorded in the graph (create_graph), or row-sparse aware."""
    if g.__class__ is RowSparseGrad or prev.__class__ is RowSparseGrad:
        return accumulate(prev, g)
    return g if prev is None else prev + g


def _owned(g: Tensor, owned: set) -> Tensor:
    """A detached gradient whose array no other leaf holds and that can be updated in place."""
    a = g._data
    if not a.flags.writeable or a.base is not None or id(a) in owned:
        a = xp.array(a)
    owned.add(id(a))
    return Tensor._make(a)


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _roots(where, tensors, grads):
    outs = _as_list(tensors)
    gs = _as_list(grads) or [None] * len(outs)
    if len(gs) != len(outs):
        raise ValueError(f"{where}: got {len(outs)} outputs but {len(gs)} gradients")
    return outs, [_check_root(t, g, where) for t, g in zip(outs, gs)]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """``lamina.autograd.backward``: accumulate gradients of ``tensors`` into the leaves' ``.grad``."""
    outs, gs = _roots("backward", tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(outs, gs, retain_graph, create_graph)
        return
    ins = _as_list(inputs)
    for t, g in zip(ins, run_backward(outs, gs, retain_graph, create_graph, capture=ins)):
        if g is not None:
            g = g if create_graph else g.detach()
            t.grad = g if t.grad is None else t.grad + g


def tensor_backward(self: Tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """``Tensor.backward``: back-propagate from this tensor, accumulating into ``.grad`` of the leaves."""
    if gradient is None and inputs is None and self.requires_grad and self._data.size == 1:
        # the common case, loss.backward(), without the general argument handling
        d = self._data
        ones = xp.empty(d.shape, d.dtype)
        ones[...] = 1  # (cheaper than ones_like on a one-value array)
        run_backward((self,), (Tensor._make(ones),), bool(retain_graph or create_graph), create_graph)
    else:
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


def _check_inputs(ins) -> None:
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                "autograd.grad: every input must be a tensor with requires_grad=True; "
                f"got {'a tensor without requires_grad' if isinstance(t, Tensor) else type(t).__name__}"
            )


def _unused(i, t, materialize_grads, allow_unused):
    if materialize_grads:
        return Tensor._make(xp.zeros_like(t._data))
    if not allow_unused:
        raise RuntimeError(
            f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used to compute the outputs; "
            "pass allow_unused=True to get None for it"
        )
    return None


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """``lamina.autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``, returned
    as a tuple (``.grad`` fields are left alone). With ``create_graph=True`` the result is itself
    differentiable (gradients of gradients). ``only_inputs`` is accepted and has no effect (as in PyTorch,
    where it is deprecated); ``is_grads_batched=True`` is refused."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True (vmap over grad_outputs) is not supported; "
                                  "call grad once per row of grad_outputs")
    ins = _as_list(inputs)
    _check_inputs(ins)
    outs, gs = _roots("autograd.grad", outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    got = run_backward(outs, gs, retain_graph, create_graph, capture=ins)
    result = []
    for i, (t, g) in enumerate(zip(ins, got)):
        if g is None:
            g = _unused(i, t, materialize_grads, allow_unused)
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
