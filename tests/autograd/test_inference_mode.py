"""``inference_mode`` and ``is_inference_mode_enabled`` in the nestings PyTorch allows, and ``autograd.grad``'s
torch-compatible keywords."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina


def _states(m):
    """(grad enabled, inference enabled) seen inside a few nestings of grad-mode blocks."""
    seen = [(m.is_grad_enabled(), m.is_inference_mode_enabled())]
    with m.inference_mode():
        seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
        with m.inference_mode(False):
            seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
        with m.enable_grad():
            seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
        seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
    with m.no_grad(), m.inference_mode(False):
        seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
    seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
    return seen


def test_inference_mode_flags_match_torch_in_nested_blocks():
    assert _states(lamina) == _states(torch)


def test_inference_mode_as_decorator_records_nothing():
    @lamina.inference_mode()
    def f(x):
        return x * 2, lamina.is_inference_mode_enabled()

    y, inside = f(lamina.ones(2, requires_grad=True))
    assert inside and not y.requires_grad and not lamina.is_inference_mode_enabled()


def test_grad_accepts_only_inputs_and_refuses_batched_grads():
    x = lamina.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = lamina.autograd.grad((x ** 2).sum(), x, only_inputs=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    with pytest.raises(NotImplementedError, match="autograd.grad: is_grads_batched=True"):
        lamina.autograd.grad((x ** 2).sum(), x, is_grads_batched=True)
