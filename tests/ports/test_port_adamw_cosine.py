"""AdamW with decoupled weight decay and no decay on biases and norm weights (two parameter groups), under
``CosineAnnealingLR``; the learning rate of both groups recorded each epoch."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(6, 12), nn.LayerNorm(12), nn.GELU(), nn.Linear(12, 3))


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1e-2, betas=(0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6, eta_min=1e-4)
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    losses, lrs = [], []
    for _epoch in range(8):
        for i in range(0, 24, 8):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 8]), y[i:i + 8])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
    return {"losses": losses, "lrs": lrs, "last_lr": scheduler.get_last_lr(), "params": model.state_dict()}


def test_adamw_with_weight_decay_groups_and_cosine_annealing():
    rng = np.random.default_rng(14)
    init = {"model": weights_for(build, rng), "x": rng.standard_normal((24, 6)).astype(np.float32),
            "y": rng.integers(0, 3, 24)}
    compare(program, init, "float32")
