"""tril / triu keep the input's dtype, as PyTorch's: the boolean causal mask of attention programs,
``torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)``, stays boolean."""
import pytest
import torch

import lamina


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_tril_triu_keep_the_dtype(dtype):
    x, tx = lamina.ones(3, 4, dtype=getattr(lamina, dtype)), torch.ones(3, 4, dtype=getattr(torch, dtype))
    for ours, ref in ((lamina.triu(x, 1), torch.triu(tx, 1)), (lamina.tril(x, -1), torch.tril(tx, -1))):
        assert str(ours.dtype) == str(ref.dtype).removeprefix("torch.")
        assert (ours.numpy() == ref.numpy()).all()
