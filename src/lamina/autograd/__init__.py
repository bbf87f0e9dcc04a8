"""Reverse-mode and forward-mode automatic differentiation.

``backward`` / ``grad`` walk the recorded graph backwards (engine.py); ``Function`` lets
users add ops; ``forward_ad`` carries dual numbers forward; ``gradcheck`` compares
both against finite differences.
"""
from . import forward_ad
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .op import Op

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "forward_ad", "no_grad",
           "enable_grad", "inference_mode", "is_inference_mode_enabled", "set_grad_enabled", "is_grad_enabled",
           "gradcheck", "gradgradcheck", "GradcheckError", "Op"]
