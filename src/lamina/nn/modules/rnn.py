"""Recurrent layers with PyTorch's arguments, parameter names and shapes: ``RNN``, ``GRU``, ``LSTM`` over
a sequence and the one-step ``RNNCell``, ``GRUCell``, ``LSTMCell``.

Every weight and bias starts as U(−1/√hidden_size, 1/√hidden_size). A layer's weights are
weight_ih_l{k} (G·H, H_in), weight_hh_l{k} (G·H, H_out), bias_ih_l{k}, bias_hh_l{k} (G·H,) and, for an LSTM
with ``proj_size``, weight_hr_l{k} (proj_size, H); the reverse direction adds the suffix ``_reverse``.
G is 1 (RNN), 3 (GRU: r, z, n) or 4 (LSTM: i, f, g, o)."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from ...backend import as_dtype, check_device, get_default_dtype
from ...errors import ShapeError
from ...tensor import Parameter, Tensor
from ...tensor import empty as _empty
from ...tensor import zeros as _zeros
from .. import init
from ..functional import rnn as _rnn
from .module import Module

__all__ = ["RNNBase", "RNN", "GRU", "LSTM", "RNNCellBase", "RNNCell", "GRUCell", "LSTMCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


def _nonlinearity_mode(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _check_sizes(name: str, input_size, hidden_size, num_layers: int = 1) -> None:
    for what, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{name}: {what} should be of type int, got: {type(v).__name__}")
        if v <= 0:
            raise ValueError(f"{name}: {what} must be greater than zero, got {v}")


def _reset(module: Module, hidden_size: int) -> None:
    stdv = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        init.uniform_(p, -stdv, stdv)


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


class RNNBase(Module):
    """The stack of recurrent layers shared by ``RNN``, ``GRU`` and ``LSTM``; ``mode`` is 'RNN_TANH',
    'RNN_RELU', 'GRU' or 'LSTM'. Input (L, N, H_in), (N, L, H_in) with ``batch_first`` or unbatched (L, H_in)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__()
        check_device(device)
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode!r} (expected one of {sorted(_GATES)})")
        name = "RNN" if mode.startswith("RNN") else mode
        _check_sizes(name, input_size, hidden_size, num_layers)
        self._check_options(name, mode, hidden_size, num_layers, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), int(proj_size)
        self._flat_weights_names: list[str] = []
        self._make_weights(as_dtype(dtype) or get_default_dtype())
        self.reset_parameters()

    @staticmethod
    def _check_options(name: str, mode: str, hidden_size: int, num_layers: int, dropout, proj_size) -> None:
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:  # type: ignore[operator]
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                             f"of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:  # type: ignore[operator]
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size} "
                             f"and hidden_size={hidden_size}")

    def _make_weights(self, dt) -> None:
        gh = _GATES[self.mode] * self.hidden_size
        real = self.proj_size or self.hidden_size
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[:self._directions]:
                fan_in = self.input_size if layer == 0 else real * self._directions
                shapes: list[tuple[str, tuple[int, ...]]] = [("weight_ih", (gh, fan_in)), ("weight_hh", (gh, real))]
                if self.bias:
                    shapes += [("bias_ih", (gh,)), ("bias_hh", (gh,))]
                if self.proj_size:
                    shapes.append(("weight_hr", (self.proj_size, self.hidden_size)))
                for base, shape in shapes:
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(_empty(*shape, dtype=dt)))
                    self._flat_weights_names.append(name)

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _name(self) -> str:
        return type(self).__name__

    def reset_parameters(self) -> None:
        _reset(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Does nothing: the weights are separate tensors already (PyTorch packs them for cuDNN)."""

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """The parameters of each layer and direction, [w_ih, w_hh, b_ih, b_hh(, w_hr)]."""
        per = len(self._flat_weights_names) // (self.num_layers * self._directions)
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def _weights(self) -> list[_rnn.Weights]:
        out = []
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[:self._directions]:
                def get(base, s=f"_l{layer}{suffix}"):
                    return getattr(self, base + s, None)
                out.append((get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")))
        return out

    def _check_input(self, input: Any) -> bool:
        """Check the input's type, rank, feature size and dtype; True when it is batched (3-D)."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._name}: expected the input to be a Tensor, got {type(input).__name__}")
        layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
        if input.ndim not in (2, 3):
            raise ShapeError(f"{self._name}: Expected input to be 2D (L, H_in) or 3D {layout}, got "
                             f"{input.ndim}D instead (shape {_shape(input)})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{self._name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]} (input shape {_shape(input)})")
        w = self.weight_ih_l0
        if input.dtype != w.dtype:
            raise TypeError(f"{self._name}: input dtype {input.dtype} does not match the weights' dtype {w.dtype} "
                            "(convert the input with x.float() / x.double(), or the model with model.double())")
        return input.ndim == 3

    def _initial(self, what: str, hx: Tensor | None, batched: bool, n: int, size: int, like: Tensor) -> Tensor:
        """hx of shape (num_layers·D, N, size) (batched) or (num_layers·D, size); zeros when None."""
        layers = self.num_layers * self._directions
        if hx is None:
            return _zeros(layers, n, size, dtype=like.dtype)
        if not isinstance(hx, Tensor):
            raise TypeError(f"{self._name}: {what} must be a Tensor, got {type(hx).__name__}")
        self._check_state_shape(what, hx, batched, (layers, n, size) if batched else (layers, size))
        if hx.dtype != like.dtype:
            raise TypeError(f"{self._name}: {what} dtype {hx.dtype} does not match the input dtype {like.dtype}")
        return hx if batched else hx.unsqueeze(1)

    def _check_state_shape(self, what: str, hx: Tensor, batched: bool, expected: tuple) -> None:
        """A given initial state (``what``) must have the input's rank and shape ``expected``."""
        rank = 3 if batched else 2
        if hx.ndim != rank:
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ShapeError(f"{self._name}: for {kind} input, {what} should also be {rank}-D but got a "
                             f"{hx.ndim}-D tensor of shape {_shape(hx)}")
        if _shape(hx) != expected:
            size = expected[-1]
            raise ShapeError(f"{self._name}: Expected {what} of shape {expected} (num_layers * num_directions, "
                             f"{'batch, ' if batched else ''}{'proj_size' if size != self.hidden_size else 'hidden_size'}"
                             f"), got {_shape(hx)}")

    def _run(self, input: Tensor, hx: Tensor | None, cx: Tensor | None, batched: bool):
        x = input if batched else input.unsqueeze(1)
        if self.batch_first and batched:
            x = x.transpose(0, 1)
        h0, c0 = self._initial_states(hx, cx, batched, x)
        out, h, c = _rnn.recurrent(self.mode, x, h0, c0, self._weights(), self.num_layers, self.bidirectional,
                                   self.dropout, self.training)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out, h = out.squeeze(1), h.squeeze(1)
            c = None if c is None else c.squeeze(1)
        return out, h, c

    def _initial_states(self, hx: Tensor | None, cx: Tensor | None, batched: bool, x: Tensor) -> tuple:
        """(h₀, c₀) checked, zeros where not given (c₀ None unless LSTM); ``x`` is time-major, batched."""
        n = x.shape[1]
        h0 = self._initial("h_0" if self.mode == "LSTM" else "hx", hx, batched, n,
                           self.proj_size or self.hidden_size, x)
        c0 = self._initial("c_0", cx, batched, n, self.hidden_size, x) if self.mode == "LSTM" else None
        return h0, c0

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Any:
        batched = self._check_input(input)
        out, h, _ = self._run(input, hx, None, batched)
        return out, h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class RNN(RNNBase):
    """Elman RNN: hₜ = tanh(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh) (relu with ``nonlinearity='relu'``), per layer.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class GRU(RNNBase):
    """Gated recurrent unit, per layer and time step: r = σ(gᵢᵣ + gₕᵣ), z = σ(gᵢ_z + gₕ_z),
    n = tanh(gᵢₙ + r ∘ gₕₙ), hₜ = (1 − z) ∘ n + z ∘ hₜ₋₁ with gᵢ = xₜ W_ihᵀ + b_ih, gₕ = hₜ₋₁ W_hhᵀ + b_hh.
    Returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class LSTM(RNNBase):
    """Long short-term memory, per layer and time step: (i, f, g, o) = (σ, σ, tanh, σ)(gᵢ + gₕ),
    cₜ = f ∘ cₜ₋₁ + i ∘ g, hₜ = o ∘ tanh(cₜ) (times W_hrᵀ with ``proj_size`` > 0).
    ``forward(input, (h_0, c_0))`` returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> Any:
        batched = self._check_input(input)
        if hx is None:
            h0 = c0 = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h0, c0 = hx
        else:
            raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0) of two Tensors, got {type(hx).__name__}")
        out, h, c = self._run(input, h0, c0, batched)
        return out, (h, c)


class RNNCellBase(Module):
    """One recurrent step with weight_ih (G·H, H_in), weight_hh (G·H, H), bias_ih and bias_hh (G·H,).
    Input (N, H_in) or unbatched (H_in,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        check_device(device)
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        dt = as_dtype(dtype) or get_default_dtype()
        gh = num_chunks * self.hidden_size
        self.weight_ih = Parameter(_empty(gh, self.input_size, dtype=dt))
        self.weight_hh = Parameter(_empty(gh, self.hidden_size, dtype=dt))
        if bias:
            self.bias_ih = Parameter(_empty(gh, dtype=dt))
            self.bias_hh = Parameter(_empty(gh, dtype=dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset(self, self.hidden_size)

    def _check_input(self, input: Any) -> bool:
        """Check the input's rank, size and dtype; True when it is batched (2-D)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected the input to be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D (H_in,) or 2D (N, H_in), got {input.ndim}D instead "
                             f"(shape {_shape(input)})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]}, expected "
                             f"{self.input_size} (input shape {_shape(input)})")
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(f"{name}: input dtype {input.dtype} does not match the weights' dtype "
                            f"{self.weight_ih.dtype} (convert the input, or the cell with cell.double())")
        return input.ndim == 2

    def _state(self, what: str, hx: Any, input: Tensor, batched: bool) -> Tensor:
        """hx as (N, H); zeros when None."""
        name = type(self).__name__
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            return _zeros(x.shape[0], self.hidden_size, dtype=input.dtype)
        if not isinstance(hx, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(hx).__name__}")
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if _shape(hx) != expected:
            raise ShapeError(f"{name}: Expected {what} of shape {expected} for input of shape {_shape(input)}, "
                             f"got {_shape(hx)}")
        if hx.dtype != input.dtype:
            raise TypeError(f"{name}: {what} dtype {hx.dtype} does not match the input dtype {input.dtype}")
        return hx if batched else hx.unsqueeze(0)

    def _step(self, mode: str, input: Tensor, h: Any, c: Any) -> tuple[Tensor, Tensor | None]:
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(0)
        state = (self._state("hx", h, input, batched),
                 None if mode != "LSTM" else self._state("cx", c, input, batched))
        h2, c2 = _rnn._cell(mode, x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if not batched:
            h2 = h2.squeeze(0)
            c2 = None if c2 is None else c2.squeeze(0)
        return h2, c2

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h′ = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (relu with ``nonlinearity='relu'``); h = 0 when not given."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        mode = _nonlinearity_mode(nonlinearity)
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self._mode, self.nonlinearity = mode, nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(self._mode, input, hx, None)[0]


class GRUCell(RNNCellBase):
    """r = σ(gᵢᵣ + gₕᵣ), z = σ(gᵢ_z + gₕ_z), n = tanh(gᵢₙ + r ∘ gₕₙ), h′ = (1 − z) ∘ n + z ∘ h;
    gᵢ = x W_ihᵀ + b_ih, gₕ = h W_hhᵀ + b_hh."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step("GRU", input, hx, None)[0]


class LSTMCell(RNNCellBase):
    """(i, f, g, o) = (σ, σ, tanh, σ)(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh); c′ = f ∘ c + i ∘ g; h′ = o ∘ tanh(c′).
    ``forward(input, (h, c))`` returns (h′, c′)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        if hx is None:
            h = c = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h, c = hx
        else:
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of two Tensors, got {type(hx).__name__}")
        h2, c2 = self._step("LSTM", input, h, c)
        assert c2 is not None
        return h2, c2
