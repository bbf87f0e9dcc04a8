"""The autograd tutorial's facts: ``grad_fn`` on results and not on leaves, ``y.backward(v)`` for a
vector-Jacobian product, gradients accumulating over two ``backward(..., retain_graph=True)`` calls and
``inp.grad.zero_()``, ``detach()`` and ``requires_grad_``, ``torch.autograd.grad`` of several inputs with
``allow_unused``, ``retain_grad`` on a non-leaf, and ``torch.no_grad`` leaving ``requires_grad`` off."""
from __future__ import annotations

import numpy as np
from _harness import compare


def program(torch, init):
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.tensor(init["w"], requires_grad=True)
    b = torch.tensor(init["b"], requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    facts = [float(z.grad_fn is not None), float(loss.grad_fn is not None), float(w.grad_fn is None),
             float(z.requires_grad), float(z.is_leaf), float(w.is_leaf)]
    loss.backward()
    grads = [w.grad.clone(), b.grad.clone()]

    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    after_zero = inp.grad.clone()

    a = torch.tensor(init["a"], requires_grad=True)
    h = a * 3
    h.retain_grad()
    v = torch.tensor(init["v"])
    yv = h.exp() * a
    yv.backward(v)
    z_det = (a * 2).detach()
    facts += [float(z_det.requires_grad), float(h.grad is not None)]
    with torch.no_grad():
        facts.append(float((a * 2).requires_grad))
    c = torch.tensor(init["c"]).requires_grad_()
    unused = torch.tensor(init["c"], requires_grad=True)
    ga, gc, gu = torch.autograd.grad((a.sin() * c).sum(), [a, c, unused], allow_unused=True)
    facts.append(float(gu is None))
    return {"facts": facts, "grads": grads, "first": first, "second": second, "after_zero": after_zero,
            "a_grad": a.grad, "h_grad": h.grad, "ga": ga, "gc": gc}


def test_autograd_tutorial_facts():
    rng = np.random.default_rng(33)
    init = {"w": rng.standard_normal((5, 3)), "b": rng.standard_normal(3), "a": rng.standard_normal(4),
            "v": rng.standard_normal(4), "c": rng.standard_normal(4)}
    got = compare(program, init, "float64")
    np.testing.assert_allclose(got["second"], 2 * got["first"])
