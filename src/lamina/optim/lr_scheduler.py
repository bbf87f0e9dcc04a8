"""Learning-rate schedules: a high learning rate far from the minimum, a small one close to it.

Each scheduler owns an optimizer and rewrites ``group['lr']`` of its groups when
``step()`` is called (once per epoch, after ``optimizer.step()``).  Building one sets
``group['initial_lr']`` (the α0 of the formulas) and applies epoch 0.  Semantics,
values and state dicts follow ``torch.optim.lr_scheduler`` — the chainable forms
(lr ← lr·factor) where PyTorch uses them, so sequences agree to the last bit.

The classic decays, as named schedulers (epoch = ``last_epoch``, 0 first):

==========================  ===========================================================
``InverseTimeLR(t)``         α = α0 / (1 + t·epoch)
``StepDecayLR(n, t)``        every n epochs α ← α - t·α, i.e. α0·(1 - t)^(epoch // n)
                             (= ``StepLR(step_size=n, gamma=1 - t)``)
``ExponentialDecayLR(t)``    α = t^epoch · α0  (= ``ExponentialLR(gamma=t)``)
``InverseSqrtLR(t)``         α = t/√epoch · α0 for epoch ≥ 1; α0 at epoch 0, where the
                             formula divides by zero (with t = 1: α0, α0, α0/√2, ...)
``ManualLR(table)``          α set by hand: a list (α of epoch 0, 1, 2, ...; the last
                             value holds afterwards) or a dict {first epoch: α}
                             (piecewise constant; α0 before the first key)
==========================  ===========================================================

plus PyTorch's LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR
(warm-up), ExponentialLR, PolynomialLR, CosineAnnealingLR, SequentialLR,
ChainedScheduler, OneCycleLR, CyclicLR and ReduceLROnPlateau.
"""
from __future__ import annotations

import copy
import math
import types
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define ``get_lr()`` (chainable) and optionally ``_closed_form_lr()``."""

    _is_initial = False

    def __init__(self, optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a lamina.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' while resuming "
                                   f"with last_epoch={last_epoch}; load the optimizer state first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise TypeError(f"{type(self).__name__} does not define get_lr(): LRScheduler is a base class")

    def _group_lrs(self) -> list:
        return [g["lr"] for g in self.optimizer.param_groups]

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``, using the closed form when there is one)."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = self._group_lrs()

    def get_last_lr(self) -> list:
        """The learning rates set by the last ``step()``, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (plain numbers and lists), as a copy: changing the dict (or saving it)
        leaves the scheduler as it was."""
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(copy.deepcopy(dict(state_dict)))


_LRScheduler = LRScheduler


# ---------------------------------------------------------------------------- PyTorch's schedulers
class _LambdaMixin:
    """State-dict handling of user functions (saved only when they are callable objects)."""

    def _set_lambdas(self, optimizer, lr_lambda):
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"{type(self).__name__}: expected {n} lr_lambdas (one per group), "
                                 f"got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"{type(self).__name__}: lr_lambda should be callable, got {type(fn).__name__}")

    def state_dict(self):
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        sd["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                            for fn in self.lr_lambdas]
        return copy.deepcopy(sd)

    def load_state_dict(self, state_dict):
        sd = copy.deepcopy(dict(state_dict))
        fns = sd.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        self.__dict__.update(sd)
        for fn, saved in zip(self.lr_lambdas, fns):
            if saved is not None:
                fn.__dict__.update(saved)


class LambdaLR(_LambdaMixin, LRScheduler):
    """lr = initial_lr · lr_lambda(epoch)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self._set_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaMixin, LRScheduler):
    """lr ← lr · lr_lambda(epoch) at every step after the first."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self._set_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [g["lr"] * fn(self.last_epoch) for fn, g in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """lr = initial_lr · gamma^(epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = int(step_size), gamma
        if self.step_size < 1:
            raise ValueError(f"{type(self).__name__}: step_size must be >= 1, got {step_size}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr · gamma^(number of milestones ≤ epoch)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._group_lrs()
        return [g["lr"] * self.gamma ** self.milestones[self.last_epoch] for g in self.optimizer.param_groups]

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(k): int(v) for k, v in dict(self.milestones).items()})

    def _closed_form_lr(self):
        ms = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(ms, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr = initial_lr · factor for the first ``total_iters`` epochs, then initial_lr."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1.0:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self._group_lrs()
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear warm-up: the factor goes from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1.0:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1.0:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [g["lr"] * ratio for g in self.optimizer.param_groups]

    def _closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * frac) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr · gamma^epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = initial_lr · (1 - min(epoch, total_iters)/total_iters)^power."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min)(1 + cos(π·epoch/T_max))/2 (PyTorch's recursive form)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, t, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and e > 0:
            return [lo + (base - lo) * (1 + math.cos(e * math.pi / t)) / 2 for base in self.base_lrs]
        if (e - 1 - t) % (2 * t) == 0:
            return [g["lr"] + (base - lo) * (1 - math.cos(math.pi / t)) / 2
                    for base, g in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t)) * (g["lr"] - lo) + lo
                for g in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


