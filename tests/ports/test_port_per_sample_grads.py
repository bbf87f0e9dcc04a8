"""The torch.func per-sample-gradients tutorial: a small CNN's parameters pulled out with ``named_parameters``,
the loss of one sample written with ``func.functional_call``, and ``vmap(grad(loss), in_dims=(None, None, 0, 0))``
giving every sample's gradient in one call; then a DP-SGD-style step (each sample's gradient clipped to norm 1,
averaged) applied by hand. The loop's gradients, one sample at a time, are recorded too."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for

N, CLASSES = 6, 5


def build(torch):
    nn = torch.nn

    class SimpleCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.fc1 = nn.Linear(4 * 3 * 3, CLASSES)

        def forward(self, x):
            x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
            return self.fc1(torch.flatten(x, 1))

    return SimpleCNN()


def program(torch, init):
    functional_call, grad, vmap = torch.func.functional_call, torch.func.grad, torch.func.vmap

    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    data, targets = torch.tensor(init["data"]), torch.tensor(init["targets"])
    loss_fn = torch.nn.functional.cross_entropy
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return loss_fn(predictions, target.unsqueeze(0))

    out = {"per_sample": {}, "loop": {}, "losses": []}
    for step in range(3):
        per_sample = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)
        for i in range(N):  # the same gradients, one sample at a time
            g = grad(compute_loss)(params, buffers, data[i], targets[i])
            for k in params:
                out["loop"][f"{step}.{k}.{i}"] = g[k]
        norms = torch.stack([per_sample[k].flatten(1).norm(dim=1) for k in params]).norm(dim=0)
        scale = (1.0 / torch.clamp(norms, min=1.0)).view(-1, 1)
        new = {}
        for k, p in params.items():
            clipped = per_sample[k].flatten(1) * scale
            new[k] = p - 0.5 * clipped.mean(0).view(p.shape)
            out["per_sample"][f"{step}.{k}"] = per_sample[k]
        params = new
        out["losses"].append(loss_fn(functional_call(model, (params, buffers), (data,)), targets).item())
    out["params"] = params
    return out


def test_per_sample_gradients_with_vmap_and_functional_call():
    rng = np.random.default_rng(41)
    init = {"model": weights_for(build, rng, "float64"),
            "data": rng.standard_normal((N, 1, 8, 8)), "targets": rng.integers(0, CLASSES, N)}
    compare(program, init, "float64")
