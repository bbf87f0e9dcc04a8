"""The "classifying names with a character-level RNN" tutorial: letters one-hot encoded into a
(len, 1, n_letters) tensor, an RNN written with ``nn.Linear`` layers over ``torch.cat((input, hidden), 1)``,
``LogSoftmax`` + ``NLLLoss``, the hidden state from ``initHidden`` carried through a time-step loop, and the
manual update ``p.data.add_(p.grad.data, alpha=-learning_rate)``; ``topk`` for the prediction."""
from __future__ import annotations

import string

import numpy as np
from _harness import compare, weights_for

ALL_LETTERS = string.ascii_letters + " .,;'"
N_LETTERS, N_HIDDEN = len(ALL_LETTERS), 16
CATEGORIES = ["English", "French", "Japanese"]
NAMES = [("Smith", 0), ("Dubois", 1), ("Tanaka", 2), ("Jones", 0), ("Moreau", 1), ("Suzuki", 2), ("Brown", 0),
         ("Lefevre", 1), ("Sato", 2)]


def build(torch):
    nn = torch.nn

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            combined = torch.cat((input, hidden), 1)
            hidden = torch.tanh(self.i2h(combined))
            output = self.softmax(self.h2o(hidden))
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    return RNN(N_LETTERS, N_HIDDEN, len(CATEGORIES))


def program(torch, init):
    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, N_LETTERS)
        for li, letter in enumerate(line):
            tensor[li][0][ALL_LETTERS.find(letter)] = 1
        return tensor

    rnn = build(torch)
    rnn.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    criterion = torch.nn.NLLLoss()
    learning_rate = 0.05

    def train(category_tensor, line_tensor):
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item()

    losses, guesses = [], []
    for _epoch in range(2):
        for name, category in NAMES:
            output, loss = train(torch.tensor([category], dtype=torch.long), lineToTensor(name))
            losses.append(loss)
            top_n, top_i = output.topk(1)
            guesses.append(float(top_i[0].item()))
    return {"losses": losses, "guesses": guesses, "params": rnn.state_dict()}


def test_character_level_rnn_name_classifier():
    rng = np.random.default_rng(24)
    compare(program, {"model": weights_for(build, rng)}, "float32")