def _check_children(owner, optimizer, schedulers):
    for i, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{owner}: ReduceLROnPlateau (index {i}) needs a metric in step() and can't be chained")
        if getattr(s, "optimizer", None) is not optimizer:
            raise ValueError(f"{owner}: scheduler {i} ({type(s).__name__}) belongs to another optimizer")


class _Composite(LRScheduler):
    """A scheduler made of schedulers: their state dicts are saved inside its own."""

    def state_dict(self):
        sd = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")})
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state_dict):
        self.__dict__.update(copy.deepcopy({k: v for k, v in state_dict.items() if k != "_schedulers"}))
        for s, c in zip(self._schedulers, state_dict["_schedulers"]):
            s.load_state_dict(c)


def _undo_initial_step(s):
    if hasattr(s, "_schedulers"):
        for c in s._schedulers:
            _undo_initial_step(c)
    else:
        s.last_epoch -= 1


class SequentialLR(_Composite):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]`` (e.g. warm-up then decay)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR: expected at least one scheduler")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones for {len(schedulers)} "
                             f"schedulers, got {len(milestones)}")
        _check_children("SequentialLR", optimizer, schedulers)
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_initial_step(self)   # each child stepped once when it was built
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several schedulers together (their factors multiply)."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler: expected at least one scheduler")
        optimizer = optimizer or schedulers[0].optimizer
        _check_children("ChainedScheduler", optimizer, schedulers)
        self._schedulers, self.optimizer = list(schedulers), optimizer
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


def _one_cycle_steps(total_steps, epochs, steps_per_epoch) -> int:
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
        total_steps = int(epochs) * int(steps_per_epoch)
    if total_steps <= 0:
        raise ValueError(f"OneCycleLR: expected a positive number of steps, got {total_steps}")
    return total_steps


