"""Activation layers; formulas in ``lamina.nn.functional.activation``."""
from __future__ import annotations

from ...tensor import Parameter, Tensor, tensor
from .. import functional as F
from .module import Module

__all__ = ["Step", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "SiLU", "Swish", "Sine", "Softplus",
           "Softmax", "LogSoftmax", "Softmin", "GELU", "Hardtanh", "ReLU6", "LogSigmoid", "Softsign", "PReLU"]


class Step(Module):
    """Heaviside step [x > 0]; no gradient flows through it."""

    def forward(self, input):
        return F.step(input)


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class ReLU(Module):
    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """max(a·x, x) with a = negative_slope (0 < a < 1)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(Module):
    """λ·ELU(x, α) with SELU's constants; initialise the layers before it with ``init.lecun_normal_``."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.selu(input)


class SiLU(Module):
    """x·σ(x)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input)


class Swish(Module):
    """x·σ(βx). ``trainable=True`` makes β a learnable parameter (one scalar)."""

    beta: Parameter | float

    def __init__(self, beta: float = 1.0, trainable: bool = False):
        super().__init__()
        self.trainable = trainable
        if trainable:
            self.beta = Parameter(tensor(float(beta)))
        else:
            self.beta = float(beta)

    def forward(self, input: Tensor) -> Tensor:
        beta: Tensor | float = self.beta
        if isinstance(beta, Parameter) and beta.dtype != input.dtype:
            beta = beta.to(input.dtype)
        return F.swish(input, beta)

    def extra_repr(self):
        b = self.beta.item() if isinstance(self.beta, Parameter) else self.beta
        return f"beta={b}" + (", trainable=True" if self.trainable else "")


class Sine(Module):
    """sin(x) as an activation."""

    def forward(self, input):
        return F.sine(input)


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input):
        return F.log_softmax(input, self.dim)


class Softmin(Softmax):
    def forward(self, input):
        return F.softmin(input, self.dim)


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate='{self.approximate}'"


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Module):
    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.relu6(input)


class LogSigmoid(Module):
    def forward(self, input):
        return F.logsigmoid(input)


class Softsign(Module):
    def forward(self, input):
        return F.softsign(input)


class PReLU(Module):
    """Leaky ReLU with a learnable slope: one shared (num_parameters=1) or one per channel (dim 1)."""

    # PyTorch's attribute name; on this layer it hides Module.num_parameters(), hence the ignore
    num_parameters: int  # type: ignore[assignment]

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(tensor([float(init)] * num_parameters, dtype=dtype))

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Mish(Module):
    """x · tanh(softplus(x))."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.mish(input)


__all__ += ["Mish"]
