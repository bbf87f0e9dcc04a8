"""The forward-mode AD tutorial: inside ``forward_ad.dual_level()``, ``make_dual(primal, tangent)``, push it
through a function and a module, and read the Jacobian-vector product with ``unpack_dual``; columns of a
Jacobian from one-hot tangents, checked against reverse mode."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))


def program(torch, init):
    import_fwAD = torch.autograd.forward_ad
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    primal, tangent = torch.tensor(init["x"]), torch.tensor(init["v"])

    def fn(x, y):
        return x ** 2 + y.sin() * x.exp()

    with import_fwAD.dual_level():
        dual_input = import_fwAD.make_dual(primal, tangent)
        dual_output = fn(dual_input, primal.flip(0))
        jvp_fn = import_fwAD.unpack_dual(dual_output).tangent
        out = model(import_fwAD.make_dual(primal, tangent))
        value, jvp_model = import_fwAD.unpack_dual(out)
    columns = []
    with import_fwAD.dual_level():
        for i in range(5):
            e = torch.zeros(5)
            e[i] = 1.0
            columns.append(import_fwAD.unpack_dual(model(import_fwAD.make_dual(primal[0], e))).tangent)
    jacobian = torch.stack(columns, dim=1)
    x = primal[0].clone().requires_grad_(True)
    rows = [torch.autograd.grad(model(x)[j], x)[0] for j in range(3)]
    return {"jvp_fn": jvp_fn, "value": value, "jvp_model": jvp_model, "jacobian": jacobian,
            "reverse_jacobian": torch.stack(rows), "tangent_after": [float(import_fwAD.unpack_dual(out).tangent is None)]}


def test_forward_mode_ad_tutorial():
    rng = np.random.default_rng(5)
    init = {"model": weights_for(build, rng, "float64"), "x": rng.standard_normal((4, 5)),
            "v": rng.standard_normal((4, 5))}
    got = compare(program, init, "float64")
    np.testing.assert_allclose(got["jacobian"], got["reverse_jacobian"], rtol=1e-10)
