"""PixelShuffle / PixelUnshuffle, F.pad's reflect / replicate / circular modes and the padding layers,
against torch: values, gradients, float32 and float64, errors."""
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
def test_pixel_shuffle_and_unshuffle_match_torch(dtype):
    rng = np.random.default_rng(0)
    compare(nn.PixelShuffle(2), torch.nn.PixelShuffle(2), [rng.standard_normal((2, 8, 3, 4))], dtype)
    compare(nn.PixelUnshuffle(3), torch.nn.PixelUnshuffle(3), [rng.standard_normal((5, 2, 6, 3))], dtype)
    x = lamina.tensor(rng.standard_normal((1, 2, 3, 4, 4)))  # extra leading dims, and the round trip
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(x, 2), 2).numpy(), x.numpy())


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_through_the_op_checker(mode):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    check_op(lambda a: F.pad(a, (2, 1, 0, 3), mode=mode), lambda a: TF.pad(a, (2, 1, 0, 3), mode=mode), x)
    check_op(lambda a: F.pad(a, (1, 2), mode=mode), lambda a: TF.pad(a, (1, 2), mode=mode), x[0])


LAYERS = [("ZeroPad2d", (1, 2, 0, 1)), ("ConstantPad2d", 2), ("ReflectionPad2d", (2, 0, 1, 3)),
          ("ReplicationPad2d", 1), ("CircularPad2d", (1, 1, 2, 0)), ("ZeroPad1d", 2), ("ConstantPad1d", (1, 3)),
          ("ReflectionPad1d", (3, 1)), ("ReplicationPad1d", 2), ("CircularPad1d", (0, 2))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,padding", LAYERS, ids=[n for n, _ in LAYERS])
def test_padding_layers_match_torch(name, padding, dtype):
    args = (padding, 0.5) if name.startswith("Constant") else (padding,)
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5) if name.endswith("2d") else (2, 3, 5))
    compare(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), [x], dtype)


def test_bad_padding_names_the_mode():
    with pytest.raises(ValueError, match="pad: mode='reflect' needs padding < the size"):
        F.pad(lamina.zeros(1, 2, 3), (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="pad: mode must be"):
        F.pad(lamina.zeros(1, 2, 3), (1, 1), mode="mirror")
    with pytest.raises(ValueError, match="ReflectionPad2d: padding must be an int or 4 ints"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(lamina.ShapeError, match="pixel_shuffle: the 6 channels"):
        F.pixel_shuffle(lamina.zeros(1, 6, 2, 2), 2)
    with pytest.raises(lamina.ShapeError, match="pixel_unshuffle: height 3"):
        F.pixel_unshuffle(lamina.zeros(1, 1, 3, 4), 2)
