"""Learning-rate warmup with ``LambdaLR``: linear warmup for a few steps then inverse-square-root decay (the
Transformer schedule), stepped once per optimizer step; then ``LinearLR`` warmup chained into ``ExponentialLR``
with ``SequentialLR``; the rates recorded at each step."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for

WARMUP = 4


def build(torch):
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

    def lr_lambda(step):
        step = step + 1
        return min(step / WARMUP, (WARMUP / step) ** 0.5)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lr_lambda)
    losses, lrs = [], []
    for _step in range(12):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    opt2 = torch.optim.SGD(model.parameters(), lr=0.1)
    warm = torch.optim.lr_scheduler.LinearLR(opt2, start_factor=0.25, total_iters=3)
    decay = torch.optim.lr_scheduler.ExponentialLR(opt2, gamma=0.8)
    seq = torch.optim.lr_scheduler.SequentialLR(opt2, schedulers=[warm, decay], milestones=[3])
    seq_lrs = []
    for _step in range(8):
        opt2.step()
        seq.step()
        seq_lrs.append(opt2.param_groups[0]["lr"])
    return {"losses": losses, "lrs": lrs, "seq_lrs": seq_lrs, "params": model.state_dict()}


def test_lambda_lr_warmup_and_sequential_schedules():
    rng = np.random.default_rng(18)
    init = {"model": weights_for(build, rng), "x": rng.standard_normal((20, 5)).astype(np.float32),
            "y": rng.standard_normal((20, 1)).astype(np.float32)}
    compare(program, init, "float32")
