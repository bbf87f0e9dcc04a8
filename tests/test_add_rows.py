"""backend.add_rows: a scatter-add of scaled rows into a matrix, the kernel that applies row-sparse gradients."""
import numpy as np
import pytest

from lamina import backend


def _reference(target, index, rows, coef, alpha):
    per = index.size // rows.shape[0]
    vals = np.repeat(rows.astype(np.float64), per, axis=0)
    if coef is not None:
        vals *= np.asarray(coef, np.float64).reshape(-1, 1)
    out = target.astype(np.float64)
    np.add.at(out, index, alpha * vals)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("per,with_coef", [(1, False), (1, True), (4, True), (4, False)])
def test_add_rows_accumulates_repeated_rows_like_add_at(dtype, per, with_coef):
    rng = np.random.default_rng(per)
    target = rng.standard_normal((30, 5)).astype(dtype)
    rows = rng.standard_normal((7, 5)).astype(dtype)
    index = rng.integers(0, 30, 7 * per)
    index[:3] = 11  # repeats must all land
    coef = rng.standard_normal(7 * per).astype(dtype) if with_coef else None
    want = _reference(target, index, rows, coef, -0.5)
    backend.add_rows(target, index, rows, coef, alpha=-0.5)
    tol = 1e-2 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(target, want, rtol=tol, atol=tol)


def test_add_rows_into_a_strided_view_takes_the_general_path():
    rng = np.random.default_rng(0)
    big = rng.standard_normal((20, 10)).astype(np.float32)
    view = big[:, ::2]  # not contiguous
    rows, index = rng.standard_normal((6, 5)).astype(np.float32), rng.integers(0, 20, 6)
    want = _reference(view, index, rows, None, 2.0)
    backend.add_rows(view, index, rows, alpha=2.0)
    np.testing.assert_allclose(big[:, ::2], want, rtol=1e-5, atol=1e-5)


def test_add_rows_refuses_rows_outside_the_target_and_mismatched_shapes():
    target = np.zeros((4, 3), np.float32)
    with pytest.raises(IndexError, match="row index 4 outside the 4 rows"):
        backend.add_rows(target, np.array([0, 4]), np.ones((2, 3), np.float32))
    with pytest.raises(IndexError, match="row index -1"):
        backend.add_rows(target, np.array([-1, 0]), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="cannot be split evenly"):
        backend.add_rows(target, np.array([0, 1, 2]), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="do not match target rows"):
        backend.add_rows(target, np.array([0, 1]), np.ones((2, 2), np.float32))
    assert not target.any()  # nothing was written


def test_the_compiled_kernel_is_found():
    """SciPy is a dependency: its CSC product must be the one in use (else every sparse step is 10x slower)."""
    assert backend._csc_matvecs is not None
