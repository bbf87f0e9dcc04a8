"""Switching graph recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each works as a context manager and as a decorator, as in PyTorch. Inside
``no_grad`` ops build no graph, so no activation is kept alive for backward.
"""
from __future__ import annotations

import functools

from .. import _mode


def is_grad_enabled() -> bool:
    return _mode.grad_enabled


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (and not inside an ``inference_mode(False)`` within it)."""
    return _mode.inference


class _GradMode:
    _enabled = True

    def __enter__(self):
        self._prev = _mode.grad_enabled
        _mode.grad_enabled = self._enabled
        return self

    def __exit__(self, *exc):
        _mode.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Ops inside build no graph and keep no activations (inference)."""

    _enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block."""

    _enabled = True


class inference_mode(no_grad):
    """``no_grad`` that ``is_inference_mode_enabled()`` reports; ``inference_mode(False)`` turns grad mode on
    and inference mode off inside, as in PyTorch."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)

    def __enter__(self):
        self._prev = _mode.grad_enabled
        self._prev_inference = _mode.inference
        _mode.grad_enabled = not self._mode
        _mode.inference = self._mode
        return self

    def __exit__(self, *exc):
        _mode.grad_enabled = self._prev
        _mode.inference = self._prev_inference
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` as a context manager, decorator, or plain call."""

    def __init__(self, mode: bool):
        self._enabled = bool(mode)
        self._prev = _mode.grad_enabled
        _mode.grad_enabled = self._enabled

    def __enter__(self):
        return self

    def __call__(self, fn):
        _mode.grad_enabled = self._prev
        mode = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
