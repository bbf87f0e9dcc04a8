"""The sequence-models tutorial's LSTM part-of-speech tagger: ``nn.Embedding`` → ``nn.LSTM`` → ``nn.Linear`` →
``F.log_softmax``, ``NLLLoss``, SGD over a few sentences."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for

TRAINING_DATA = [("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
                 ("Everybody read that book".split(), ["NN", "V", "DET", "NN"])]
WORDS = sorted({w for s, _ in TRAINING_DATA for w in s})
TAGS = ["DET", "NN", "V"]


def build(torch):
    nn, F = torch.nn, torch.nn.functional

    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super().__init__()
            self.hidden_dim = hidden_dim
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            return F.log_softmax(tag_space, dim=1)

    return LSTMTagger(6, 6, len(WORDS), len(TAGS))


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    loss_function = torch.nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    word_to_ix, tag_to_ix = {w: i for i, w in enumerate(WORDS)}, {t: i for i, t in enumerate(TAGS)}
    losses = []
    for _epoch in range(3):
        for sentence, tags in TRAINING_DATA:
            model.zero_grad()
            tag_scores = model(torch.tensor([word_to_ix[w] for w in sentence], dtype=torch.long))
            loss = loss_function(tag_scores, torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "params": model.state_dict()}


def test_lstm_part_of_speech_tagger():
    rng = np.random.default_rng(26)
    compare(program, {"model": weights_for(build, rng)}, "float32")
