"""Hypergradients: the derivative of the validation loss with respect to the training
hyperparameters, through an unrolled run of training (gradient-based hyperparameter
optimization: compute ∂L_val/∂h and use it to optimize h).

Training is written as a function of the hyperparameters h = (η, λ, wd, β), T steps of
SGD from fixed starting weights θ_0 (PyTorch's SGD formulas, same order: ``optim.functional.sgd``)::

    d_t     = ∇L_train(θ_t; batch_t) + λ θ_t            L2 penalty λ/2·‖θ‖² ("l2"; the one definition
                                                         of lamina: nn.regularization.l2, SGD's weight_decay)
    v_t     = β v_{t-1} + d_t        (v_{-1} = 0)        momentum β ("momentum")
    θ_{t+1} = θ_t − η v_t − η·wd·θ_t                      decoupled weight decay ("weight_decay")

and f(h) = L_val(θ_T).  ``hypergradient`` returns f(h) and ∂f/∂h:

* ``mode="reverse"`` (Maclaurin, Duvenaud & Adams 2015): every gradient ∇L_train is taken
  with ``create_graph=True``, so the graph spans all T steps; one backward pass from
  L_val gives the derivative for every hyperparameter at once.  Memory grows with T·|θ|.
* ``mode="forward"`` (Franceschi et al. 2017): carry the tangent Z_t = dθ_t/dh alongside
  θ_t with dual numbers.  The tangent of ∇L_train(θ_t) is the Hessian-vector product
  H_t Z_t (forward-over-reverse), so Z_{t+1} = Z_t − η(H_t Z_t + λZ_t + ...) − (dη/dh) v_t.
  Memory does not grow with T (the graph of each step is dropped), but it takes one
  pass per scalar hyperparameter: cheap when there are few.

A hyperparameter is a float, or a dict ``{prefix: float}`` giving one value per group of
parameters (``{"0": 0.1, "2": 0.01}`` for layers ``0.*`` and ``2.*``; a parameter takes the
longest matching prefix; ``""`` matches everything).  The gradients come back in the same
shape.  ``HyperparameterOptimizer`` / ``tune_by_hypergradient`` (``hyperdescent.py``) step the
hyperparameters by their hypergradient over outer iterations.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..autograd.engine import grad as _grad
from ..autograd.forward_ad import dual_level
from ..autograd.grad_mode import enable_grad, no_grad
from ..nn.modules.module import Module
from ..optim.functional import sgd
from ..tensor import Tensor

__all__ = ["hypergradient", "HypergradientResult", "functional_call", "HYPERPARAMETERS"]

HYPERPARAMETERS = ("lr", "l2", "weight_decay", "momentum")


# ---------------------------------------------------------------------------- modules as functions
@contextmanager
def _swapped(module, tensors: dict):
    saved = []
    try:
        for name, t in tensors.items():
            path, _, leaf = name.rpartition(".")
            owner = module.get_submodule(path)
            if leaf not in owner._parameters:
                raise KeyError(f"functional_call: {type(module).__name__} has no parameter {name!r}; "
                               f"its parameters are {[n for n, _ in module.named_parameters()]}")
            saved.append((owner, leaf, owner._parameters[leaf]))
            owner._parameters[leaf] = t
        yield
    finally:
        for owner, leaf, old in reversed(saved):
            owner._parameters[leaf] = old


def functional_call(module, params: dict, *args, **kwargs):
    """``module(*args, **kwargs)`` computed with the tensors ``params`` (name -> Tensor) in place of
    its parameters (``torch.func.functional_call``); the module is left as it was."""
    with _swapped(module, params):
        return module(*args, **kwargs)


# ---------------------------------------------------------------------------- hyperparameter specs
def _number(name: str, group, v) -> float:
    """hyper[name][group] as a finite float."""
    where = f"hyper[{name!r}]" + ("" if group is None else f"[{group!r}]")
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"hypergradient: {where} must be a number, got {v!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"hypergradient: hyper[{name!r}] is {v}; expected a finite number")
    return v


def _flatten_hyper(hyper: dict) -> dict:
    """{(name, group or None): float} from {name: float | {prefix: float}}."""
    if not isinstance(hyper, dict) or "lr" not in hyper:
        raise ValueError(f"hypergradient: hyper must be a dict with at least 'lr' (and optionally "
                         f"{', '.join(repr(h) for h in HYPERPARAMETERS[1:])}), got {hyper!r}")
    flat = {}
    for name, value in hyper.items():
        if name not in HYPERPARAMETERS:
            raise ValueError(f"hypergradient: unknown hyperparameter {name!r}; known: {', '.join(HYPERPARAMETERS)}")
        groups = value.items() if isinstance(value, dict) else [(None, value)]
        for group, v in groups:
            flat[(name, group)] = _number(name, group, v)
    return flat


def _wrt_names(hyper: dict, wrt, who: str) -> list:
    """The names to differentiate: all of ``hyper`` by default, one name, or a list of names of ``hyper``."""
    names = list(hyper) if wrt is None else ([wrt] if isinstance(wrt, str) else list(wrt))
    for n in names:
        if n not in hyper:
            raise ValueError(f"{who}: wrt names {n!r}, which is not in hyper ({', '.join(hyper)})")
    return names


def _unflatten(flat: dict, hyper: dict) -> dict:
    out: dict = {}
    for (name, group), v in flat.items():
        if isinstance(hyper[name], dict):
            out.setdefault(name, {})[group] = v
        else:
            out[name] = v
    return out


def _group_of(h: str, keys: list, pname: str):
    """The group of hyper[h] parameter ``pname`` takes: the longest matching prefix ('' matches all)."""
    if keys == [None]:
        return None
    match = [g for g in keys if g == "" or pname == g or pname.startswith(g + ".")]
    if not match:
        raise ValueError(f"hypergradient: parameter {pname!r} is in no group of hyper[{h!r}] "
                         f"(groups {keys}); add its prefix or a '' group for the rest")
    return max(match, key=len)


def _assign_groups(flat: dict, names: list[str]) -> list[dict]:
    """For each parameter, hyperparameter name -> key of ``flat`` it uses (longest prefix wins)."""
    per_param: list[dict] = [{} for _ in names]
    for h in {h for h, _ in flat}:
        keys = [g for n, g in flat if n == h]
        for i, pname in enumerate(names):
            per_param[i][h] = (h, _group_of(h, keys, pname))
    return per_param


def _array(p):
    return p._data if isinstance(p, Tensor) else np.asarray(p)


def _named_arrays(params) -> tuple[list, str]:
    """([(name, array)], 'dict' or 'list') of a Module's trainable parameters, a dict or a list."""
    if isinstance(params, Module):
        return [(n, p._data) for n, p in params.named_parameters() if p.requires_grad], "dict"
    if isinstance(params, dict):
        return [(str(n), _array(p)) for n, p in params.items()], "dict"
    if isinstance(params, (list, tuple)):
        return [(str(i), _array(p)) for i, p in enumerate(params)], "list"
    raise TypeError(f"hypergradient: params must be a Module, a dict name -> tensor or a list of tensors, "
                    f"got {type(params).__name__}")


