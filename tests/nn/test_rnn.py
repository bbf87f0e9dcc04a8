"""RNN, GRU, LSTM and their cells against PyTorch: same parameter names and shapes, and with torch's initial
weights copied in, the same outputs, final states and gradients of every parameter (float64 to 1e-10,
float32 to 1e-5); second order and forward mode through the time loop; clear errors for bad inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import nn

TOL = {"float64": 1e-10, "float32": 1e-5}

# id: (class name, constructor kwargs, sequence length, batch (None: unbatched), with initial state)
CONFIGS = {
    "RNN": ("RNN", {}, 5, 3, False),
    "RNN_relu_h0": ("RNN", {"nonlinearity": "relu"}, 4, 2, True),
    "RNN_2layers_bidir": ("RNN", {"num_layers": 2, "bidirectional": True}, 4, 3, True),
    "RNN_no_bias_batch_first": ("RNN", {"bias": False, "batch_first": True}, 4, 2, True),
    "GRU": ("GRU", {}, 5, 3, False),
    "GRU_h0": ("GRU", {}, 4, 2, True),
    "GRU_2layers_batch_first": ("GRU", {"num_layers": 2, "batch_first": True}, 4, 3, True),
    "GRU_bidir_unbatched": ("GRU", {"bidirectional": True}, 5, None, True),
    "GRU_3layers_dropout_eval": ("GRU", {"num_layers": 3, "dropout": 0.5}, 3, 2, False),
    "LSTM": ("LSTM", {}, 5, 3, False),
    "LSTM_h0": ("LSTM", {}, 4, 2, True),
    "LSTM_2layers_bidir": ("LSTM", {"num_layers": 2, "bidirectional": True}, 4, 3, True),
    "LSTM_batch_first_bidir": ("LSTM", {"batch_first": True, "bidirectional": True}, 3, 2, False),
    "LSTM_unbatched": ("LSTM", {"num_layers": 2}, 5, None, True),
    "LSTM_unbatched_no_h0": ("LSTM", {}, 4, None, False),
    "LSTM_proj": ("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True}, 4, 3, True),
    "LSTM_no_bias": ("LSTM", {"bias": False}, 4, 2, True),
}
IN, HID = 3, 4


def _pair(name, kwargs, dtype, *args):
    """A torch module and a lamina one with torch's initial weights, both in ``dtype``."""
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    lam = getattr(nn, name)(*args, **kwargs).to(getattr(lamina, dtype))
    assert list(lam.state_dict()) == list(ref.state_dict())
    lam.load_state_dict({k: lamina.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    if not kwargs.get("dropout"):
        return ref, lam
    return ref.eval(), lam.eval()


def _leaves(arrays, requires_grad=True):
    return ([torch.tensor(a, requires_grad=requires_grad) for a in arrays],
            [lamina.tensor(a, requires_grad=requires_grad) for a in arrays])


def _flat(out):
    """(output, h) or (output, (h, c)) as a flat list."""
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [out]


def _close(lam, ref, tol, what):
    np.testing.assert_allclose(lam.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol, err_msg=what)


def _states(name, kwargs, n_layers, batch, rng, dtype):
    d = 2 if kwargs.get("bidirectional") else 1
    lead = (n_layers * d,) + (() if batch is None else (batch,))
    h = rng.standard_normal(lead + (kwargs.get("proj_size") or HID,)).astype(dtype)
    return [h] if name != "LSTM" else [h, rng.standard_normal(lead + (HID,)).astype(dtype)]


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CONFIGS))
def test_layer_matches_torch_outputs_states_and_gradients(case, dtype):
    name, kwargs, length, batch, with_h0 = CONFIGS[case]
    rng, tol = np.random.default_rng(1), TOL[dtype]
    ref, lam = _pair(name, kwargs, dtype, IN, HID)
    shape = (length, IN) if batch is None else ((batch, length, IN) if kwargs.get("batch_first") else
                                                (length, batch, IN))
    arrays = [rng.standard_normal(shape).astype(dtype)]
    if with_h0:
        arrays += _states(name, kwargs, kwargs.get("num_layers", 1), batch, rng, dtype)
    (tx, *ts), (lx, *ls) = _leaves(arrays)
    targs = (tx,) if not ts else (tx, ts[0] if name != "LSTM" else tuple(ts))
    largs = (lx,) if not ls else (lx, ls[0] if name != "LSTM" else tuple(ls))
    touts, louts = _flat(ref(*targs)), _flat(lam(*largs))
    assert [tuple(t.shape) for t in touts] == [tuple(t.shape) for t in louts]
    weights = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in touts]
    for i, (lo, to) in enumerate(zip(louts, touts)):
        _close(lo, to, tol, f"output {i}")
    sum(((to * torch.tensor(w)).sum() for to, w in zip(touts, weights)), torch.tensor(0.0, dtype=tx.dtype)).backward()
    sum((lo * lamina.tensor(w)).sum() for lo, w in zip(louts, weights)).backward()
    for (k, lp), (_, tp) in zip(lam.named_parameters(), ref.named_parameters()):
        _close(lp.grad, tp.grad, tol, f"grad of {k}")
    for i, (la, ta) in enumerate(zip([lx, *ls], [tx, *ts])):
        _close(la.grad, ta.grad, tol, f"grad of input {i}")


