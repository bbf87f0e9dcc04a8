"""default_collate and default_convert against torch's: the same structure (container types, field order),
dtypes and values for dicts, tuples, namedtuples, lists, numbers, strings, NumPy arrays and scalars, tensors."""
from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import lamina
import lamina.utils.data as lud

Point = namedtuple("Point", "x y")


def _plain(obj):
    """A comparable picture of a collated batch: containers by type name, tensors as (dtype, values)."""
    if isinstance(obj, (torch.Tensor, lamina.Tensor)):
        arr = obj.numpy() if isinstance(obj, torch.Tensor) else obj.numpy()
        return ("tensor", str(arr.dtype), arr.shape, arr.tolist())
    if isinstance(obj, dict):
        return ("dict", [(k, _plain(v)) for k, v in obj.items()])
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [_plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    return (type(obj).__name__, obj)


def _samples(kind, rng):
    if kind == "tensor-pair":
        return [(rng.standard_normal(3).astype(np.float32), int(rng.integers(10))) for _ in range(4)]
    if kind == "dict":
        return [{"image": rng.standard_normal((2, 2)), "label": i, "name": f"s{i}", "w": 0.5 * i}
                for i in range(3)]
    if kind == "namedtuple":
        return [Point(np.float32(i), np.int16(2 * i)) for i in range(3)]
    if kind == "nested":
        return [{"a": (i, [float(i), True]), "b": Point(i, np.arange(2) + i)} for i in range(3)]
    if kind == "numbers":
        return [[i, 0.25 * i, i % 2 == 0] for i in range(5)]
    return [np.array([[i, i + 1]], dtype=np.int32) for i in range(3)]


@pytest.mark.parametrize("kind", ["tensor-pair", "dict", "namedtuple", "nested", "numbers", "arrays"])
def test_default_collate_matches_torch(kind):
    rng = np.random.default_rng(0)
    samples = _samples(kind, rng)
    assert _plain(lud.default_collate(samples)) == _plain(tud.default_collate(samples))


def test_tensors_are_stacked_keeping_dtype():
    ours = lud.default_collate([lamina.tensor([1.0, 2.0]), lamina.tensor([3.0, 4.0])])
    ref = tud.default_collate([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])
    assert ours.shape == (2, 2) and ours.dtype == lamina.float32 and np.array_equal(ours.numpy(), ref.numpy())


@pytest.mark.parametrize("samples,error", [
    ([[1, 2], [3]], RuntimeError),
    ([np.array(["a", "b"]), np.array(["c", "d"])], TypeError),
    ([object(), object()], TypeError),
])
def test_errors_are_torchs(samples, error):
    with pytest.raises(error):
        tud.default_collate(samples)
    with pytest.raises(error, match="default_collate"):
        lud.default_collate(samples)


@pytest.mark.parametrize("sample", [np.arange(3.0), (np.int64(3), "x"), {"a": [np.ones(2), 1.5]},
                                    Point(np.zeros(1), 2), np.array(["s"])], ids=str)
def test_default_convert_matches_torch(sample):
    assert _plain(lud.default_convert(sample)) == _plain(tud.default_convert(sample))
