"""A custom ``torch.autograd.Function``: a hard clamp whose backward passes the gradient straight through inside
the range and zeroes it outside (saved with ``ctx.save_for_backward``), and a quantizing rounding with a pure
straight-through gradient, used in a quantization-aware training loop."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    return torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Linear(12, 3))


def program(torch, init):
    class ClampSTE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, low, high):
            ctx.save_for_backward(input)
            ctx.low, ctx.high = low, high
            return input.clamp(low, high)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            inside = (input >= ctx.low) & (input <= ctx.high)
            return grad_output * inside.to(grad_output.dtype), None, None

    class RoundSTE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, scale):
            return torch.round(input * scale) / scale

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, None

    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    x, y = torch.tensor(init["x"]), torch.tensor(init["y"])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(8):
        h = ClampSTE.apply(model[0](x), -0.5, 0.5)
        h = RoundSTE.apply(h, 8.0)
        out = model[1](h)
        loss = torch.nn.functional.mse_loss(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    probe = x[:4].clone().requires_grad_(True)
    ClampSTE.apply(probe * 3, -1.0, 1.0).sum().backward()
    return {"losses": losses, "params": model.state_dict(), "probe_grad": probe.grad}


def test_custom_autograd_function_with_straight_through_gradients():
    rng = np.random.default_rng(2)
    init = {"model": weights_for(build, rng, "float64"), "x": rng.standard_normal((16, 6)),
            "y": rng.standard_normal((16, 3))}
    compare(program, init, "float64")
