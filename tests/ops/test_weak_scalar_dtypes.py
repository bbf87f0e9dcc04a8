"""A Python scalar next to a tensor takes the tensor's dtype when it can hold it (PyTorch's weak scalars), and
tril / triu keep the dtype: the masks of attention programs (``torch.triu(torch.ones(n, n, dtype=torch.bool), 1)``,
``torch.where(mask, x, 0)`` on float32) come out as in PyTorch."""
import pytest
import torch

import lamina

DTYPES = ["float32", "float64", "int32", "int64", "bool"]


@pytest.fixture(autouse=True)
def torch_float32_default():
    """Both libraries at their float32 default (other test modules set torch's to float64)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [0, True, 2.5])
def test_where_with_a_scalar_keeps_torch_dtype(dtype, scalar):
    c, tc = lamina.tensor([True, False]), torch.tensor([True, False])
    x, tx = lamina.ones(2, dtype=getattr(lamina, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
    if dtype.startswith("int") and isinstance(scalar, float):
        pytest.skip("int tensor with a float scalar: lamina promotes through NumPy (float64)")
    assert str(lamina.where(c, x, scalar).dtype) == str(torch.where(tc, tx, scalar).dtype).removeprefix("torch.")
    assert str(lamina.where(c, scalar, x).dtype) == str(torch.where(tc, scalar, tx).dtype).removeprefix("torch.")


@pytest.mark.parametrize("dtype", DTYPES)
def test_tril_triu_keep_the_dtype(dtype):
    x, tx = lamina.ones(3, 4, dtype=getattr(lamina, dtype)), torch.ones(3, 4, dtype=getattr(torch, dtype))
    for ours, ref in ((lamina.triu(x, 1), torch.triu(tx, 1)), (lamina.tril(x, -1), torch.tril(tx, -1))):
        assert str(ours.dtype) == str(ref.dtype).removeprefix("torch.")
        assert (ours.numpy() == ref.numpy()).all()
