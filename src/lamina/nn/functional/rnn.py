"""Recurrent steps and layers (Elman RNN, GRU, LSTM) written with lamina's tensor ops.

A layer projects the whole input sequence at once, gᵢ = x W_ihᵀ + b_ih for every time step in one GEMM,
then loops over the time steps for the recurrent part only, gₕ = h W_hhᵀ + b_hh. Gate order as PyTorch:
GRU (r, z, n), LSTM (i, f, g, o). Autograd, second order and forward mode follow from the ops.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ...ops import layers as _layers
from ...ops.elementwise import relu, sigmoid, tanh
from ...ops.shape import cat, split, stack
from ...tensor import Tensor
from .dropout import dropout as _dropout

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "gru_cell", "lstm_cell", "recurrent"]

# (w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction; biases and w_hr may be None
Weights = tuple[Tensor, Tensor, "Tensor | None", "Tensor | None", "Tensor | None"]
State = tuple[Tensor, "Tensor | None"]  # (h, c); c is None except for the LSTM


def _linear(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    return _layers.linear(x, w, b)


def _tanh_step(gi: Tensor, state: State, w: Weights) -> State:
    """h′ = tanh(gᵢ + h W_hhᵀ + b_hh)."""
    return tanh(gi + _linear(state[0], w[1], w[3])), None


def _relu_step(gi: Tensor, state: State, w: Weights) -> State:
    """h′ = relu(gᵢ + h W_hhᵀ + b_hh)."""
    return relu(gi + _linear(state[0], w[1], w[3])), None


def _gru_step(gi: Tensor, state: State, w: Weights) -> State:
    """r, z = σ(gᵢ + gₕ) on the first 2H columns; n = tanh(gᵢₙ + r ∘ gₕₙ); h′ = (1 − z) ∘ n + z ∘ h."""
    h = state[0]
    n_h = h.shape[-1]
    gh = _linear(h, w[1], w[3])
    rz = sigmoid(gi[..., :2 * n_h] + gh[..., :2 * n_h])
    r, z = rz[..., :n_h], rz[..., n_h:]
    n = tanh(gi[..., 2 * n_h:] + r * gh[..., 2 * n_h:])
    return n + z * (h - n), None


def _lstm_step(gi: Tensor, state: State, w: Weights) -> State:
    """i, f, o = σ(·), g = tanh(·) of gᵢ + gₕ; c′ = f ∘ c + i ∘ g; h′ = o ∘ tanh(c′) (then h′ W_hrᵀ with a projection)."""
    h, c = state
    n_c = c.shape[-1]  # type: ignore[union-attr]
    s = gi + _linear(h, w[1], w[3])
    if_ = sigmoid(s[..., :2 * n_c])
    g = tanh(s[..., 2 * n_c:3 * n_c])
    o = sigmoid(s[..., 3 * n_c:])
    c2 = if_[..., n_c:] * c + if_[..., :n_c] * g
    h2 = o * tanh(c2)
    if w[4] is not None:
        h2 = _linear(h2, w[4], None)
    return h2, c2


STEPS: dict[str, Callable[[Tensor, State, Weights], State]] = {
    "RNN_TANH": _tanh_step, "RNN_RELU": _relu_step, "GRU": _gru_step, "LSTM": _lstm_step}


def _cell(mode: str, input: Tensor, state: State, w_ih, w_hh, b_ih, b_hh) -> State:
    return STEPS[mode](_linear(input, w_ih, b_ih), state, (w_ih, w_hh, b_ih, b_hh, None))


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """h′ = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)."""
    return _cell("RNN_TANH", input, (hx, None), w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """h′ = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)."""
    return _cell("RNN_RELU", input, (hx, None), w_ih, w_hh, b_ih, b_hh)[0]


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """r = σ(gᵢᵣ + gₕᵣ), z = σ(gᵢ_z + gₕ_z), n = tanh(gᵢₙ + r ∘ gₕₙ), h′ = (1 − z) ∘ n + z ∘ h
    with gᵢ = x W_ihᵀ + b_ih and gₕ = h W_hhᵀ + b_hh split as (r, z, n)."""
    return _cell("GRU", input, (hx, None), w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(input: Tensor, hx: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(i, f, g, o) = (σ, σ, tanh, σ)(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh); c′ = f ∘ c + i ∘ g; h′ = o ∘ tanh(c′)."""
    h, c = _cell("LSTM", input, (hx[0], hx[1]), w_ih, w_hh, b_ih, b_hh)
    assert c is not None
    return h, c


def _steps(g: Tensor) -> list[Tensor]:
    """g (L, ...) as its L time steps, taken from blocks of ⌈√L⌉ steps: the gradient of each slice is then
    summed into its block (not the whole sequence), O(L^1.5) instead of O(L²) in the backward pass."""
    n = g.shape[0]
    block = max(1, math.isqrt(n - 1) + 1) if n > 1 else 1
    if block >= n:
        return list(g.unbind(0))
    return [t for part in split(g, block, 0) for t in part.unbind(0)]


def _direction(mode: str, x: Tensor, state: State, w: Weights, reverse: bool) -> tuple[Tensor, State]:
    """One layer in one direction over x of shape (L, N, H_in): the outputs (L, N, H_out) and the last state."""
    step = STEPS[mode]
    gi = _steps(_linear(x, w[0], w[2]))  # the input projection of every time step: one GEMM
    order = range(len(gi) - 1, -1, -1) if reverse else range(len(gi))
    outs: list[Tensor] = [gi[0]] * len(gi)
    for t in order:
        state = step(gi[t], state, w)
        outs[t] = state[0]
    return stack(outs, 0), state


def recurrent(mode: str, input: Tensor, hx: Tensor, cx: Tensor | None, weights: Sequence[Weights],
              num_layers: int, bidirectional: bool, dropout: float = 0.0,
              training: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
    """A stack of ``num_layers`` recurrent layers over input (L, N, H_in) from hx (and cx for the LSTM) of shape
    (num_layers·D, N, ·): (output (L, N, D·H_out), h_n, c_n). ``weights`` holds one entry per layer and
    direction (layer-major); the directions' outputs are concatenated on the features; dropout acts on
    the input of every layer but the first."""
    d = 2 if bidirectional else 1
    hs: list[Tensor] = []
    cs: list[Tensor] = []
    x = input
    for layer in range(num_layers):
        if layer > 0:
            x = _dropout(x, dropout, training)
        outs = []
        for k in range(d):
            i = layer * d + k
            out, (h, c) = _direction(mode, x, (hx[i], None if cx is None else cx[i]), weights[i], k == 1)
            outs.append(out)
            hs.append(h)
            if c is not None:
                cs.append(c)
        x = outs[0] if d == 1 else cat(outs, -1)
    return x, stack(hs, 0), stack(cs, 0) if cs else None
