"""The makemore MLP with a hand-written batch norm: a character embedding table ``C`` indexed as ``C[Xb]``,
``emb.view(emb.shape[0], -1)``, a hidden layer normalized with the batch's ``mean(0, keepdim=True)`` and
``std(0, keepdim=True)``, running statistics updated under ``torch.no_grad()``, ``F.cross_entropy``, the
parameters kept in a plain list with ``p.requires_grad = True``, ``p.grad = None`` and ``p.data += -lr * p.grad``,
a step learning-rate decay; then the loss with the running statistics under ``@torch.no_grad()``. The
initial weights and the minibatch indices (a ``torch.randint`` in the lecture) are passed in."""
from __future__ import annotations

import numpy as np
from _harness import compare

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail", "emily",
         "ella", "elizabeth", "camila", "luna"]
BLOCK, N_EMBD, N_HIDDEN = 3, 4, 20


def program(torch, init):
    F = torch.nn.functional
    chars = sorted(set("".join(WORDS)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    X, Y = [], []
    for w in WORDS:
        context = [0] * BLOCK
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X, Y = torch.tensor(X), torch.tensor(Y)
    C, W1, W2, b2, bngain, bnbias = (torch.tensor(init[k]) for k in ("C", "W1", "W2", "b2", "bngain", "bnbias"))
    bnmean_running, bnstd_running = torch.zeros((1, N_HIDDEN)), torch.ones((1, N_HIDDEN))
    parameters = [C, W1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.requires_grad = True
    losses = []
    for i in range(12):
        Xb, Yb = X[init["ix"][i]], Y[init["ix"][i]]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1
        bnmeani = hpreact.mean(0, keepdim=True)
        bnstdi = hpreact.std(0, keepdim=True)
        hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
        with torch.no_grad():
            bnmean_running = 0.9 * bnmean_running + 0.1 * bnmeani
            bnstd_running = 0.9 * bnstd_running + 0.1 * bnstdi
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 8 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        losses.append(loss.log10().item())

    @torch.no_grad()
    def split_loss():
        emb = C[X]
        hpreact = emb.view(emb.shape[0], -1) @ W1
        hpreact = bngain * (hpreact - bnmean_running) / bnstd_running + bnbias
        return F.cross_entropy(torch.tanh(hpreact) @ W2 + b2, Y).item()

    return {"losses": losses, "eval": split_loss(), "params": parameters, "running": [bnmean_running, bnstd_running]}


def test_makemore_mlp_with_manual_batchnorm():
    rng = np.random.default_rng(28)
    f = np.float32
    n = sum(len(w) + 1 for w in WORDS)
    init = {"C": rng.standard_normal((27, N_EMBD)).astype(f),
            "W1": (rng.standard_normal((BLOCK * N_EMBD, N_HIDDEN)) * (5 / 3) / (BLOCK * N_EMBD) ** 0.5).astype(f),
            "W2": (rng.standard_normal((N_HIDDEN, 27)) * 0.01).astype(f), "b2": np.zeros(27, f),
            "bngain": np.ones((1, N_HIDDEN), f), "bnbias": np.zeros((1, N_HIDDEN), f),
            "ix": rng.integers(0, n, (12, 16))}
    compare(program, init, "float32")
