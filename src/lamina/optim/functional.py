"""The update rules of SGD, Adam and its variants (NAdam, RAdam, Adamax), each written once (in the spirit of ``torch.optim._functional``).

A rule is one function of its operands and of an *operation set* ``ops``:

* ``INPLACE``: backend ufuncs that write into ``out=`` — parameters, buffers and scratch arrays
  are updated in place without temporaries.  ``sgd_`` and ``adam_`` run it over arrays, block
  by block (``_foreach``); the optimizers' ``step`` goes through them.
* ``PURE``: Tensor operators that return new tensors — the step is recorded in the autograd
  graph (``create_graph=True``) or carried by dual numbers, so training itself can be
  differentiated (hypergradients).  ``sgd`` and ``adam`` take and return Tensors.

In the pure form a hyperparameter may be a Tensor (its derivative is then wanted): a term whose
coefficient is the *number* 0 is skipped, a Tensor coefficient is always applied.  The rules
themselves receive None for a skipped term.

SGD (PyTorch's formulas, same order), with g = ∇L, negated if ``maximize``::

    d = g + λ θ                                    coupled L2 decay, λ = weight_decay
    b = d  (first step),   b = μ b + (1 - τ) d     momentum μ, dampening τ
    d = d + μ b  if nesterov  else  d = b
    θ = θ (1 - lr λ_d) - lr d                      decoupled decay, λ_d = decoupled_weight_decay

Adam (Kingma & Ba), with d as above::

    m = β1 m + (1 - β1) d          v = β2 v + (1 - β2) d²          v_max = max(v_max, v)  (amsgrad)
    θ = θ (1 - lr λ_d) - lr · m̂ / (√v̂ + ε),    m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t)  (v_max with amsgrad)

The in-place Adam may keep each moment *up to a scalar factor* (m = F1 m̃, v = F2 ṽ): a step
that moves a factor (F1 ← β1 F1) then skips the pass that multiplies the buffer by β1.
``adam_coefficients`` folds β, t, lr and the factors into the six numbers of one kernel::

    m̃ ← a1 m̃ + b1 d      a1 = β1 F1/F1',  b1 = (1 - β1)/F1'
    ṽ ← a2 ṽ + (c2 d)²    a2 = β2 F2/F2',  c2 = √((1 - β2)/F2')
    θ ← θ - lr·s · m̃ / (√ṽ + ε')      s = F1' √(1 - β2^t) / ((1 - β1^t) √F2'),  ε' = ε √(1 - β2^t) / √F2'

(F = F' = 1: the exact moments).  ``s · m̃ / (√ṽ + ε')`` is the step direction m̂ / (√v̂ + ε).

The Adam variants keep exact moments m, v (as above, with d) and step t (1 first):

NAdam (Dozat; PyTorch's momentum schedule, ψ = momentum_decay)::

    μ_t = β1 (1 - ½ 0.96^(t ψ))       Π_t = Π_{t-1} μ_t  (Π_0 = 1)
    θ = θ (1 - lr λ_d) - lr · (c_d d + c_m m) / (√(v / (1 - β2^t)) + ε)
    c_d = (1 - μ_t) / (1 - Π_t),    c_m = μ_{t+1} / (1 - Π_t μ_{t+1})

RAdam (Liu et al.), ρ∞ = 2 / (1 - β2) - 1,  ρ_t = ρ∞ - 2 t β2^t / (1 - β2^t)::

    ρ_t > 5:   θ = θ (1 - lr λ_d) - lr · r_t √(1 - β2^t) / (1 - β1^t) · m / (√v + ε)
               r_t = √((ρ_t - 4)(ρ_t - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ_t))
    otherwise: θ = θ (1 - lr λ_d) - lr · m / (1 - β1^t)

Adamax (Kingma & Ba, the ∞-norm), with u the exponentially weighted infinity norm::

    m = β1 m + (1 - β1) d          u = max(β2 u, |d| + ε)
    θ = θ - lr / (1 - β1^t) · m / u
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

from ..backend import xp
from ..tensor import Tensor
from . import _foreach

__all__ = ["sgd", "sgd_", "adam", "adam_", "adam_coefficients", "AdamCoefficients", "grad_term", "INPLACE",
           "PURE", "nadam_", "radam_", "adamax_", "nadam_coefficients", "radam_coefficients"]


class _InPlace:
    """Backend ufuncs; each result is written into ``out`` and returned."""

    add = xp.add
    mul = xp.multiply
    div = xp.divide
    sqrt = xp.sqrt
    square = xp.square
    maximum = xp.maximum
    neg = xp.negative
    abs = xp.absolute

    @staticmethod
    def copy(a, out):
        xp.copyto(out, a)
        return out


class _Pure:
    """Tensor operators; ``out`` is ignored and a new tensor (a graph node) is returned."""

    @staticmethod
    def add(a, b, out=None):
        return a + b

    @staticmethod
    def mul(a, b, out=None):
        return a * b

    @staticmethod
    def div(a, b, out=None):
        return a / b

    @staticmethod
    def sqrt(a, out=None):
        return a.sqrt()

    @staticmethod
    def square(a, out=None):
        return a * a

    @staticmethod
    def maximum(a, b, out=None):
        return a.maximum(b)

    @staticmethod
    def neg(a, out=None):
        return -a

    @staticmethod
    def abs(a, out=None):
        return a.abs()

    @staticmethod
    def copy(a, out=None):
        return a


INPLACE = _InPlace()
PURE = _Pure()
_Ops = _InPlace | _Pure


def _term(coefficient, neutral=0):
    """The coefficient of a term, or None when the term is skipped: a number equal to ``neutral``
    (a Tensor is always kept: its derivative may be wanted)."""
    if isinstance(coefficient, Tensor) or coefficient != neutral:
        return coefficient
    return None


# ---------------------------------------------------------------------------- the rules
def grad_term(ops: _Ops, p, g, t0, t1, maximize: bool, weight_decay):
    """d = ±g + weight_decay·θ (coupled L2 decay, PyTorch's ``grad.add(param, alpha=weight_decay)``);
    in place it is written into ``t0`` when it differs from g (``t1`` is scratch)."""
    d = ops.neg(g, out=t0) if maximize else g
    if weight_decay is not None:
        d = ops.add(d, ops.mul(p, weight_decay, out=t1), out=t0)
    return d


def _descend(ops: _Ops, p, direction, t1, lr, step, decoupled_weight_decay):
    """θ = θ (1 - lr·λ_d) - step·direction."""
    if decoupled_weight_decay is not None:
        p = ops.mul(p, 1 - lr * decoupled_weight_decay, out=p)
    return ops.add(p, ops.mul(direction, -step, out=t1), out=p)


def _momentum(ops: _Ops, buf, d, t1, momentum, dampening, first: bool):
    """b = d at the first step, then b = μ b + (1 - τ) d."""
    if first:
        return ops.copy(d, out=buf)
    buf = ops.mul(buf, momentum, out=buf)
    return ops.add(buf, d if dampening is None else ops.mul(d, 1 - dampening, out=t1), out=buf)


def _sgd_rule(ops: _Ops, p, g, buf, u, t0, t1, *, lr, weight_decay, momentum, dampening, nesterov, maximize,
              decoupled_weight_decay, first):
    """One SGD step; returns (θ, b).  ``u`` (in place, optional) receives the direction d of θ -= lr·d."""
    d = grad_term(ops, p, g, t0, t1, maximize, weight_decay)
    if momentum is not None:
        buf = _momentum(ops, buf, d, t1, momentum, dampening, first)
        d = ops.add(d, ops.mul(buf, momentum, out=t1), out=t0) if nesterov else buf
    if u is not None:
        ops.copy(d, out=u)
    return _descend(ops, p, d, t1, lr, lr, decoupled_weight_decay), buf


class AdamCoefficients(NamedTuple):
    """The numbers of one Adam step (see the module docstring)."""

    m_decay: Any       # a1 (None: 1, the multiply is skipped)
    m_gain: Any        # b1
    v_decay: Any       # a2 (None: 1)
    v_gain_root: Any   # c2
    eps: Any           # ε'
    direction: Any     # s


_EXACT = (1.0, 1.0, 1.0, 1.0)


def adam_coefficients(beta1, beta2, eps, step, scales=_EXACT) -> AdamCoefficients:
    """Coefficients of step ``step`` (t, 1 first) for moments kept as m = F1 m̃, v = F2 ṽ;
    ``scales = (F1, F1', F2, F2')``: the factors before and after the step (all 1: exact moments).
    Written with operators only, so β may be Tensors."""
    f1_old, f1, f2_old, f2 = scales
    bc1 = 1 - beta1 ** step
    bc2_root = (1 - beta2 ** step) ** 0.5
    root_f2 = f2 ** 0.5
    return AdamCoefficients(m_decay=_term(beta1 * f1_old / f1, 1), m_gain=(1 - beta1) / f1,
                            v_decay=_term(beta2 * f2_old / f2, 1),
                            v_gain_root=((1 - beta2) / f2) ** 0.5, eps=eps * bc2_root / root_f2,
                            direction=f1 * bc2_root / (bc1 * root_f2))


def _moment(ops: _Ops, buf, decay, term):
    """buf = decay·buf + term (decay None: 1)."""
    if decay is not None:
        buf = ops.mul(buf, decay, out=buf)
    return ops.add(buf, term, out=buf)


def _adam_rule(ops: _Ops, p, g, m, v, vmax, u, t0, t1, *, lr, coefficients: AdamCoefficients, weight_decay,
               decoupled_weight_decay, maximize):
    """One Adam step; returns (θ, m, v, v_max).  ``u`` (in place, optional) receives m̂ / (√v̂ + ε)."""
    c = coefficients
    d = grad_term(ops, p, g, t0, t1, maximize, weight_decay)
    m = _moment(ops, m, c.m_decay, ops.mul(d, c.m_gain, out=t1))
    v = _moment(ops, v, c.v_decay, ops.square(ops.mul(d, c.v_gain_root, out=t1), out=t1))
    if vmax is not None:
        vmax = ops.maximum(vmax, v, out=vmax)
    denominator = ops.add(ops.sqrt(v if vmax is None else vmax, out=t1), c.eps, out=t1)
    t = ops.div(m, denominator, out=t1)
    if u is not None:
        ops.mul(t, c.direction, out=u)
    return _descend(ops, p, t, t1, lr, lr * c.direction, decoupled_weight_decay), m, v, vmax


def _moments(ops: _Ops, d, m, v, t1, beta1, beta2):
    """m = β1 m + (1 - β1) d,  v = β2 v + (1 - β2) d²  (exact moments)."""
    m = _moment(ops, m, beta1, ops.mul(d, 1 - beta1, out=t1))
    v = _moment(ops, v, beta2, ops.mul(ops.square(d, out=t1), 1 - beta2, out=t1))
    return m, v


def nadam_coefficients(beta1, momentum_decay, step, mu_product) -> tuple:
    """(c_d, c_m, Π_t) of NAdam step t from Π_{t-1} (module docstring)."""
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    product = mu_product * mu
    return (1.0 - mu) / (1.0 - product), mu_next / (1.0 - product * mu_next), product


def _nadam_rule(ops: _Ops, p, g, m, v, t0, t1, t2, *, lr, beta1, beta2, eps, bias_correction2, grad_gain,
                avg_gain, weight_decay, decoupled_weight_decay, maximize):
    """One NAdam step; returns (θ, m, v).  ``grad_gain``, ``avg_gain``: c_d and c_m."""
    d = grad_term(ops, p, g, t0, t1, maximize, weight_decay)
    m, v = _moments(ops, d, m, v, t1, beta1, beta2)
    denominator = ops.add(ops.sqrt(ops.div(v, bias_correction2, out=t1), out=t1), eps, out=t1)
    numerator = ops.add(ops.mul(d, grad_gain, out=t0), ops.mul(m, avg_gain, out=t2), out=t0)
    t = ops.div(numerator, denominator, out=t0)
    return _descend(ops, p, t, t1, lr, lr, decoupled_weight_decay), m, v


def radam_coefficients(beta1, beta2, step) -> tuple:
    """(rectified, s) of RAdam step t: the direction is s·m / (√v + ε) when rectified, else s·m."""
    bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * step * beta2 ** step / bc2
    if rho <= 5.0:
        return False, 1 / bc1
    rect = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5
    return True, rect * bc2 ** 0.5 / bc1


def _radam_rule(ops: _Ops, p, g, m, v, t0, t1, *, lr, beta1, beta2, eps, rectified, direction, weight_decay,
                decoupled_weight_decay, maximize):
    """One RAdam step; returns (θ, m, v)."""
    d = grad_term(ops, p, g, t0, t1, maximize, weight_decay)
    m, v = _moments(ops, d, m, v, t1, beta1, beta2)
    t = ops.div(m, ops.add(ops.sqrt(v, out=t1), eps, out=t1), out=t1) if rectified else m
    return _descend(ops, p, t, t1, lr, lr * direction, decoupled_weight_decay), m, v


def _adamax_rule(ops: _Ops, p, g, m, u, t0, t1, *, lr, beta1, beta2, eps, bias_correction1, weight_decay,
                 maximize):
    """One Adamax step; returns (θ, m, u)."""
    d = grad_term(ops, p, g, t0, t1, maximize, weight_decay)
    m = _moment(ops, m, beta1, ops.mul(d, 1 - beta1, out=t1))
    u = ops.maximum(ops.mul(u, beta2, out=u), ops.add(ops.abs(d, out=t1), eps, out=t1), out=u)
    t = ops.div(m, u, out=t1)
    return _descend(ops, p, t, t1, lr, lr / bias_correction1, None), m, u


# the in-place kernels run by ``_foreach``: kernel(p, g, buffers..., t0, t1, **hyperparameters)
_sgd_kernel = partial(_sgd_rule, INPLACE)
_adam_kernel = partial(_adam_rule, INPLACE)
_nadam_kernel = partial(_nadam_rule, INPLACE)
_radam_kernel = partial(_radam_rule, INPLACE)
_adamax_kernel = partial(_adamax_rule, INPLACE)


# ---------------------------------------------------------------------------- in place, on arrays
def _item(seq, i):
    return None if seq is None else seq[i]


def _sgd_options(lr, weight_decay, momentum, dampening, nesterov, maximize, decoupled_weight_decay) -> dict:
    return dict(lr=lr, weight_decay=_term(weight_decay), momentum=_term(momentum), dampening=_term(dampening),
                nesterov=nesterov, maximize=maximize, decoupled_weight_decay=_term(decoupled_weight_decay))


def _adam_options(lr, weight_decay, decoupled_weight_decay, maximize) -> dict:
    return dict(lr=lr, weight_decay=_term(weight_decay), decoupled_weight_decay=_term(decoupled_weight_decay),
                maximize=maximize)


def sgd_(params: Sequence, grads: Sequence, momentum_buffers: list, *, lr: float, weight_decay: float = 0.0,
         momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False, maximize: bool = False,
         decoupled_weight_decay: float = 0.0, directions: Sequence | None = None) -> None:
    """SGD on arrays, in place.  ``momentum_buffers[i]`` is None before the first step: the buffer is
    then created (b = d) and stored in the list.  ``directions`` (optional arrays) receive each d."""
    kw = _sgd_options(lr, weight_decay, momentum, dampening, nesterov, maximize, decoupled_weight_decay)
    later, first = dict(kw, first=False), dict(kw, first=True)
    uses_buffer = kw["momentum"] is not None
    tasks = []
    for i, (p, g) in enumerate(zip(params, grads)):
        buf = momentum_buffers[i] if uses_buffer else None
        starts = uses_buffer and buf is None
        if starts:
            buf = momentum_buffers[i] = xp.empty_like(p)
        tasks.append((_sgd_kernel, [p, g, buf, _item(directions, i)], first if starts else later))
    _foreach.run(tasks, n_tmp=2)


def adam_(params: Sequence, grads: Sequence, exp_avgs: Sequence, exp_avg_sqs: Sequence,
          max_exp_avg_sqs: Sequence | None, steps: Sequence[float], *, lr: float, beta1: float, beta2: float,
          eps: float, weight_decay: float = 0.0, decoupled_weight_decay: float = 0.0, maximize: bool = False,
          scales: Sequence | None = None, directions: Sequence | None = None) -> None:
    """Adam on arrays, in place.  ``steps[i]``: the step number t of parameter i (1 at the first step).
    ``max_exp_avg_sqs``: the running maxima (amsgrad) or None.  ``scales[i]`` = (F1, F1', F2, F2') when
    the moments are kept up to factors (default: exact).  ``directions`` receive m̂ / (√v̂ + ε)."""
    kw = _adam_options(lr, weight_decay, decoupled_weight_decay, maximize)
    tasks = []
    for i, (p, g) in enumerate(zip(params, grads)):
        c = adam_coefficients(beta1, beta2, eps, steps[i], _EXACT if scales is None else scales[i])
        arrays = [p, g, exp_avgs[i], exp_avg_sqs[i], _item(max_exp_avg_sqs, i), _item(directions, i)]
        tasks.append((_adam_kernel, arrays, dict(kw, coefficients=c)))
    _foreach.run(tasks, n_tmp=2)


def nadam_(params: Sequence, grads: Sequence, exp_avgs: Sequence, exp_avg_sqs: Sequence, mu_products: list,
           steps: Sequence[float], *, lr: float, beta1: float, beta2: float, eps: float, momentum_decay: float,
           weight_decay: float = 0.0, decoupled_weight_decay: float = 0.0, maximize: bool = False) -> None:
    """NAdam on arrays, in place.  ``mu_products[i]`` holds Π_{t-1} and is replaced by Π_t."""
    kw = dict(_adam_options(lr, weight_decay, decoupled_weight_decay, maximize), beta1=beta1, beta2=beta2,
              eps=eps)
    tasks = []
    for i, (p, g) in enumerate(zip(params, grads)):
        c_d, c_m, mu_products[i] = nadam_coefficients(beta1, momentum_decay, steps[i], mu_products[i])
        tasks.append((_nadam_kernel, [p, g, exp_avgs[i], exp_avg_sqs[i]],
                      dict(kw, bias_correction2=1 - beta2 ** steps[i], grad_gain=c_d, avg_gain=c_m)))
    _foreach.run(tasks, n_tmp=3)


def radam_(params: Sequence, grads: Sequence, exp_avgs: Sequence, exp_avg_sqs: Sequence, steps: Sequence[float],
           *, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
           decoupled_weight_decay: float = 0.0, maximize: bool = False) -> None:
    """RAdam on arrays, in place (``steps[i]``: t, 1 first)."""
    kw = dict(_adam_options(lr, weight_decay, decoupled_weight_decay, maximize), beta1=beta1, beta2=beta2,
              eps=eps)
    tasks = []
    for i, (p, g) in enumerate(zip(params, grads)):
        rectified, direction = radam_coefficients(beta1, beta2, steps[i])
        tasks.append((_radam_kernel, [p, g, exp_avgs[i], exp_avg_sqs[i]],
                      dict(kw, rectified=rectified, direction=direction)))
    _foreach.run(tasks, n_tmp=2)


def adamax_(params: Sequence, grads: Sequence, exp_avgs: Sequence, exp_infs: Sequence, steps: Sequence[float], *,
            lr: float, beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
            maximize: bool = False) -> None:
    """Adamax on arrays, in place (``steps[i]``: t, 1 first)."""
    kw = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=_term(weight_decay), maximize=maximize)
    tasks = [(_adamax_kernel, [p, g, exp_avgs[i], exp_infs[i]], dict(kw, bias_correction1=1 - beta1 ** steps[i]))
             for i, (p, g) in enumerate(zip(params, grads))]
    _foreach.run(tasks, n_tmp=2)


# ---------------------------------------------------------------------------- pure, on tensors
def _zeros(p: Tensor) -> Tensor:
    return Tensor._make(xp.zeros_like(p._data))


def sgd(params: Sequence[Tensor], grads: Sequence[Tensor], momentum_buffers: Sequence[Tensor | None], *, lr,
        weight_decay=0.0, momentum=0.0, dampening=0.0, nesterov: bool = False, maximize: bool = False,
        decoupled_weight_decay=0.0) -> tuple[list[Tensor], list[Tensor | None]]:
    """SGD on tensors, recorded in the graph: returns (new parameters, new momentum buffers).  A None
    buffer means the first step (b = d); without momentum the buffers stay None.  Hyperparameters
    may be Tensors."""
    kw = _sgd_options(lr, weight_decay, momentum, dampening, nesterov, maximize, decoupled_weight_decay)
    new_params, new_bufs = [], []
    for p, g, buf in zip(params, grads, momentum_buffers):
        q, b = _sgd_rule(PURE, p, g, buf, None, None, None, first=buf is None, **kw)
        new_params.append(q)
        new_bufs.append(b)
    return new_params, new_bufs


def adam(params: Sequence[Tensor], grads: Sequence[Tensor], exp_avgs: Sequence[Tensor | None],
         exp_avg_sqs: Sequence[Tensor | None], max_exp_avg_sqs: Sequence[Tensor | None] | None,
         steps: Sequence[float], *, lr, beta1, beta2, eps: float, weight_decay=0.0, decoupled_weight_decay=0.0,
         maximize: bool = False) -> tuple[list, list, list, list | None]:
    """Adam on tensors, recorded in the graph: returns (parameters, exp_avgs, exp_avg_sqs, max_exp_avg_sqs),
    the last None without amsgrad.  A None moment is zero (the first step); ``steps[i]`` is t (1 first)."""
    kw = _adam_options(lr, weight_decay, decoupled_weight_decay, maximize)
    out: tuple[list, list, list, list] = ([], [], [], [])
    for i, (p, g) in enumerate(zip(params, grads)):
        moments = [exp_avgs[i], exp_avg_sqs[i]] + ([] if max_exp_avg_sqs is None else [max_exp_avg_sqs[i]])
        m, v, *vmax = (_zeros(p) if t is None else t for t in moments)
        c = adam_coefficients(beta1, beta2, eps, steps[i])
        results = _adam_rule(PURE, p, g, m, v, vmax[0] if vmax else None, None, None, None, coefficients=c, **kw)
        for seq, r in zip(out, results):
            seq.append(r)
    return out[0], out[1], out[2], (out[3] if max_exp_avg_sqs is not None else None)