def _one_cycle_phases(total_steps: int, pct_start: float, three_phase: bool) -> list:
    """(last step, lr from, lr to, momentum from, momentum to) of each phase."""
    up = float(pct_start * total_steps) - 1
    if three_phase:
        return [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
    return [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up from max_lr/div_factor to max_lr, then anneal to
    max_lr/(div_factor·final_div_factor), per batch; momentum (or Adam's β1) cycles inversely."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: expected a lamina.optim.Optimizer, got {type(optimizer).__name__}")
        total_steps = _one_cycle_steps(total_steps, epochs, steps_per_epoch)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self._phases = _one_cycle_phases(total_steps, pct_start, three_phase)
        groups = optimizer.param_groups
        max_lrs = _per_group("max_lr", groups, max_lr)
        if last_epoch == -1:
            for g, m in zip(groups, max_lrs):
                g["initial_lr"] = m / div_factor
                g["max_lr"] = m
                g["min_lr"] = g["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _init_momentum(self, optimizer, base_momentum, max_momentum, last_epoch) -> None:
        """Cycle the momentum (or Adam's β1) between base_momentum and max_momentum, starting at the max."""
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum or betas")
        self.use_beta1 = "betas" in optimizer.defaults
        if last_epoch != -1:
            return
        groups = optimizer.param_groups
        for g, hi, lo in zip(groups, _per_group("max_momentum", groups, max_momentum),
                             _per_group("base_momentum", groups, base_momentum)):
            self._set_momentum(g, hi)
            g["max_momentum"], g["base_momentum"] = hi, lo

    def _set_momentum(self, group, value):
        _set_group_momentum(group, self.use_beta1, value)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; total_steps is {self.total_steps}")
        lrs = []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_a, lr_b, m_a, m_b) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(g[lr_a], g[lr_b], pct))
                    if self.cycle_momentum:
                        self._set_momentum(g, self._anneal(g[m_a], g[m_b], pct))
                    break
                start = end
        return lrs


def _set_group_momentum(group: dict, use_beta1: bool, value) -> None:
    """Set a group's momentum, or its β1 when the optimizer has betas (Adam and its variants)."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith), stepped per batch.  With c = ⌊1 + n/(up + down)⌋ the cycle of batch n
    and x = 1 + n/(up + down) - c its position in it, the height h = x/r going up (x ≤ r = up/(up + down)),
    (x - 1)/(r - 1) going down, and::

        lr = base_lr + (max_lr - base_lr) · h · scale
        momentum = max_momentum - (max_momentum - base_momentum) · h · scale   (cycle_momentum: SGD's
                                                                                 momentum or Adam's β1)

    scale = 1 (``'triangular'``), 1/2^(c-1) (``'triangular2'``), gamma^n (``'exp_range'``), or
    ``scale_fn(c)`` / ``scale_fn(n)`` (``scale_mode='cycle'`` / ``'iterations'``)."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CyclicLR: expected a lamina.optim.Optimizer, got {type(optimizer).__name__}")
        if mode not in _CYCLIC_MODES and scale_fn is None:
            raise ValueError(f"CyclicLR: mode must be one of {_CYCLIC_MODES} (or give scale_fn), got {mode!r}")
        groups = optimizer.param_groups
        base_lrs = _per_group("base_lr", groups, base_lr)
        if last_epoch == -1:
            for g, lr in zip(groups, base_lrs):
                g["lr"] = lr
        self.max_lrs = _per_group("max_lr", groups, max_lr)
        up = float(step_size_up)
        down = up if step_size_down is None else float(step_size_down)
        self.total_size, self.step_ratio = up + down, up / (up + down)
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_momentum(self, optimizer, base_momentum, max_momentum, last_epoch) -> None:
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError("CyclicLR: cycle_momentum needs an optimizer with momentum or betas "
                             f"({type(optimizer).__name__} has neither); pass cycle_momentum=False")
        self.use_beta1 = "betas" in optimizer.defaults
        groups = optimizer.param_groups
        self.base_momentums = _per_group("base_momentum", groups, base_momentum)
        self.max_momentums = _per_group("max_momentum", groups, max_momentum)
        if last_epoch == -1:
            for g, hi, lo in zip(groups, self.max_momentums, self.base_momentums):
                _set_group_momentum(g, self.use_beta1, hi)
                g["max_momentum"], g["base_momentum"] = hi, lo

    def scale_fn(self, x) -> float:
        """The amplitude's scale at cycle (or batch) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma ** x
        return 1.0

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        height = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * height * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for g, lo, hi in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_group_momentum(g, self.use_beta1, hi - (hi - lo) * height * scale)
        return lrs

    def state_dict(self):
        """As the base class; a custom ``scale_fn`` is saved as its ``__dict__`` when it is a callable object
        (a function or lambda is not saved: None)."""
        fn = self._scale_fn_custom
        sd = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_scale_fn_custom")})
        sd["_scale_fn_custom"] = None if fn is None or isinstance(fn, types.FunctionType) else dict(fn.__dict__)
        return sd

    def load_state_dict(self, state_dict):
        sd = dict(state_dict)
        saved = sd.pop("_scale_fn_custom", None)
        super().load_state_dict(sd)
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(copy.deepcopy(saved))


def _per_group(name, groups, value):
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"{name}: expected {len(groups)} values (one per group), got {len(value)}")
        return list(value)
    return [value] * len(groups)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when ``step(metric)`` has not improved for ``patience`` epochs."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected a lamina.optim.Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer, self.factor = optimizer, factor
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr, self.min_lrs = None, _per_group("min_lr", optimizer.param_groups, min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * len(optimizer.param_groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = self._group_lrs()
        self._reset()

    def _reset(self):
        self.best, self.cooldown_counter, self.num_bad_epochs = self.mode_worse, 0, 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    def step(self, metrics, epoch=None):
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._group_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} groups but {len(self.min_lrs)} "
                                   "min_lrs were given; update min_lrs after add_param_group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for g, lo in zip(groups, self.min_lrs):
            old = float(g["lr"])
            new = max(old * self.factor, lo)
            if old - new > self.eps:
                g["lr"] = new


# ---------------------------------------------------------------------------- the classic decays
class InverseTimeLR(LRScheduler):
    """α = α0 / (1 + decay_rate·epoch)  (for instance α0 = 0.1, decay_rate = 1.0)."""

    def __init__(self, optimizer, decay_rate=1.0, last_epoch=-1):
        if decay_rate < 0:
            raise ValueError(f"InverseTimeLR: decay_rate must be >= 0, got {decay_rate}")
        self.decay_rate = decay_rate
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base / (1.0 + self.decay_rate * self.last_epoch) for base in self.base_lrs]

    _closed_form_lr = get_lr


class StepDecayLR(StepLR):
    """Every ``step_size`` epochs α ← α - decay_rate·α (step decay), i.e. StepLR with
    gamma = 1 - decay_rate."""

    def __init__(self, optimizer, step_size, decay_rate=0.5, last_epoch=-1):
        if not 0 <= decay_rate <= 1:
            raise ValueError(f"StepDecayLR: decay_rate must be in [0, 1], got {decay_rate}")
        self.decay_rate = decay_rate
        super().__init__(optimizer, step_size, gamma=1.0 - decay_rate, last_epoch=last_epoch)


class ExponentialDecayLR(ExponentialLR):
    """α = decay_rate^epoch · α0 (exponential decay): ExponentialLR with gamma = decay_rate."""

    def __init__(self, optimizer, decay_rate, last_epoch=-1):
        self.decay_rate = decay_rate
        super().__init__(optimizer, gamma=decay_rate, last_epoch=last_epoch)


class InverseSqrtLR(LRScheduler):
    """α = decay_rate/√epoch · α0 for epoch ≥ 1, and α0 at epoch 0 (the t/√epoch decay)."""

    def __init__(self, optimizer, decay_rate=1.0, last_epoch=-1):
        if decay_rate <= 0:
            raise ValueError(f"InverseSqrtLR: decay_rate must be > 0, got {decay_rate}")
        self.decay_rate = decay_rate
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch <= 0:
            return list(self.base_lrs)
        return [self.decay_rate / math.sqrt(self.last_epoch) * base for base in self.base_lrs]

    _closed_form_lr = get_lr


class ManualLR(LRScheduler):
    """Learning rates set by hand (the learning rate set manually every n epochs).

    ``table``: a list — the lr of epoch 0, 1, 2, ... (the last one holds afterwards) — or a dict
    ``{first_epoch: lr}`` (piecewise constant, the initial lr before the first key).  The same
    value is given to every parameter group."""

    def __init__(self, optimizer, table, last_epoch=-1):
        if isinstance(table, dict):
            items = sorted((int(k), float(v)) for k, v in table.items())
            self.epochs, self.lrs, self.from_dict = [k for k, _ in items], [v for _, v in items], True
        else:
            self.lrs = [float(v) for v in table]
            self.epochs, self.from_dict = list(range(len(self.lrs))), False
        if not self.lrs:
            raise ValueError("ManualLR: the table is empty")
        if any(v < 0 for v in self.lrs):
            raise ValueError(f"ManualLR: learning rates must be >= 0, got {self.lrs}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        i = bisect_right(self.epochs, self.last_epoch) - 1
        if i < 0:
            return list(self.base_lrs)
        return [self.lrs[i]] * len(self.optimizer.param_groups)

    _closed_form_lr = get_lr
