"""Tensor creation, dtypes, devices, conversion and error messages."""
import numpy as np
import pytest

import lamina as L


def test_dtype_rules_follow_pytorch():
    assert L.tensor([1.0, 2.0]).dtype == L.float32
    assert L.tensor(1.5).dtype == L.float32
    assert L.tensor([1, 2]).dtype == L.int64
    assert L.tensor([True]).dtype == L.bool
    assert L.tensor(np.ones(2)).dtype == L.float64  # arrays keep their dtype
    assert L.tensor([1, 2], dtype=L.float64).dtype == L.float64
    assert L.zeros(2, 3).dtype == L.float32 and L.zeros(2, 3).shape == (2, 3)
    assert L.arange(5).dtype == L.int64 and L.arange(0.0, 1.0, 0.25).dtype == L.float32
    assert L.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    t = L.tensor(a)
    f = L.from_numpy(a)
    a[0] = 7
    assert t[0].item() == 0 and f[0].item() == 7


def test_conversions():
    t = L.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.T.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert t.size() == (2, 2) and t.size(1) == 2 and t.ndim == 2 and t.numel() == 4
    assert t.double().dtype == L.float64 and t.to(L.float64).float().dtype == L.float32
    assert t.long().dtype == L.int64
    assert np.asarray(t).shape == (2, 2)
    assert float(t.sum()) == 10.0 and t[1, 1].item() == 4.0
    assert np.exp(t).shape == (2, 2)  # NumPy accepts a tensor
    assert (np.ones(2) * L.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]  # ndarray op Tensor -> Tensor


def test_devices_accept_cpu_only():
    t = L.ones(2, device="cpu")
    assert t.to("cpu") is t and t.cpu() is t and str(t.device) == "cpu"
    assert L.device("cpu") == "cpu" and not L.cuda.is_available()
    with pytest.raises(RuntimeError, match="CPU only.*'cuda'"):
        t.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        L.zeros(2, device="cuda:0")


def test_manual_seed_makes_draws_reproducible():
    L.manual_seed(3)
    a = L.randn(4)
    b = L.rand(2, 2)
    L.manual_seed(3)
    assert L.randn(4).tolist() == a.tolist() and L.rand(2, 2).tolist() == b.tolist()
    assert a.dtype == L.float32
    g = L.Generator().manual_seed(5)
    assert L.randperm(5, generator=g).dtype == L.int64


def test_functions_exist_as_methods_and_module_functions():
    x = L.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert L.mean(x).item() == x.mean().item() == 1.5
    assert L.unsqueeze(x, 1).shape == (2, 1, 2)
    assert L.argmax(x, dim=1).tolist() == [0, 1]
    assert (x > 0).dtype == L.bool and (x > 0).tolist() == [[True, False], [True, True]]
    assert L.where(x > 0, x, 0.0).tolist() == [[1.0, 0.0], [3.0, 4.0]]


def test_matmul_shape_error_answers_seed_001_question():
    x0 = L.linspace(-1, 1, 256)
    W = L.randn(10, 1)
    with pytest.raises(L.ShapeError, match=r"matmul: cannot multiply shapes \(256,\) and \(10, 1\).*256.*10"):
        x0 @ W


def test_broadcast_error_names_op_shapes_and_rule():
    with pytest.raises(RuntimeError, match=r"add: shapes \(3, 4\) and \(5,\).*dim -1 is 4 vs 5.*equal or one of them 1"):
        L.ones(3, 4) + L.ones(5)
    with pytest.raises(ValueError, match=r"mul: shapes"):
        L.ones(2, 3) * L.ones(3, 2)


def test_reshape_and_index_errors():
    with pytest.raises(L.ShapeError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        L.ones(2, 3).reshape(4, 2)
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range.*2 dims"):
        L.ones(2, 3).sum(2)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        L.ones(2, 3)[5]
    with pytest.raises(L.ShapeError, match=r"cat: tensor 1 has shape \(2, 4\)"):
        L.cat([L.ones(2, 3), L.ones(2, 4)])


def test_item_and_bool_errors():
    with pytest.raises(ValueError, match="one element"):
        L.ones(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(L.ones(2))


def test_repr_shows_grad_info():
    x = L.ones(2, requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<MulScalar>" in repr(x * 2)
    assert "dtype=lamina.float64" in repr(L.ones(1, dtype=L.float64))
