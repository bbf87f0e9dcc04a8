"""Grad modes in an evaluation helper and a training loop: ``@torch.no_grad()`` as a decorator,
``torch.set_grad_enabled(is_train)`` in a loop shared by the train and validation phases (the pattern of the
transfer-learning tutorial), ``torch.inference_mode()``, ``torch.is_grad_enabled()`` and ``requires_grad`` of
what they produce."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def program(torch, init):
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    data = {"train": (torch.tensor(init["x"]), torch.tensor(init["y"])),
            "val": (torch.tensor(init["xv"]), torch.tensor(init["yv"]))}
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)

    @torch.no_grad()
    def evaluate(inputs):
        out = model(inputs)
        return out, torch.is_grad_enabled()

    phases = {"train": [], "val": []}
    flags = []
    for _epoch in range(4):
        for phase in ["train", "val"]:
            model.train() if phase == "train" else model.eval()
            inputs, labels = data[phase]
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                outputs = model(inputs)
                loss = criterion(outputs, labels)
                flags.append(float(outputs.requires_grad))
                if phase == "train":
                    loss.backward()
                    optimizer.step()
            phases[phase].append(loss.item())
    out, enabled = evaluate(data["val"][0])
    with torch.inference_mode():
        inf = model(data["val"][0])
        inf_flags = [float(inf.requires_grad), float(torch.is_grad_enabled()), float(torch.is_inference_mode_enabled())]
    torch.set_grad_enabled(False)
    off = model(data["val"][0]).requires_grad
    torch.set_grad_enabled(True)
    return {"train": phases["train"], "val": phases["val"], "flags": flags, "eval_out": out, "inference": inf,
            "mode_flags": [float(enabled), float(out.requires_grad), *inf_flags, float(off),
                           float(torch.is_grad_enabled())], "params": model.state_dict()}


def test_no_grad_decorator_set_grad_enabled_and_inference_mode():
    rng = np.random.default_rng(19)
    init = {"model": weights_for(build, rng), "x": rng.standard_normal((16, 4)).astype(np.float32),
            "y": rng.integers(0, 3, 16), "xv": rng.standard_normal((8, 4)).astype(np.float32),
            "yv": rng.integers(0, 3, 8)}
    compare(program, init, "float32")