def _as_params(params):
    """(names, initial arrays, pack) where pack(list of tensors) is what the losses receive."""
    named, kind = _named_arrays(params)
    if not named:
        raise ValueError("hypergradient: no parameters to train")
    for n, a in named:
        if a.dtype.kind != "f":
            raise TypeError(f"hypergradient: parameter {n!r} has dtype {a.dtype}; expected floating point")
    names = [n for n, _ in named]
    arrays = [np.array(a, copy=True) for _, a in named]
    if kind == "dict":
        return names, arrays, lambda ts: dict(zip(names, ts))
    return names, arrays, list


def _batch_getter(batches):
    if batches is None:
        return lambda t: ()
    if callable(batches):
        return lambda t: (batches(t),)
    seq = list(batches)
    if not seq:
        raise ValueError("hypergradient: batches is empty")
    return lambda t: (seq[t % len(seq)],)


def _scalar(loss, what: str, t=None) -> Tensor:
    where = what if t is None else f"{what} at step {t}"
    if not isinstance(loss, Tensor) or loss._data.size != 1:
        got = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        raise TypeError(f"hypergradient: {where} must return a scalar Tensor, got {got}")
    return loss


# ---------------------------------------------------------------------------- the unrolled run
def _step(theta, grads, vel, hp):
    """One SGD step (``optim.functional.sgd``, recorded in the graph) for every parameter; ``hp[i]``
    maps hyperparameter name -> tensor: l2 is the coupled decay λ, weight_decay the decoupled wd."""
    new_theta, new_vel = [], []
    for i, (p, g) in enumerate(zip(theta, grads)):
        h = hp[i]
        d = g if g is not None else Tensor._make(np.zeros_like(p._data))
        (q,), (v,) = sgd([p], [d], [None if vel is None else vel[i]], lr=h["lr"], weight_decay=h.get("l2", 0.0),
                         momentum=h.get("momentum", 0.0), decoupled_weight_decay=h.get("weight_decay", 0.0))
        new_theta.append(q)
        new_vel.append(v)
    return new_theta, (new_vel if new_vel and new_vel[0] is not None else None)


