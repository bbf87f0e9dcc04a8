"""The step of the optimizers that re-evaluate the function (BFGS, L-BFGS): one closure call, then iterations.

``step(closure)`` evaluates the loss and the flat gradient g once; when ‖g‖∞ exceeds ``tolerance_grad``
it runs the subclass's ``_iterate`` (which calls ``evaluate`` again along its line searches). Both keep
``func_evals`` and ``n_iter`` in the state of the first parameter, as PyTorch's L-BFGS does.
"""
from __future__ import annotations

from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import xp
from ._flat import FlatParams
from .optimizer import Optimizer


class ClosureOptimizer(Optimizer):
    """An optimizer over the flat vector of one parameter group whose ``step`` needs a closure."""

    label = "ClosureOptimizer"  # the name in messages ("L-BFGS")

    def _flat(self) -> FlatParams:
        return FlatParams(self.param_groups[0]["params"])

    def _step_group(self, group):
        raise TypeError(f"{type(self).__name__}.step needs a closure: step(closure)")

    def step(self, closure=None):
        """Up to ``max_iter`` iterations; returns the loss of the first closure call."""
        if closure is None:
            raise TypeError(f"{type(self).__name__}.step(closure): {self.label} re-evaluates the function, so a "
                            "closure is required (it must zero the grads, compute the loss, call backward() and "
                            "return the loss)")
        group = self.param_groups[0]
        flat = self._flat()

        def evaluate():
            with enable_grad():
                out = closure()
            return out, float(out), flat.grads()

        state = self.state[flat.params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with no_grad():
            orig_loss, loss, flat_grad = evaluate()
            state["func_evals"] += 1
            if xp.abs(flat_grad).max(initial=0.0) > group["tolerance_grad"]:
                self._iterate(group, flat, evaluate, state, loss, flat_grad)
        return orig_loss

    def _iterate(self, group, flat, evaluate, state, loss, flat_grad) -> None:
        raise TypeError(f"{type(self).__name__} defines no iterations")  # every subclass overrides it
