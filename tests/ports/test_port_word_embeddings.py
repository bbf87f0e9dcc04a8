"""The word-embeddings tutorial's N-gram language model: a vocabulary from a text, ``nn.Embedding`` of the
context words, a hidden layer, ``F.log_softmax`` and ``nn.NLLLoss``, trained with SGD; then the embedding of
one word looked up by index."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for

CONTEXT_SIZE, EMBEDDING_DIM = 2, 6
TEXT = """When forty winters shall besiege thy brow, And dig deep trenches in thy beauty's field, Thy youth's
proud livery so gazed on now, Will be a totter'd weed of small worth held""".split()
VOCAB = sorted(set(TEXT))


def build(torch):
    nn, F = torch.nn, torch.nn.functional

    class NGramLanguageModeler(nn.Module):
        def __init__(self, vocab_size, embedding_dim, context_size):
            super().__init__()
            self.embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.linear1 = nn.Linear(context_size * embedding_dim, 32)
            self.linear2 = nn.Linear(32, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).view((1, -1))
            out = F.relu(self.linear1(embeds))
            return F.log_softmax(self.linear2(out), dim=1)

    return NGramLanguageModeler(len(VOCAB), EMBEDDING_DIM, CONTEXT_SIZE)


def program(torch, init):
    ngrams = [([TEXT[i - j - 1] for j in range(CONTEXT_SIZE)], TEXT[i]) for i in range(CONTEXT_SIZE, len(TEXT))]
    word_to_ix = {word: i for i, word in enumerate(VOCAB)}
    loss_function = torch.nn.NLLLoss()
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    losses, step_losses = [], []
    for _epoch in range(3):
        total_loss = 0
        for context, target in ngrams:
            context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
            model.zero_grad()
            log_probs = model(context_idxs)
            loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            step_losses.append(loss.item())
        losses.append(total_loss)
    return {"epoch_losses": losses, "steps": step_losses,
            "beauty": model.embeddings.weight[word_to_ix["brow,"]], "params": model.state_dict()}


def test_ngram_language_model_with_embeddings():
    rng = np.random.default_rng(9)
    compare(program, {"model": weights_for(build, rng)}, "float32")