def _hyper_tensors(flat, dtype, requires_grad=False):
    return {k: Tensor._make(np.asarray(v, dtype=dtype), requires_grad) for k, v in flat.items()}


def _per_param(groups, tensors):
    return [{h: tensors[key] for h, key in g.items()} for g in groups]


@dataclass
class _Unrolled:
    """The unrolled training run: θ_0, the hyperparameters, the losses and the batches."""

    theta0: list
    flat: dict          # (name, group) -> value
    groups: list        # per parameter: name -> key of ``flat``
    train_loss: Callable
    val_loss: Callable
    steps: int
    batch: Callable     # t -> tuple of extra arguments of train_loss
    pack: Callable      # list of tensors -> what the losses receive

    def train_grads(self, theta: list, t: int) -> list:
        """∇L_train(θ; batch_t), recorded in the graph (create_graph=True)."""
        loss = _scalar(self.train_loss(self.pack(theta), *self.batch(t)), "train_loss", t)
        if not loss.requires_grad:
            raise RuntimeError(f"hypergradient: train_loss at step {t} does not depend on the parameters")
        return _grad(loss, theta, create_graph=True, allow_unused=True)


def _reverse(run: _Unrolled, wrt: list):
    dtype = run.theta0[0].dtype
    with enable_grad():
        hyp = _hyper_tensors(run.flat, dtype, requires_grad=True)
        hp = _per_param(run.groups, hyp)
        theta = [Tensor._make(a.copy(), True) for a in run.theta0]
        vel = None
        for t in range(run.steps):
            theta, vel = _step(theta, run.train_grads(theta, t), vel, hp)
        val = _scalar(run.val_loss(run.pack(theta)), "val_loss")
        targets = [hyp[k] for k in wrt]
        gs = _grad(val, targets, allow_unused=True) if val.requires_grad else [None] * len(targets)
    out = {k: (0.0 if g is None else float(g._data)) for k, g in zip(wrt, gs)}
    return float(val._data), out, [p._data for p in theta]


def _strip(t: Tensor | None) -> Tensor | None:
    """A graph-free copy of ``t`` that keeps its (graph-free) tangent: forward mode's memory stays O(|θ|)."""
    if t is None:
        return None
    out = Tensor._make(t._data)
    if t._tangent is not None:
        out._tangent = Tensor._make(t._tangent._data)
    return out


def _tracked(theta: list) -> list:
    """Leaves that require grad and carry θ's tangents."""
    out = []
    for p in theta:
        q = Tensor._make(p._data, True)
        q._tangent = p._tangent
        out.append(q)
    return out


def _forward_step(run: _Unrolled, theta: list, vel, hp: list, t: int):
    """Step t with dual numbers; the tangent of ∇L_train(θ_t) is H_t Z_t (forward-over-reverse)."""
    tracked = _tracked(theta)
    with enable_grad():
        gs = [_strip(g) for g in run.train_grads(tracked, t)]
    with no_grad():
        theta, vel = _step(theta, gs, vel, hp)
    return [_strip(p) for p in theta], (None if vel is None else [_strip(v) for v in vel])


def _forward_one(run: _Unrolled, key):
    """f(h) and ∂f/∂h[key] in one forward pass with dual numbers."""
    dtype = run.theta0[0].dtype
    with dual_level():
        hyp = _hyper_tensors(run.flat, dtype)
        if key is not None:
            hyp[key]._tangent = Tensor._make(np.ones((), dtype=dtype))
        hp = _per_param(run.groups, hyp)
        theta = [Tensor._make(a.copy()) for a in run.theta0]
        vel = None
        for t in range(run.steps):
            theta, vel = _forward_step(run, theta, vel, hp, t)
        with no_grad():
            val = _scalar(run.val_loss(run.pack(theta)), "val_loss")
    tan = 0.0 if val._tangent is None else float(val._tangent._data)
    return float(val._data), tan, [p._data for p in theta]


