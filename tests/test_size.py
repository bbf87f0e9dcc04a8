"""lamina.Size against torch.Size: what Tensor.shape and Tensor.size() return, its repr, numel, equality and
hashing with tuples, and the types of concatenation, repetition, slicing and indexing."""
import pickle

import numpy as np
import pytest
import torch

import lamina


def _pair(dims):
    return lamina.zeros(dims).shape, torch.zeros(dims).shape


@pytest.mark.parametrize("dims", [(2, 3), (4,), (), (1, 0, 5)])
def test_shape_and_size_are_sizes_like_torch(dims):
    ours, ref = _pair(dims)
    assert type(ours) is lamina.Size and isinstance(ours, tuple)
    assert repr(ours) == repr(ref).replace("torch.", "lamina.") and str(ours) == repr(ours)
    assert ours.numel() == ref.numel() and ours == ref == tuple(dims) and hash(ours) == hash(tuple(dims))
    t = lamina.zeros(dims)
    assert type(t.size()) is lamina.Size and t.size() == ours
    if dims:
        assert type(t.size(0)) is int and t.size(-1) == dims[-1]


@pytest.mark.parametrize("expr", ["s + (1,)", "(1,) + s", "s + s", "s[1:]", "s[::-1]", "s * 2", "2 * s", "s[0]",
                                  "s[-1]", "s.count(3)", "s.index(3)", "len(s)", "list(s)", "s == (2, 3, 4)",
                                  "s != (2, 3)", "s[:0].numel()", "s[1:].numel()"])
def test_operations_give_torchs_types_and_values(expr):
    ours = eval(expr, {"s": lamina.Size([2, 3, 4])})
    ref = eval(expr, {"s": torch.Size([2, 3, 4])})
    assert ours == ref
    assert type(ours).__name__ == type(ref).__name__


def test_construction_and_errors():
    assert lamina.Size() == () and lamina.Size((2, np.int64(3))) == (2, 3)
    assert all(type(d) is int for d in lamina.Size([np.int64(3)]))
    with pytest.raises(TypeError, match=r"lamina.Size\(\) takes an iterable of 'int' \(item 0 is 'float'\)"):
        lamina.Size([2.0])
    with pytest.raises(TypeError):
        lamina.Size([2]) + [1]
    s = pickle.loads(pickle.dumps(lamina.Size([2, 5])))
    assert type(s) is lamina.Size and s == (2, 5)


def test_a_size_works_wherever_a_shape_tuple_does():
    x = lamina.ones(2, 3)
    assert lamina.zeros(x.shape).shape == (2, 3) and np.zeros(x.shape).shape == (2, 3)
    assert x.reshape(x.shape + (1,)).shape == (2, 3, 1) and x.view(x.shape[0], -1).shape == (2, 3)
    assert x.unsqueeze(0).expand(4, *x.shape).shape == (4, 2, 3)
    assert f"{tuple(x.shape)}" == "(2, 3)"
