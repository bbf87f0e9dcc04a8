"""Recurrent layers exported whole as ONNX's RNN, GRU and LSTM nodes (one node per layer, both directions in
it), so that the batch and sequence dims stay dynamic; a trace would unroll the time loop at the traced length.

ONNX orders the gates GRU (z, r, h) and LSTM (i, o, f, c) where lamina (as PyTorch) has (r, z, n) and
(i, f, g, o); the weights are reordered into constants. PyTorch's GRU applies r after the recurrent
product, ONNX's ``linear_before_reset=1``. Cells are the same nodes over a sequence of length one. An
LSTM with ``proj_size`` has no ONNX form. ``_layers`` registers ``recurrent`` and ``cell``."""
from __future__ import annotations

import numpy as np

from .. import nn
from ._convert import Ctx, Result
from .errors import ExportError

_OP = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "GRU": "GRU", "LSTM": "LSTM"}
# ONNX gate k is lamina gate _ORDER[mode][k]
_ORDER = {"RNN_TANH": [0], "RNN_RELU": [0], "GRU": [1, 0, 2], "LSTM": [0, 3, 1, 2]}


def _gates(a: np.ndarray, mode: str, hidden: int) -> np.ndarray:
    return np.concatenate([a[k * hidden:(k + 1) * hidden] for k in _ORDER[mode]], axis=0)


def _packed(c: Ctx, mode: str, hidden: int, per_direction: list[tuple]) -> list[str]:
    """W (D, G·H, in), R (D, G·H, H) and B (D, 2·G·H) of one layer as constants in ONNX's gate order."""
    dt = c.dtype
    ws, rs, bs = [], [], []
    for w_ih, w_hh, b_ih, b_hh in per_direction:
        ws.append(_gates(w_ih.numpy(), mode, hidden))
        rs.append(_gates(w_hh.numpy(), mode, hidden))
        zeros = np.zeros(w_ih.shape[0], dtype=dt)
        b = [zeros if t is None else _gates(t.numpy(), mode, hidden) for t in (b_ih, b_hh)]
        bs.append(np.concatenate(b))
    return [c.g.const(np.stack(a).astype(dt, copy=False), base=base) for a, base in ((ws, "W"), (rs, "R"), (bs, "B"))]


def _node(c: Ctx, mode: str, hidden: int, x: str, weights: list[tuple], h0: str, c0: str) -> list[str]:
    """One ONNX recurrent node over x (L, N, in): its outputs Y (L, D, N, H), Y_h (D, N, H) (and Y_c)."""
    d = len(weights)
    attrs: dict = {"hidden_size": hidden, "direction": "bidirectional" if d == 2 else "forward"}
    if mode.startswith("RNN"):
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * d
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    ins = [x, *_packed(c, mode, hidden, weights), "", h0]
    if mode == "LSTM":
        ins.append(c0)
    while ins[-1] == "":
        ins.pop()
    return c.g.add(_OP[mode], ins, n_out=3 if mode == "LSTM" else 2, **attrs)


def _layer_state(c: Ctx, state: str, layer: int, d: int) -> str:
    return "" if not state else c.g.slice(state, [layer * d], [(layer + 1) * d], [0])


def recurrent(c: Ctx) -> list[Result]:
    """(output, h_n[, c_n]): a chain of one node per layer; Y (L, D, N, H) → (L, N, D·H) feeds the next."""
    m, g, x = c.op, c.g, c.x
    if m.proj_size:
        raise ExportError(f"{c.label}: an LSTM with proj_size={m.proj_size} has no ONNX form; export it "
                          "with proj_size=0")
    batched = len(x.shape) == 3
    seq, h0, c0 = _sequence_inputs(c, batched)
    d = 2 if m.bidirectional else 1
    weights = m._weights()
    hs, cs = [], []
    for layer_ in range(m.num_layers):
        per = [w[:4] for w in weights[layer_ * d:(layer_ + 1) * d]]
        outs = _node(c, m.mode, m.hidden_size, seq, per, _layer_state(c, h0, layer_, d),
                     _layer_state(c, c0, layer_, d))
        seq = g.add("Reshape", [g.add("Transpose", [outs[0]], perm=[0, 2, 1, 3]), g.ints([0, 0, -1])])
        hs.append(outs[1])
        cs.extend(outs[2:])
    return _results(c, seq, hs, cs, batched)


def _sequence_inputs(c: Ctx, batched: bool) -> tuple[str, str, str]:
    """(sequence (T, N, I), h₀, c₀) as the ONNX node reads them; a state not given is ""."""
    g, x = c.g, c.x
    h0, c0 = [v.name for v in c.ins[1:]] + [""] * (3 - len(c.ins))
    seq = g.add("Transpose", [x.name], perm=[1, 0, 2]) if batched and c.op.batch_first else x.name
    if not batched:
        seq = g.unsqueeze(seq, [1])
        h0, c0 = (g.unsqueeze(s, [1]) if s else s for s in (h0, c0))
    return seq, h0, c0


def _results(c: Ctx, seq: str, hs: list[str], cs: list[str], batched: bool) -> list[Result]:
    m, g, x = c.op, c.g, c.x
    states = [s[0] if len(s) == 1 else g.add("Concat", s, axis=0) for s in (hs, cs) if s]
    if not batched:
        return [(g.squeeze(seq, [1]), (x.sym[0], None))] + [(g.squeeze(s, [1]), (None, None)) for s in states]
    n_sym = x.sym[0] if m.batch_first else x.sym[1]
    if m.batch_first:
        out = (g.add("Transpose", [seq], perm=[1, 0, 2]), (x.sym[0], x.sym[1], None))
    else:
        out = (seq, (x.sym[0], x.sym[1], None))
    return [out] + [(s, (None, n_sym, None)) for s in states]


def cell(c: Ctx) -> Result | list[Result]:
    """One step: the layer's node over a sequence of length one; h′ = Y_h (and c′ = Y_c)."""
    m, g, x = c.op, c.g, c.x
    mode = getattr(m, "_mode", None) or ("GRU" if isinstance(m, nn.GRUCell) else "LSTM")
    batched = len(x.shape) == 2
    lead = [0] if batched else [0, 1]
    states = [g.unsqueeze(v.name, lead) for v in c.ins[1:]] + ["", ""]
    outs = _node(c, mode, m.hidden_size, g.unsqueeze(x.name, lead),
                 [(m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)], states[0], states[1])
    sym = (x.sym[0], None) if batched else (None,)
    res = [(g.squeeze(o, lead), sym) for o in outs[1:]]
    return res if mode == "LSTM" else res[0]
