"""The "Learning PyTorch with examples" models: a custom ``autograd.Function`` for the Legendre polynomial
P₃(x) = ½(5x³ − 3x) with ``ctx.save_for_backward``, a ``Polynomial3`` module of four scalar
``nn.Parameter``s with a ``string()`` summary, and the dynamic net that reuses one parameter a varying number of
times in its forward (the number of times, a ``random.randint`` in the tutorial, passed in) — weight sharing
through Python control flow — trained with SGD with momentum."""
from __future__ import annotations

import math

import numpy as np
from _harness import compare


def program(torch, init):
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    x = torch.linspace(-math.pi, math.pi, 100)
    y = torch.sin(x)
    a, b, c, d = (torch.full((), v, requires_grad=True) for v in init["abcd"])
    learning_rate, legendre_losses = 5e-6, []
    for _t in range(20):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        legendre_losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None

    class DynamicNet(torch.nn.Module):
        def __init__(self, values):
            super().__init__()
            self.a, self.b, self.c, self.d, self.e = (torch.nn.Parameter(torch.tensor(v)) for v in values)

        def forward(self, x, repeats):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, repeats + 1):
                y = y + self.e * x ** exp
            return y

        def string(self):
            return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + "
                    f"{self.e.item()} x^4 ? + {self.e.item()} x^5 ?")

    model = DynamicNet(init["abcde"])
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    dyn_losses = []
    for t in range(20):
        loss = criterion(model(x, int(init["repeats"][t])), y)
        dyn_losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"legendre": legendre_losses, "abcd": [a, b, c, d], "dynamic": dyn_losses,
            "params": model.state_dict(), "string_terms": float(len(model.string().split("+")))}


def test_legendre_function_and_dynamic_net():
    rng = np.random.default_rng(34)
    init = {"abcd": [0.0, -1.0, 0.0, 0.3], "abcde": list(rng.standard_normal(5) * 0.1),
            "repeats": rng.integers(3, 6, 20)}
    compare(program, init, "float64")