def _forward(run: _Unrolled, keys: list, params):
    """One forward pass per key (one pass for the value alone when there is none)."""
    grads: dict = {}
    value, final = None, None
    for k in keys or [None]:
        with _buffers_kept(params):
            value, d, final = _forward_one(run, k)
        if k is not None:
            grads[k] = d
    return value, grads, final


def _check_run(train_loss, val_loss, steps, mode) -> None:
    if not callable(train_loss) or not callable(val_loss):
        raise TypeError("hypergradient: train_loss and val_loss must be callables of the parameters")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"hypergradient: steps must be an int >= 1, got {steps!r}")
    if mode not in ("reverse", "forward"):
        raise ValueError(f"hypergradient: mode must be 'reverse' or 'forward', got {mode!r}")


def _run(params, train_loss, val_loss, hyper, steps, wrt, batches, mode, theta0=None):
    _check_run(train_loss, val_loss, steps, mode)
    flat = _flatten_hyper(hyper)
    wrt_names = _wrt_names(hyper, wrt, "hypergradient")
    keys = [k for k in flat if k[0] in wrt_names]
    names, arrays, pack = _as_params(params)
    if theta0 is not None:
        arrays = [np.array(a, copy=True) for a in theta0]
    run = _Unrolled(arrays, flat, _assign_groups(flat, names), train_loss, val_loss, int(steps),
                    _batch_getter(batches), pack)
    if mode == "reverse":
        with _buffers_kept(params):
            value, grads, final = _reverse(run, keys)
    else:
        value, grads, final = _forward(run, keys, params)
    return value, grads, dict(zip(names, final)), flat


@contextmanager
def _buffers_kept(params):
    """A module's buffers (BatchNorm's running statistics) change during an unrolled run as in
    training; put them back afterwards so every run (and every forward-mode pass) starts alike."""
    if not isinstance(params, Module):

        yield
        return
    saved = [(b, b._data.copy()) for _, b in params.named_buffers()]
    try:
        yield
    finally:
        for b, arr in saved:
            b._data = arr


@dataclass
class HypergradientResult:
    """``value`` = L_val(θ_T); ``grads`` = ∂value/∂h shaped like ``hyper`` (names in ``wrt``);
    ``params`` = θ_T (name -> array).  Unpacks as ``value, grads``."""

    value: float
    grads: dict
    params: dict = field(repr=False)

    def __iter__(self):
        return iter((self.value, self.grads))


def hypergradient(params, train_loss: Callable, val_loss: Callable, hyper: dict, steps: int, *,
                  wrt=None, batches=None, mode: str = "reverse") -> HypergradientResult:
    """Validation loss after ``steps`` SGD steps, and its derivative with respect to ``hyper``.

    * ``params``: the starting weights θ_0 — a ``Module`` (its trainable parameters; the module
      is not modified: buffers such as BatchNorm's running statistics evolve during the run
      and are restored afterwards; they are not differentiated), a dict name -> tensor/array
      or a list of them.  Copies are trained.
    * ``train_loss(params, batch)`` (or ``train_loss(params)`` when ``batches`` is None) and
      ``val_loss(params)`` get the current weights: a dict name -> Tensor (a list for a list);
      use ``functional_call(model, params, x)`` to run a module with them.
    * ``hyper``: ``{"lr": η, "l2": λ, "weight_decay": wd, "momentum": β}`` ("lr" required), each
      a float or a dict ``{prefix: float}`` of per-group values.  ``wrt``: the names to
      differentiate (default all); the others are constants.
    * ``batches``: a sequence of batches (step t uses ``batches[t % len]``) or ``batches(t)``.
    * ``mode``: ``"reverse"`` (create_graph through the unrolled run) or ``"forward"`` (dual
      numbers, one pass per scalar hyperparameter).  Both give the same numbers.

    Returns ``HypergradientResult(value, grads, params)``; ``value, grads = hypergradient(...)``.
    """
    value, grads, final, flat = _run(params, train_loss, val_loss, hyper, steps, wrt, batches, mode)
    names = [n for n in hyper if n in {k[0] for k in grads}] if grads else []
    sub = {n: hyper[n] for n in names}
    return HypergradientResult(value, _unflatten(grads, sub) if grads else {}, final)
