"""Bilinear, CosineSimilarity, PairwiseDistance, KLDivLoss, TripletMarginLoss, Mish and
nn.utils.parameters_to_vector / vector_to_parameters against torch (values, gradients, float32 and float64)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from opcheck import check_op
from twins import compare

import lamina
import lamina.nn as nn
import lamina.nn.functional as F


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bilinear_with_torch_weights(dtype):
    tm = torch.nn.Bilinear(3, 4, 5).to(torch.float64 if dtype is np.float64 else torch.float32)
    m = nn.Bilinear(3, 4, 5, dtype=dtype)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    m.load_state_dict({k: lamina.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    compare(m, tm, [rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 4))], dtype)
    bound = 1 / np.sqrt(3)
    assert np.abs(nn.Bilinear(3, 4, 5).weight.numpy()).max() <= bound
    check_op(F.bilinear, TF.bilinear, rng.standard_normal((2, 3)), rng.standard_normal((2, 4)),
             rng.standard_normal((5, 3, 4)), rng.standard_normal(5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_similarity_and_distance_match_torch(dtype):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 5, 3)), rng.standard_normal((4, 5, 3))
    compare(nn.CosineSimilarity(dim=1), torch.nn.CosineSimilarity(dim=1), [a, b], dtype)
    compare(nn.CosineSimilarity(dim=-1), torch.nn.CosineSimilarity(dim=-1), [a, b[:1]], dtype)  # broadcast
    compare(nn.PairwiseDistance(), torch.nn.PairwiseDistance(), [a, b], dtype)
    compare(nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True), [a, b], dtype)
    check_op(F.cosine_similarity, TF.cosine_similarity, a, b)
    # below ε torch clamps the norm without differentiating the clamp: the gradient is torch's, not the derivative
    check_op(lambda x, y: F.cosine_similarity(x * 1e-9, y), lambda x, y: TF.cosine_similarity(x * 1e-9, y), a, b,
             fd=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss_matches_torch(reduction, log_target, dtype):
    rng = np.random.default_rng(2)
    logp = np.log(rng.dirichlet(np.ones(5), 4))
    q = rng.dirichlet(np.ones(5), 4)
    q[0, 1] = 0.0  # a zero target probability contributes 0
    target = np.log(q + 1e-3) if log_target else q
    with warnings.catch_warnings():  # torch's note about 'mean'
        warnings.simplefilter("ignore")
        compare(nn.KLDivLoss(reduction=reduction, log_target=log_target),
                torch.nn.KLDivLoss(reduction=reduction, log_target=log_target), [logp, target], dtype, diff=[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(), dict(margin=0.3, p=1.0, swap=True, reduction="sum"),
                                dict(reduction="none", eps=1e-3)], ids=str)
def test_triplet_margin_loss_matches_torch(kw, dtype):
    rng = np.random.default_rng(3)
    a, p, n = (rng.standard_normal((6, 4)) for _ in range(3))
    compare(nn.TripletMarginLoss(**kw), torch.nn.TripletMarginLoss(**kw), [a, p, n], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mish_matches_torch(dtype):
    x = np.random.default_rng(4).uniform(-6, 6, (3, 7))
    compare(nn.Mish(), torch.nn.Mish(), [x], dtype)
    check_op(F.mish, TF.mish, x[:1])


def test_parameters_to_vector_round_trip_as_torch():
    lamina.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 2), nn.Conv1d(2, 2, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Conv1d(2, 2, 2))
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    v = nn.utils.parameters_to_vector(m.parameters())
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    np.testing.assert_array_equal(v.detach().numpy(), tv.detach().numpy())
    (v * v).sum().backward()  # differentiable: the gradient reaches every parameter
    assert all(p.grad is not None for p in m.parameters())
    new = np.arange(v.numel(), dtype=np.float32)
    nn.utils.vector_to_parameters(lamina.tensor(new), m.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tm.parameters())
    for (name, p), tp in zip(m.named_parameters(), tm.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy(), err_msg=name)
    with pytest.raises(ValueError, match="vector_to_parameters: the vector has 3 values"):
        nn.utils.vector_to_parameters(lamina.zeros(3), m.parameters())


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="kl_div: reduction must be"):
        F.kl_div(lamina.zeros(2), lamina.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(lamina.ShapeError, match="bilinear: inputs"):
        F.bilinear(lamina.zeros(2, 3), lamina.zeros(2, 3), lamina.zeros(5, 3, 4))