CELLS = {
    "RNNCell": ("RNNCell", {}, 3, True),
    "RNNCell_relu_no_bias": ("RNNCell", {"nonlinearity": "relu", "bias": False}, 3, True),
    "RNNCell_no_hx": ("RNNCell", {}, 2, False),
    "GRUCell": ("GRUCell", {}, 3, True),
    "GRUCell_unbatched": ("GRUCell", {}, None, True),
    "GRUCell_no_hx": ("GRUCell", {"bias": False}, 2, False),
    "LSTMCell": ("LSTMCell", {}, 3, True),
    "LSTMCell_unbatched_no_hx": ("LSTMCell", {}, None, False),
    "LSTMCell_no_bias": ("LSTMCell", {"bias": False}, 2, True),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CELLS))
def test_cell_matches_torch_over_a_few_steps(case, dtype):
    """A cell applied three times (its output fed back), then one loss: outputs and gradients as torch's."""
    name, kwargs, batch, with_h0 = CELLS[case]
    rng, tol = np.random.default_rng(2), TOL[dtype]
    ref, lam = _pair(name, kwargs, dtype, IN, HID)
    lead = () if batch is None else (batch,)
    arrays = [rng.standard_normal((3,) + lead + (IN,)).astype(dtype)]
    if with_h0:
        arrays += [rng.standard_normal(lead + (HID,)).astype(dtype) for _ in range(1 + (name == "LSTMCell"))]
    (tx, *ts), (lx, *ls) = _leaves(arrays)
    tstate = None if not ts else (ts[0] if len(ts) == 1 else tuple(ts))
    lstate = None if not ls else (ls[0] if len(ls) == 1 else tuple(ls))
    tloss, lloss = 0.0, 0.0
    for t in range(3):
        tstate, lstate = ref(tx[t], tstate), lam(lx[t], lstate)
        for lo, to in zip(_flat(lstate), _flat(tstate)):
            assert tuple(lo.shape) == tuple(to.shape)
            _close(lo, to, tol, f"step {t}")
        w = rng.standard_normal(tuple(_flat(tstate)[0].shape)).astype(dtype)
        tloss = tloss + (_flat(tstate)[0] * torch.tensor(w)).sum()
        lloss = lloss + (_flat(lstate)[0] * lamina.tensor(w)).sum()
    tloss.backward()
    lloss.backward()
    for (k, lp), (_, tp) in zip(lam.named_parameters(), ref.named_parameters()):
        _close(lp.grad, tp.grad, tol, f"grad of {k}")
    for la, ta in zip([lx, *ls], [tx, *ts]):
        _close(la.grad, ta.grad, tol, "grad of input")


