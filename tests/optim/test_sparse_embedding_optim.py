"""Row-sparse embedding gradients (nn.Embedding(sparse=True)) and the optimizers that apply them,
against torch.nn.Embedding(sparse=True) + torch.optim.SGD / Adagrad / SparseAdam."""
import numpy as np
import pytest
import torch

import lamina as L
from lamina import nn, optim
from lamina.optim._sparse import coalesce_rows
from lamina.sparse import RowSparseGrad

V, D = 12, 4
# several steps, each batch with repeated ids (2-D input too)
BATCHES = [np.array([1, 3, 3, 7]), np.array([[3, 3], [3, 0]]), np.array([11, 1, 1, 1, 5]), np.array([7, 7])]


def _pair(sparse=True, padding_idx=None, scale_grad_by_freq=False):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((V, D))
    lam = nn.Embedding(V, D, sparse=sparse, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq,
                       _weight=L.tensor(w.copy()))
    # torch has no sparse gradient with scale_grad_by_freq: compare with its dense one then
    tor = torch.nn.Embedding(V, D, sparse=sparse and not scale_grad_by_freq, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq,
                             _weight=torch.tensor(w.copy()))
    return lam, tor


def _loss_weights(idx):
    return np.random.default_rng(int(idx.sum())).standard_normal(idx.shape + (D,))


def _lam_loss(emb, idx):
    y = emb(L.tensor(idx))
    return (y * y * L.tensor(_loss_weights(idx))).sum()


def _tor_loss(emb, idx):
    y = emb(torch.tensor(idx))
    return (y * y * torch.tensor(_loss_weights(idx))).sum()


@pytest.mark.parametrize("padding_idx,scale", [(None, False), (3, False), (None, True)])
def test_sparse_gradient_equals_torch_and_holds_only_batch_rows(padding_idx, scale):
    lam, tor = _pair(padding_idx=padding_idx, scale_grad_by_freq=scale)
    idx = np.array([[1, 3, 3], [7, 3, 1]])
    _lam_loss(lam, idx).backward()
    _tor_loss(tor, idx).backward()
    g = lam.weight.grad
    assert isinstance(g, RowSparseGrad) and g.shape == (V, D)
    expected_ids = idx.reshape(-1) if padding_idx is None else idx.reshape(-1)[idx.reshape(-1) != padding_idx]
    assert g.indices.tolist() == expected_ids.tolist()  # the looked-up rows, repeats not yet summed
    assert g.values().shape == (expected_ids.size, D)
    assert tor.weight.grad.is_sparse != scale
    np.testing.assert_allclose(g.to_dense().numpy(), tor.weight.grad.to_dense().numpy(), rtol=1e-12, atol=1e-12)


def test_gradient_size_does_not_depend_on_vocabulary_size():
    sizes = []
    for vocab in (10, 200_000):
        emb = nn.Embedding(vocab, 8, sparse=True)
        before = emb.weight.numpy().copy()
        idx = np.array([4, 9, 4, 2])
        emb(L.tensor(idx)).sum().backward()
        sizes.append(emb.weight.grad.values().shape)
        optim.SGD(emb.parameters(), lr=0.5).step()
        changed = np.flatnonzero(np.any(emb.weight.numpy() != before, axis=1))
        assert changed.tolist() == [2, 4, 9]  # only the batch's rows were written
    assert sizes == [(4, 8), (4, 8)]


def test_create_graph_and_non_leaf_weight_fall_back_to_dense():
    emb = nn.Embedding(V, D, sparse=True)
    y = emb(L.tensor(np.array([1, 1, 2])))
    (gw,) = L.autograd.grad((y ** 3).sum(), [emb.weight], create_graph=True)
    assert not isinstance(gw, RowSparseGrad) and gw.shape == (V, D) and gw.requires_grad
    gw.sum().backward()  # second order through the dense rule
    assert emb.weight.grad.shape == (V, D)
    np.testing.assert_allclose(emb.weight.grad.numpy()[1], 2 * 6 * emb.weight.numpy()[1], rtol=1e-5)

    w = L.randn(V, D, requires_grad=True)
    L.nn.functional.embedding(L.tensor(np.array([0, 0])), w * 2, sparse=True).sum().backward()
    assert not isinstance(w.grad, RowSparseGrad)
    assert w.grad.numpy()[0].tolist() == [4.0] * D


