"""F.unfold / F.fold (and nn.Unfold / nn.Fold) against torch: layout, both batch memory orders, gradients."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from opcheck import check_op
from twins import compare

import lamina
import lamina.nn as nn
import lamina.nn.functional as F

GEOMETRIES = [dict(kernel_size=2), dict(kernel_size=(3, 2), stride=2, padding=1),
              dict(kernel_size=(2, 3), dilation=(2, 1), padding=(0, 1), stride=(1, 2))]


@pytest.mark.parametrize("kw", GEOMETRIES, ids=str)
@pytest.mark.parametrize("n", [2, 16])  # the two memory orders of ops/conv.py
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unfold_and_fold_match_torch(kw, n, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3, 6, 7))
    compare(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x], dtype)
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    compare(lambda c: F.fold(c, (6, 7), **kw), lambda c: TF.fold(c, (6, 7), **kw), [cols], dtype)


def test_unfold_fold_through_the_op_checker():
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 5))
    check_op(lambda a: F.unfold(a, 3, padding=1), lambda a: TF.unfold(a, 3, padding=1), x)
    c = TF.unfold(torch.tensor(x), 2, stride=1).numpy()
    check_op(lambda a: F.fold(a, (4, 5), 2), lambda a: TF.fold(a, (4, 5), 2), c)


def test_unbatched_inputs_and_modules():
    x = np.random.default_rng(2).standard_normal((3, 5, 5))
    u = nn.Unfold(kernel_size=2, stride=2)(lamina.tensor(x))
    tu = torch.nn.Unfold(kernel_size=2, stride=2)(torch.tensor(x))
    np.testing.assert_allclose(u.numpy(), tu.numpy())
    f = nn.Fold(output_size=(5, 5), kernel_size=2, stride=2)(u)
    np.testing.assert_allclose(f.numpy(), torch.nn.Fold((5, 5), 2, stride=2)(tu).numpy())
    assert "kernel_size=2" in repr(nn.Fold(output_size=(5, 5), kernel_size=2))


def test_bad_geometry_names_the_op():
    with pytest.raises(lamina.ShapeError, match="fold: the input has 5 blocks"):
        F.fold(lamina.zeros(1, 4, 5), (3, 3), 2)
    with pytest.raises(lamina.ShapeError, match="fold: dim 1 of the input"):
        F.fold(lamina.zeros(1, 5, 4), (3, 3), 2)
    with pytest.raises(lamina.ShapeError, match="unfold: a"):
        F.unfold(lamina.zeros(1, 1, 2, 2), 3)
    with pytest.raises(lamina.ShapeError, match="unfold: expected a 4-D"):
        F.unfold(lamina.zeros(2, 2), 1)
