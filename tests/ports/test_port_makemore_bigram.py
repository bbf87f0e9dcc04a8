"""The bigram character model of the makemore lectures: a (27, 27) weight matrix, inputs one-hot encoded with
``F.one_hot(xs, num_classes=27).float()``, counts ``logits.exp()`` normalized with ``sum(1, keepdims=True)``,
the loss ``-probs[torch.arange(num), ys].log().mean()`` plus an L2 term, and the update
``W.data += -lr * W.grad`` after ``W.grad = None``. The initial ``W`` (a ``torch.randn`` in the lecture) is
passed in."""
from __future__ import annotations

import numpy as np
from _harness import compare

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail"]


def program(torch, init):
    F = torch.nn.functional
    chars = sorted(set("".join(WORDS)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    xs, ys = [], []
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs, ys = torch.tensor(xs), torch.tensor(ys)
    num = xs.nelement()
    W = torch.tensor(init["W"], requires_grad=True)
    losses = []
    for _k in range(15):
        xenc = F.one_hot(xs, num_classes=27).float()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -10 * W.grad
    N = torch.zeros((27, 27), dtype=torch.int32)
    for ix1, ix2 in zip(xs.tolist(), ys.tolist()):
        N[ix1, ix2] += 1
    P = (N + 1).float()
    P /= P.sum(1, keepdim=True)
    nll = -torch.log(P[xs, ys]).mean()
    return {"losses": losses, "W": W, "counts_nll": nll, "N_total": N.sum().item()}


def test_makemore_bigram_model():
    rng = np.random.default_rng(27)
    compare(program, {"W": rng.standard_normal((27, 27)).astype(np.float32)}, "float32")