def test_sparse_plus_dense_use_accumulates_to_dense():
    lam, tor = _pair()
    idx = np.array([2, 2, 5])
    (_lam_loss(lam, idx) + (lam.weight * lam.weight).sum()).backward()
    (_tor_loss(tor, idx) + (tor.weight * tor.weight).sum()).backward()
    np.testing.assert_allclose(np.asarray(lam.weight.grad), tor.weight.grad.to_dense().numpy(), rtol=1e-12)


OPTIMIZERS = [
    ("sgd", lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd-max", lambda p: optim.SGD(p, lr=0.1, maximize=True), lambda p: torch.optim.SGD(p, lr=0.1, maximize=True)),
    ("sgd-momentum", lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1)),
    ("sgd-nesterov", lambda p: optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
    ("adagrad", lambda p: optim.Adagrad(p, lr=0.3, lr_decay=0.1, initial_accumulator_value=0.2),
     lambda p: torch.optim.Adagrad(p, lr=0.3, lr_decay=0.1, initial_accumulator_value=0.2)),
    ("adagrad-max", lambda p: optim.Adagrad(p, lr=0.3, maximize=True),
     lambda p: torch.optim.Adagrad(p, lr=0.3, maximize=True)),
    ("sparse-adam", lambda p: optim.SparseAdam(p, lr=0.05, betas=(0.8, 0.9)),
     lambda p: torch.optim.SparseAdam(p, lr=0.05, betas=(0.8, 0.9))),
    ("sparse-adam-max", lambda p: optim.SparseAdam(p, lr=0.05, maximize=True),
     lambda p: torch.optim.SparseAdam(p, lr=0.05, maximize=True)),
]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("name,make_lam,make_tor", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_sparse_training_matches_torch_step_for_step(name, make_lam, make_tor):
    lam, tor = _pair()
    lo, to = make_lam(lam.parameters()), make_tor(tor.parameters())
    for idx in BATCHES * 2:
        lo.zero_grad()
        to.zero_grad()
        _lam_loss(lam, idx).backward()
        _tor_loss(tor, idx).backward()
        assert isinstance(lam.weight.grad, RowSparseGrad)
        lo.step()
        to.step()
        np.testing.assert_allclose(lam.weight.numpy(), tor.weight.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_lazy_moments_only_touch_batch_rows():
    lam, _ = _pair()
    opt = optim.SparseAdam(lam.parameters(), lr=0.1)
    _lam_loss(lam, np.array([1, 1, 4])).backward()
    opt.step()
    m = opt.state[lam.weight]["exp_avg"]
    assert np.flatnonzero(np.any(m != 0, axis=1)).tolist() == [1, 4]
    assert opt.state[lam.weight]["step"] == 1


def test_sgd_weight_decay_is_lazy_on_batch_rows():
    lam, _ = _pair()
    w0 = lam.weight.numpy().copy()
    opt = optim.SGD(lam.parameters(), lr=0.1, weight_decay=0.5)
    idx = np.array([2, 6, 2])
    _lam_loss(lam, idx).backward()
    g = lam.weight.grad.to_dense().numpy()
    opt.step()
    expected = w0.copy()
    for r in (2, 6):
        expected[r] = w0[r] - 0.1 * (g[r] + 0.5 * w0[r])
    np.testing.assert_allclose(lam.weight.numpy(), expected, rtol=1e-12)


def test_float32_stays_float32():
    emb = nn.Embedding(50, 6, sparse=True)
    for make in (lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adagrad(p), lambda p: optim.SparseAdam(p)):
        opt = make(emb.parameters())
        emb(L.tensor(np.array([3, 3, 9]))).sum().backward()
        assert emb.weight.grad.values().dtype == np.float32
        opt.step()
        opt.zero_grad()
        assert emb.weight.dtype == np.float32


@pytest.mark.parametrize("make", [lambda p: optim.Adam(p), lambda p: optim.AdamW(p), lambda p: optim.RMSprop(p),
                                  lambda p: optim.Adadelta(p), lambda p: optim.LBFGS(p)])
def test_dense_only_optimizers_refuse_sparse_gradients_clearly(make):
    emb = nn.Embedding(V, D, sparse=True)
    opt = make(emb.parameters())

    def closure():
        opt.zero_grad()
        loss = emb(L.tensor(np.array([1, 2]))).sum()
        loss.backward()
        return loss

    closure()
    with pytest.raises(RuntimeError, match=r"row-sparse gradient.*sparse=False"):
        opt.step(closure) if isinstance(opt, optim.LBFGS) else opt.step()


def test_error_names_the_parameter_and_suggests_sparse_adam():
    dense = nn.Linear(3, 2)
    emb = nn.Embedding(V, D, sparse=True)
    opt = optim.Adam([{"params": dense.parameters()}, {"params": emb.parameters()}])
    emb(L.tensor(np.array([0]))).sum().backward()
    with pytest.raises(RuntimeError, match=r"parameter 0 of parameter group 1 \(shape \(12, 4\)\).*SparseAdam"):
        opt.step()


def test_sparse_adam_refuses_dense_and_adagrad_refuses_weight_decay():
    lin = nn.Linear(3, 2)
    lin(L.randn(4, 3)).sum().backward()
    with pytest.raises(RuntimeError, match="dense gradient.*Adam"):
        optim.SparseAdam(lin.parameters()).step()
    emb = nn.Embedding(V, D, sparse=True)
    emb(L.tensor(np.array([1]))).sum().backward()
    with pytest.raises(RuntimeError, match="weight_decay"):
        optim.Adagrad(emb.parameters(), weight_decay=0.1).step()


def test_zero_grad_keeps_no_rows_and_accumulation_stays_sparse():
    emb = nn.Embedding(V, D, sparse=True)
    opt = optim.SGD(emb.parameters(), lr=0.1)
    emb(L.tensor(np.array([1, 2]))).sum().backward()
    emb(L.tensor(np.array([2, 9]))).sum().backward()  # second backward: sparse + sparse
    g = emb.weight.grad
    assert isinstance(g, RowSparseGrad) and sorted(g.indices.tolist()) == [1, 2, 2, 9]
    opt.zero_grad(set_to_none=False)
    assert isinstance(emb.weight.grad, RowSparseGrad) and emb.weight.grad.indices.size == 0
    emb(L.tensor(np.array([4]))).sum().backward()
    assert emb.weight.grad.indices.tolist() == [4]


@pytest.mark.parametrize("numpy_only", [False, True], ids=["scipy-csr", "numpy-buckets"])
@pytest.mark.parametrize("n,vocab", [(0, 5), (1, 5), (7, 1000), (300, 3), (2000, 50)])
def test_coalesce_rows_equals_add_at(n, vocab, numpy_only, monkeypatch):
    if numpy_only:  # the NumPy sums used without SciPy
        monkeypatch.setattr(L.sparse, "segment_sums", lambda *a: None)
    rng = np.random.default_rng(n)
    idx = rng.zipf(1.3, size=n) % vocab  # heavy repeats, and ids seen once
    vals = rng.standard_normal((n, 5)).astype(np.float32)
    rows, summed = coalesce_rows(idx, vals)
    ref = np.zeros((vocab, 5), np.float32)
    np.add.at(ref, idx, vals)
    assert rows.tolist() == sorted(set(idx.tolist()))
    assert summed.dtype == np.float32 and summed.shape == (rows.size, 5)
    np.testing.assert_allclose(summed, ref[rows], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("numpy_only", [False, True], ids=["scipy-csr", "numpy-buckets"])
@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.complex64])
def test_coalesce_rows_keeps_dtype_and_trailing_dims(dtype, numpy_only, monkeypatch):
    if numpy_only:
        monkeypatch.setattr(L.sparse, "segment_sums", lambda *a: None)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 6, size=40)
    vals = (rng.integers(-4, 5, size=(40, 2, 3)) * (1 + 1j if dtype == np.complex64 else 1)).astype(dtype)
    rows, summed = coalesce_rows(idx, vals)
    ref = np.zeros((6, 2, 3), dtype)
    np.add.at(ref, idx, vals)
    assert summed.dtype == dtype and summed.shape == (rows.size, 2, 3)
    np.testing.assert_array_equal(summed, ref[rows])  # small integers: every sum is exact


def test_autograd_grad_of_sparse_embedding_has_the_weight_shape():
    import lamina as L
    from lamina import nn

    e = nn.Embedding(7, 3, sparse=True)
    y = e(L.tensor(np.array([1, 1, 4])))
    (g,) = L.autograd.grad(y.sum(), [e.weight])
    assert g.shape == (7, 3)
    np.testing.assert_allclose(np.asarray(g)[[1, 4, 0]], [[2, 2, 2], [1, 1, 1], [0, 0, 0]])
