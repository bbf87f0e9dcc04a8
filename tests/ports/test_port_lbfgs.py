"""Full-batch optimization with ``torch.optim.LBFGS`` and a closure that zeroes the gradients, computes the loss
and calls ``backward`` (the pattern of the neural-style and "time sequence prediction" examples), with and
without the strong-Wolfe line search; the closure's losses and the final weights recorded."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    return torch.nn.Sequential(torch.nn.Linear(2, 10), torch.nn.Tanh(), torch.nn.Linear(10, 1))


def program(torch, init):
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])

    def fit(line_search):
        model = build(torch)
        model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
        optimizer = torch.optim.LBFGS(model.parameters(), lr=0.8 if line_search is None else 1.0, max_iter=5,
                                      history_size=4, line_search_fn=line_search)
        criterion = torch.nn.MSELoss()
        closure_losses, step_losses = [], []

        def closure():
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            closure_losses.append(loss.item())
            return loss

        for _i in range(3):
            step_losses.append(optimizer.step(closure).item())
        return {"closure": closure_losses, "steps": step_losses, "params": model.state_dict()}

    return {"fixed_step": fit(None), "strong_wolfe": fit("strong_wolfe")}


def test_lbfgs_with_a_closure():
    rng = np.random.default_rng(23)
    x = rng.uniform(-1, 1, (40, 2))
    init = {"model": weights_for(build, rng, "float64"), "x": x, "y": np.sin(2 * x[:, :1]) * x[:, 1:]}
    compare(program, init, "float64")
