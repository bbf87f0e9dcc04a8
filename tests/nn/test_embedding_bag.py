"""nn.EmbeddingBag / F.embedding_bag against torch: every mode, offsets and 2-D bags, weights, padding, gradients."""
import numpy as np
import pytest
import torch

import lamina
import lamina.nn.functional as F


def _pair(weight, idx, offsets, **kw):
    lw, tw = lamina.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
    lo = None if offsets is None else lamina.tensor(offsets)
    to = None if offsets is None else torch.tensor(offsets)
    psw = kw.pop("per_sample_weights", None)
    lk, tk = dict(kw), dict(kw)
    if psw is not None:
        lk["per_sample_weights"], tk["per_sample_weights"] = lamina.tensor(psw), torch.tensor(psw)
    out = F.embedding_bag(lamina.tensor(idx), lw, lo, **lk)
    tout = torch.nn.functional.embedding_bag(torch.tensor(idx), tw, to, **tk)
    return out, tout, lw, tw


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["offsets", "offsets_last", "rows", "empty_bag", "padding"])
def test_values_and_gradients_match_torch(mode, layout):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((10, 4))
    idx, offsets, kw = rng.integers(0, 10, 9), np.array([0, 2, 5]), {}
    if layout == "offsets_last":
        offsets, kw = np.array([0, 2, 5, 9]), {"include_last_offset": True}
    elif layout == "rows":
        idx, offsets = rng.integers(0, 10, (3, 4)), None
    elif layout == "empty_bag":
        offsets = np.array([0, 2, 2, 9])
    elif layout == "padding":
        idx[[1, 4]] = 3
        kw = {"padding_idx": 3}
    out, tout, lw, tw = _pair(weight, idx, offsets, mode=mode, **kw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(tuple(tout.shape))
    (out * lamina.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(lw.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_per_sample_weights_in_sum_mode():
    rng = np.random.default_rng(1)
    out, tout, _, _ = _pair(rng.standard_normal((6, 3)), rng.integers(0, 6, 5), np.array([0, 3]), mode="sum",
                            per_sample_weights=rng.standard_normal(5))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)


def test_module_matches_torch_and_refuses_bad_input():
    torch.manual_seed(0)
    tm = torch.nn.EmbeddingBag(7, 3, mode="sum")
    lm = lamina.nn.EmbeddingBag(7, 3, mode="sum")
    lm.load_state_dict({k: lamina.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.array([1, 2, 4, 5, 4, 3, 2, 6])
    off = np.array([0, 4])
    np.testing.assert_allclose(lm(lamina.tensor(x), lamina.tensor(off)).detach().numpy(),
                               tm(torch.tensor(x), torch.tensor(off)).detach().numpy(), rtol=1e-6)
    assert lm.extra_repr() == "7, 3, mode='sum'"  # torch's repr; lamina's adds a parameter count
    with pytest.raises(ValueError, match="a 1-D input needs offsets"):
        lm(lamina.tensor(x))
    with pytest.raises(ValueError, match="offsets must be a non-empty 1-D non-decreasing sequence starting at 0"):
        lm(lamina.tensor(x), lamina.tensor([1, 4]))
    with pytest.raises(ValueError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(lamina.tensor(x), lm.weight, lamina.tensor(off), mode="mean",
                        per_sample_weights=lamina.ones(8))
