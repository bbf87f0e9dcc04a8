"""A user's everyday script, written as a PyTorch user would, for the type checker.

CI runs ``mypy src/lamina tests/typing/user_script.py``: every line here must type-check against lamina's
public API (Tensor arithmetic, ``@``, ``.exp()``, ``.reshape``, an ``nn.Module`` subclass, an optimizer
step). pytest does not collect this file; the behaviour is tested elsewhere.
"""
from __future__ import annotations

import lamina
from lamina import Tensor, nn, optim


class TwoLayer(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.hidden(x).relu())


def train_step(model: nn.Module, opt: optim.Optimizer, x: Tensor, y: Tensor) -> float:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def arithmetic(a: Tensor, b: Tensor) -> Tensor:
    c: Tensor = (a + b) * 2.0 - a / (b.abs() + 1.0)
    d: Tensor = (a @ b.T).exp().log1p()
    e: Tensor = d.reshape(-1).sum() + d.mean(dim=0).max()
    return e + c.sum() ** 2


def main() -> None:
    lamina.manual_seed(0)
    x = lamina.randn(32, 4)
    y = lamina.randint(0, 3, (32,))
    model = TwoLayer(4, 16, 3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses: list[float] = [train_step(model, opt, x, y) for _ in range(5)]
    with lamina.no_grad():
        pred: Tensor = model(x).argmax(dim=1)
    accuracy: float = (pred == y).float().mean().item()
    total: Tensor = arithmetic(x, lamina.ones(32, 4))
    print(losses[-1], accuracy, total.item(), x.shape[0], x.dtype)


if __name__ == "__main__":
    main()
