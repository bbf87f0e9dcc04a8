"""Multilayer perceptrons, f(x) = f_k(f_{k−1}(… f_0(x))) with f_i(x) = σ(W_i x + b_i), and the 2-2-1 XOR
network."""
from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from .. import nn
from ..tensor import Tensor

__all__ = ["MLP", "XORNet"]

_ACTIVATIONS = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
    "selu": nn.SELU, "silu": nn.SiLU, "swish": nn.Swish, "sine": nn.Sine, "softplus": nn.Softplus,
    "gelu": nn.GELU, "step": nn.Step, "identity": nn.Identity,
}


def _activation(spec: str | Callable[[], nn.Module]) -> nn.Module:
    if isinstance(spec, str):
        try:
            return _ACTIVATIONS[spec.lower()]()
        except KeyError:
            raise ValueError(f"MLP: unknown activation {spec!r}; choose one of {sorted(_ACTIVATIONS)} "
                             "or pass a Module class / factory") from None
    if isinstance(spec, nn.Module):
        raise TypeError("MLP: pass the activation's class or a factory (e.g. nn.ReLU), not an instance, so each "
                        "layer gets its own")
    return spec()


class MLP(nn.Sequential):
    """``MLP([784, 256, 128, 10])``: Linear layers between consecutive sizes, the activation after every hidden
    layer (none after the last). Optional BatchNorm1d after each hidden Linear and Dropout after each
    hidden activation. A Sequential, so ``mlp[0]`` is the first Linear and its state_dict keys match
    ``torch.nn.Sequential(Linear, ReLU, Linear, ...)`` built the same way.

    ``activation``: a name ('relu', 'tanh', 'sigmoid', 'leaky_relu', 'elu', 'selu', 'silu', 'swish', 'sine',
    'softplus', 'gelu', 'step', 'identity'), a Module class, or a zero-argument factory. With 'selu' the
    Linear weights are drawn with lecun_normal_ (the self-normalising recipe) and zero biases."""

    def __init__(self, sizes, activation="relu", dropout: float = 0.0, batchnorm: bool = False, bias: bool = True,
                 dtype=None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, got {sizes}")
        layers: list[nn.Module] = []
        selu = False
        for i, (a, b) in enumerate(pairwise(sizes)):
            lin = nn.Linear(a, b, bias=bias, dtype=dtype)
            layers.append(lin)
            if i < len(sizes) - 2:
                after = _after_hidden(b, activation, dropout, batchnorm, dtype)
                layers += after
                if any(isinstance(m, nn.SELU) for m in after):
                    selu = True
                    _lecun_init_(lin)
        super().__init__(*layers)
        if selu:
            _lecun_init_(lin)  # the output layer as well
        self.sizes = sizes

    def forward(self, input: Tensor) -> Tensor:
        # A Linear directly followed by a ReLU runs as one fused node (same result, less memory traffic),
        # unless either has hooks, which must see their own call.
        mods = list(self)
        i, n = 0, len(mods)
        while i < n:
            m = mods[i]
            if (i + 1 < n and type(m) is nn.Linear and type(mods[i + 1]) is nn.ReLU and not m._has_forward_hooks()
                    and not mods[i + 1]._has_forward_hooks()):
                input = m.forward_relu(input)
                i += 2
            else:
                input = m(input)
                i += 1
        return input


def _after_hidden(size: int, activation, dropout: float, batchnorm: bool, dtype) -> list[nn.Module]:
    """What follows a hidden Linear: [BatchNorm1d], the activation, [Dropout, or AlphaDropout after SELU]."""
    layers: list[nn.Module] = [nn.BatchNorm1d(size, dtype=dtype)] if batchnorm else []
    act = _activation(activation)
    layers.append(act)
    if dropout:
        layers.append(nn.AlphaDropout(dropout) if isinstance(act, nn.SELU) else nn.Dropout(dropout))
    return layers


def _lecun_init_(lin: nn.Linear) -> None:
    """The self-normalising recipe for SELU networks: W ~ N(0, 1/fan_in), b = 0."""
    nn.init.lecun_normal_(lin.weight)
    if lin.bias is not None:
        nn.init.zeros_(lin.bias)


class XORNet(nn.Module):
    """The XOR network: 2 inputs -> 2 sigmoid hidden units -> 1 output logit (the smallest MLP that separates
    x₁ xor x₂, which no linear model can).

    Train it with ``BCEWithLogitsLoss`` on targets of shape (N, 1); ``model(x) > 0`` predicts class 1."""

    def __init__(self, input_dim: int = 2, hidden_dim: int = 2, output_dim: int = 1):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.sigmoid = nn.Sigmoid()
        self.fc2 = nn.Linear(hidden_dim, output_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.sigmoid(self.fc1(x)))
