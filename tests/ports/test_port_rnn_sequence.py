"""Two small recurrent programs in the style of PyTorch's examples, each written once as a function of the
``torch`` module and run with real torch and with lamina from the same NumPy-drawn weights: a two-LSTMCell
sine-wave predictor trained with L-BFGS (time-sequence prediction) and a character-level GRU/LSTM language
model trained with Adam. The losses agree at every step (float64, 1e-5)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina


def _weights(model, rng) -> dict[str, np.ndarray]:
    """One NumPy draw U(−0.3, 0.3) per entry of ``model``'s state_dict, in its shapes."""
    return {k: rng.uniform(-0.3, 0.3, tuple(v.shape)) for k, v in model.state_dict().items()}


def sine_program(torch, weights, data, steps=3):
    """Predict the next value of sine waves with two stacked LSTMCells and a Linear head; L-BFGS on MSE."""
    nn = torch.nn

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, 12)
            self.lstm2 = nn.LSTMCell(12, 12)
            self.linear = nn.Linear(12, 1)

        def forward(self, input, future=0):
            outputs = []
            h_t = torch.zeros(input.size(0), 12, dtype=torch.double)
            c_t = torch.zeros(input.size(0), 12, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
            output = None
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _ in range(future):  # predict the future from the model's own outputs
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            return torch.cat(outputs, dim=1)

    model = Sequence().double()
    if weights is None:
        return model
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    input, target = torch.tensor(data[:, :-1]), torch.tensor(data[:, 1:])
    criterion = nn.MSELoss()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
    losses = []
    for _ in range(steps):
        def closure():
            optimizer.zero_grad()
            loss = criterion(model(input), target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
    with torch.no_grad():
        future = model(input[:1], future=5)
        losses.append(criterion(future[:, :-5], target[:1]).item())
    return losses


def char_program(torch, weights, text, rnn="LSTM", steps=4):
    """A character-level language model: Embedding → 2-layer batch-first recurrent net → Linear over the
    vocabulary, trained with Adam on cross-entropy of the next character, then a greedy sample."""
    nn = torch.nn
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}

    class CharRNN(nn.Module):
        def __init__(self, vocab, hidden=16):
            super().__init__()
            self.embed = nn.Embedding(vocab, 8)
            self.rnn = getattr(nn, rnn)(8, hidden, num_layers=2, batch_first=True, dropout=0.0)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, x, state=None):
            out, state = self.rnn(self.embed(x), state)
            return self.head(out), state

    model = CharRNN(len(chars)).double()
    if weights is None:
        return model
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    ids = torch.tensor([index[ch] for ch in text])
    seq = 12
    starts = range(0, len(text) - seq - 1, seq)
    x = torch.stack([ids[s:s + seq] for s in starts])
    y = torch.stack([ids[s + 1:s + seq + 1] for s in starts])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():  # greedy sampling, carrying the state from one character to the next
        state, ch, sampled = None, ids[:1].reshape(1, 1), []
        for _ in range(6):
            logits, state = model(ch, state)
            ch = logits[:, -1].argmax(-1).reshape(1, 1)
            sampled.append(int(ch.item()))
        losses.append(float(sum(sampled)))
    return losses


def test_sine_wave_lstm_cells_with_lbfgs_give_torch_losses():
    rng = np.random.default_rng(0)
    t = np.arange(20) + rng.integers(-16, 16, (4, 1))
    data = np.sin(t / 4.0)
    weights = _weights(sine_program(torch, None, None), rng)
    ref = sine_program(torch, weights, data)
    lam = sine_program(lamina, weights, data)
    assert len(lam) == len(ref) > 4
    np.testing.assert_allclose(lam, ref, rtol=1e-5, atol=1e-5)
    assert ref[-2] < ref[0]


@pytest.mark.parametrize("rnn", ["LSTM", "GRU"])
def test_char_rnn_with_adam_gives_torch_losses(rnn):
    rng = np.random.default_rng(1)
    text = "hello world, hello lamina, hello torch. " * 2
    weights = _weights(char_program(torch, None, text, rnn), rng)
    ref = char_program(torch, weights, text, rnn)
    lam = char_program(lamina, weights, text, rnn)
    np.testing.assert_allclose(lam, ref, rtol=1e-5, atol=1e-5)
    assert ref[3] < ref[0]
