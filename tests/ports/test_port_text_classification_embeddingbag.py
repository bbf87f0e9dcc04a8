"""The text-classification tutorial's model: ``nn.EmbeddingBag(vocab_size, embed_dim)`` over a flat tensor of
token ids with ``offsets`` marking where each text starts (mean of each bag), a ``Linear`` head,
``CrossEntropyLoss``, SGD with ``clip_grad_norm_(model.parameters(), 0.1)`` and ``StepLR``."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for

VOCAB, EMBED, CLASSES = 30, 8, 4


def build(torch):
    nn = torch.nn

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    return TextClassificationModel(VOCAB, EMBED, CLASSES)


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    losses = []
    for _epoch in range(2):
        model.train()
        for texts, label in zip(init["texts"], init["labels"]):
            text_list = [torch.tensor(t, dtype=torch.int64) for t in texts]
            offsets = torch.tensor([0] + [len(t) for t in texts[:-1]]).cumsum(dim=0)
            text = torch.cat(text_list)
            optimizer.zero_grad()
            loss = criterion(model(text, offsets), torch.tensor(label))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return {"losses": losses, "params": model.state_dict()}


def test_text_classification_with_embedding_bag():
    rng = np.random.default_rng(35)
    texts = [[rng.integers(0, VOCAB, int(rng.integers(2, 7))) for _ in range(4)] for _ in range(3)]
    init = {"model": weights_for(build, rng), "texts": texts, "labels": [rng.integers(0, CLASSES, 4) for _ in range(3)]}
    compare(program, init, "float32")