@pytest.mark.parametrize("name, kwargs", [
    ("RNN", {"num_layers": 2, "bidirectional": True, "nonlinearity": "relu", "dropout": 0.3}),
    ("GRU", {"num_layers": 3, "batch_first": True, "bias": False}),
    ("LSTM", {"num_layers": 2, "proj_size": 3, "bidirectional": True}),
    ("RNNCell", {"nonlinearity": "relu"}), ("GRUCell", {"bias": False}), ("LSTMCell", {}),
])
def test_parameters_names_shapes_repr_and_default_init_follow_torch(name, kwargs):
    lamina.manual_seed(0)
    ref, lam = getattr(torch.nn, name)(5, 6, **kwargs), getattr(nn, name)(5, 6, **kwargs)
    assert [(k, tuple(v.shape)) for k, v in lam.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert lam.extra_repr() == ref.extra_repr()
    bound = 1 / np.sqrt(6)
    values = np.concatenate([p.numpy().ravel() for p in lam.parameters()])
    assert values.min() >= -bound and values.max() <= bound and values.std() > bound / 2
    assert all(p.dtype == lamina.float32 and p.requires_grad for p in lam.parameters())
    if not name.endswith("Cell"):
        lam.flatten_parameters()
        assert [id(p) for ws in lam.all_weights for p in ws] == [id(p) for p in lam.parameters()]


@pytest.mark.parametrize("name, kwargs", [("GRU", {"num_layers": 2}), ("LSTM", {"bidirectional": True}),
                                          ("RNN", {"nonlinearity": "tanh"})])
def test_second_order_and_forward_mode_through_the_time_loop(name, kwargs):
    """d/dW of ‖∂loss/∂x‖² and the jvp of the output along a direction in x, as torch's (float64)."""
    rng = np.random.default_rng(3)
    ref, lam = _pair(name, kwargs, "float64", IN, HID)
    x, v = rng.standard_normal((4, 2, IN)), rng.standard_normal((4, 2, IN))
    (tx,), (lx,) = _leaves([x])
    tg, = torch.autograd.grad((ref(tx)[0] ** 2).sum(), tx, create_graph=True)
    lg, = lamina.autograd.grad((lam(lx)[0] ** 2).sum(), lx, create_graph=True)
    _close(lg, tg, 1e-10, "grad")
    (tg ** 2).sum().backward()
    (lg ** 2).sum().backward()
    for (k, lp), (_, tp) in zip(lam.named_parameters(), ref.named_parameters()):
        _close(lp.grad, tp.grad, 1e-10, f"second-order grad of {k}")
    _, tj = torch.func.jvp(lambda a: ref(a)[0], (torch.tensor(x),), (torch.tensor(v),))
    _, lj = lamina.func.jvp(lambda a: lam(a)[0], (lamina.tensor(x),), (lamina.tensor(v),))
    _close(lj, tj, 1e-10, "jvp")


def test_dropout_acts_between_layers_only_in_training():
    lamina.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = lamina.randn(6, 2, 3)
    out_eval = m.eval()(x)[0]
    np.testing.assert_array_equal(m(x)[0].numpy(), out_eval.numpy())
    out_train = m.train()(x)[0]
    assert np.abs(out_train.numpy() - out_eval.numpy()).max() > 1e-3
    one = nn.GRU(3, 4, dropout=0.0).train()  # one layer, no dropout: training changes nothing
    np.testing.assert_array_equal(one(x)[0].numpy(), one.eval()(x)[0].numpy())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nn.GRU(3, 4, dropout=0.5)
    assert any("num_layers greater than 1" in str(m.message) for m in w)


@pytest.mark.parametrize("make, call, error, match", [
    (lambda: nn.GRU(3, 4), lambda m: m(lamina.randn(5, 2, 3, 1)), ValueError,
     r"GRU: Expected input to be 2D \(L, H_in\) or 3D \(L, N, H_in\), got 4D instead \(shape \(5, 2, 3, 1\)\)"),
    (lambda: nn.LSTM(3, 4, batch_first=True), lambda m: m(lamina.randn(3)), ValueError,
     r"LSTM: Expected input to be 2D \(L, H_in\) or 3D \(N, L, H_in\), got 1D"),
    (lambda: nn.RNN(3, 4), lambda m: m(lamina.randn(5, 2, 6)), RuntimeError,
     r"RNN: input.size\(-1\) must be equal to input_size. Expected 3, got 6 \(input shape \(5, 2, 6\)\)"),
    (lambda: nn.GRU(3, 4), lambda m: m(lamina.randn(5, 2, 3), lamina.randn(2, 2, 4)), RuntimeError,
     r"GRU: Expected hx of shape \(1, 2, 4\) \(num_layers \* num_directions, batch, hidden_size\), got \(2, 2, 4\)"),
    (lambda: nn.LSTM(3, 4, proj_size=2), lambda m: m(lamina.randn(5, 2, 3), (lamina.randn(1, 2, 4),
                                                                              lamina.randn(1, 2, 4))),
     RuntimeError, r"LSTM: Expected h_0 of shape \(1, 2, 2\) .*proj_size\), got \(1, 2, 4\)"),
    (lambda: nn.LSTM(3, 4), lambda m: m(lamina.randn(5, 2, 3), (lamina.randn(1, 2, 4), lamina.randn(1, 3, 4))),
     RuntimeError, r"LSTM: Expected c_0 of shape \(1, 2, 4\)"),
    (lambda: nn.GRU(3, 4), lambda m: m(lamina.randn(5, 3), lamina.randn(1, 2, 4)), RuntimeError,
     r"GRU: for unbatched 2-D input, hx should also be 2-D but got a 3-D tensor of shape \(1, 2, 4\)"),
    (lambda: nn.LSTM(3, 4), lambda m: m(lamina.randn(5, 2, 3), lamina.randn(1, 2, 4)), TypeError,
     r"LSTM: hx must be a tuple \(h_0, c_0\)"),
    (lambda: nn.GRU(3, 4), lambda m: m(lamina.randn(5, 2, 3, dtype=lamina.float64)), TypeError,
     r"GRU: input dtype float64 does not match the weights' dtype float32"),
    (lambda: nn.LSTMCell(3, 4), lambda m: m(lamina.randn(5, 2, 3)), ValueError,
     r"LSTMCell: Expected input to be 1D \(H_in,\) or 2D \(N, H_in\), got 3D instead \(shape \(5, 2, 3\)\)"),
    (lambda: nn.GRUCell(3, 4), lambda m: m(lamina.randn(2, 5)), RuntimeError,
     r"GRUCell: input has inconsistent input_size: got 5, expected 3 \(input shape \(2, 5\)\)"),
    (lambda: nn.RNNCell(3, 4), lambda m: m(lamina.randn(2, 3), lamina.randn(3, 4)), RuntimeError,
     r"RNNCell: Expected hx of shape \(2, 4\) for input of shape \(2, 3\), got \(3, 4\)"),
    (lambda: nn.LSTMCell(3, 4), lambda m: m(lamina.randn(3), (lamina.randn(4), lamina.randn(2, 4))), RuntimeError,
     r"LSTMCell: Expected cx of shape \(4,\) for input of shape \(3,\), got \(2, 4\)"),
])
def test_bad_inputs_raise_errors_naming_the_layer_and_the_shapes(make, call, error, match):
    with pytest.raises(error, match=match):
        call(make())


@pytest.mark.parametrize("make, error, match", [
    (lambda m: m.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "Unknown nonlinearity 'sigmoid'"),
    (lambda m: m.LSTM(3, 4, proj_size=4), ValueError, "proj_size has to be smaller than hidden_size"),
    (lambda m: m.LSTM(3, 0), ValueError, "hidden_size must be greater than zero"),
    (lambda m: m.GRU(3, 4, num_layers=0), ValueError, "num_layers must be greater than zero"),
    (lambda m: m.GRU(3, 4, dropout=1.5), ValueError, "dropout should be a number in range"),
    (lambda m: m.LSTMCell(3.5, 4), TypeError, "input_size should be of type int"),
])
def test_bad_constructor_arguments_are_refused_as_torch_refuses_them(make, error, match):
    with pytest.raises(error):
        make(torch.nn)
    with pytest.raises(error, match=match):
        make(nn)


def test_lamina_refuses_at_construction_what_torch_refuses_later():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):  # torch: at the first call
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="RNN: proj_size argument is only supported for LSTM"):
        nn.RNNBase("RNN_TANH", 3, 4, proj_size=2)
