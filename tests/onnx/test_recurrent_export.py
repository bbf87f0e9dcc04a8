"""RNN, GRU, LSTM and their cells export as ONNX's recurrent nodes: onnx's checker passes, and onnxruntime on
other batch sizes and sequence lengths than the traced ones gives lamina's outputs and final states
(float32, 1e-5), with and without initial states, nested (output, (h_n, c_n)) outputs included."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx_helpers import op_types, session

import lamina
from lamina import nn


class WithState(nn.Module):
    """Calls ``layer(x)``, ``layer(x, h)`` or ``layer(x, (h, c))`` (``hx=`` by keyword when ``keyword``)."""

    def __init__(self, layer, keyword=False):
        super().__init__()
        self.layer, self.keyword = layer, keyword

    def forward(self, x, *states):
        if not states:
            return self.layer(x)
        hx = states[0] if len(states) == 1 else states
        return self.layer(x, hx=hx) if self.keyword else self.layer(x, hx)


def _flat(out):
    return [t for o in out for t in _flat(o)] if isinstance(out, tuple) else [out]


# id: (layer factory, node type, number of states passed (0: none), unbatched, keyword hx)
LAYERS = {
    "RNN": (lambda: nn.RNN(3, 4), "RNN", 0, False, False),
    "RNN_relu_2layers_h0": (lambda: nn.RNN(3, 4, 2, nonlinearity="relu"), "RNN", 1, False, False),
    "RNN_bidir_batch_first": (lambda: nn.RNN(3, 4, bidirectional=True, batch_first=True), "RNN", 1, False, True),
    "GRU_2layers_bidir": (lambda: nn.GRU(3, 4, 2, bidirectional=True), "GRU", 0, False, False),
    "GRU_batch_first_h0": (lambda: nn.GRU(3, 4, batch_first=True, bias=False), "GRU", 1, False, False),
    "GRU_unbatched": (lambda: nn.GRU(3, 4, bidirectional=True), "GRU", 1, True, False),
    "LSTM": (lambda: nn.LSTM(3, 4), "LSTM", 0, False, False),
    "LSTM_3layers_bidir_batch_first_h0": (lambda: nn.LSTM(3, 4, 3, bidirectional=True, batch_first=True), "LSTM", 2,
                                          False, True),
    "LSTM_unbatched": (lambda: nn.LSTM(3, 4, 2, bias=False), "LSTM", 2, True, False),
    "RNNCell": (lambda: nn.RNNCell(3, 4), "RNN", 0, False, False),
    "RNNCell_relu_hx": (lambda: nn.RNNCell(3, 4, nonlinearity="relu"), "RNN", 1, False, False),
    "GRUCell_hx": (lambda: nn.GRUCell(3, 4), "GRU", 1, False, False),
    "GRUCell_unbatched": (lambda: nn.GRUCell(3, 4, bias=False), "GRU", 1, True, False),
    "LSTMCell": (lambda: nn.LSTMCell(3, 4), "LSTM", 0, False, False),
    "LSTMCell_hx": (lambda: nn.LSTMCell(3, 4), "LSTM", 2, False, True),
    "LSTMCell_unbatched": (lambda: nn.LSTMCell(3, 4), "LSTM", 2, True, False),
}


def _inputs(layer, n_states, unbatched, rng, n, length):
    """(x, states…) as float32 arrays, and the dims of each that are dynamic (batch, and seq for a layer)."""
    cell = isinstance(layer, nn.RNNCellBase)
    first = getattr(layer, "batch_first", False)
    x_shape = (n, 3) if cell else ((n, length, 3) if first else (length, n, 3))
    x_dims = {0: "batch"} if cell else ({0: "batch", 1: "seq"} if first else {0: "seq", 1: "batch"})
    lead = () if cell else ((2 if layer.bidirectional else 1) * layer.num_layers,)
    s_shape, s_dims = lead + (n, 4), {len(lead): "batch"}
    if unbatched:
        batch = 0 if cell else (0 if first else 1)
        x_shape = x_shape[:batch] + x_shape[batch + 1:]
        s_shape = s_shape[:len(lead)] + s_shape[len(lead) + 1:]
        x_dims, s_dims = ({} if cell else {0: "seq"}), {}
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [x_shape] + [s_shape] * n_states]
    return arrays, [x_dims] + [s_dims] * n_states


@pytest.mark.parametrize("case", list(LAYERS))
def test_recurrent_layer_exports_with_dynamic_batch_and_sequence(case):
    make, node, n_states, unbatched, keyword = LAYERS[case]
    rng = np.random.default_rng(5)
    lamina.manual_seed(0)
    layer = make()
    model = WithState(layer, keyword).eval()
    arrays, dims = _inputs(layer, n_states, unbatched, rng, 2, 5)
    names = ["input"] + [f"state_{k}" for k in range(n_states)]
    proto = lamina.onnx.export(model, tuple(lamina.tensor(a) for a in arrays), None, input_names=names,
                               dynamic_axes={k: d for k, d in zip(names, dims) if d})
    onnx.checker.check_model(proto, full_check=True)
    assert node in op_types(proto)
    sess = session(proto)
    for n, length in [(3, 7), (1, 2), (2, 5)]:
        arrays, _ = _inputs(layer, n_states, unbatched, rng, n, length)
        got = sess.run(None, dict(zip(names, arrays)))
        with lamina.no_grad():
            ref = _flat(model(*[lamina.tensor(a) for a in arrays]))
        assert [g.shape for g in got] == [tuple(r.shape) for r in ref]
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g, r.numpy(), rtol=1e-5, atol=1e-5)


class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 8, num_layers=2, batch_first=True, dropout=0.2)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        out, (h, _) = self.rnn(x)
        return self.head(out), h[-1]


def test_a_model_using_an_lstm_output_and_state_exports():
    rng = np.random.default_rng(6)
    model = CharModel()
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    proto = lamina.onnx.export(model, lamina.tensor(x), None, output_names=["logits", "h"],
                               dynamic_axes={"input": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"},
                                             "h": {0: "batch"}})
    assert model.training
    x = rng.standard_normal((4, 9, 3)).astype(np.float32)
    got = session(proto).run(None, {"input": x})
    model.eval()
    with lamina.no_grad():
        ref = model(lamina.tensor(x))
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-5, atol=1e-5)


def test_lstm_with_projections_is_refused_naming_the_layer():
    model = WithState(nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(lamina.onnx.ExportError, match="LSTM layer 'layer': an LSTM with proj_size=2 has no ONNX"):
        lamina.onnx.export(model, lamina.randn(5, 2, 3), None)
