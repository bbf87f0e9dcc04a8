"""The one seam between lamina and the array library.

Every op computes on ``xp`` (NumPy today). A GPU array library with NumPy's API
(CuPy, for instance) could be put behind this seam without touching the ops.
This module also owns dtypes, devices and the global random generator.
"""
from __future__ import annotations

import math
from typing import cast

import numpy as np
from numpy.lib.stride_tricks import as_strided  # noqa: F401  (re-exported for the ops)

from . import _mode
from .errors import ShapeError

xp = np
# the array library's discrete Fourier transforms (rfft2 / irfft2 over chosen axes): numpy.fft here,
# cupy.fft behind a GPU seam; ops reach it as ``lamina.backend.fft``
fft = np.fft

# dtypes: lamina's dtypes *are* NumPy dtypes, so ``t.dtype == lamina.float32`` works both ways.
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

_default_dtype = float32


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype given to Python floats and lists (float32 unless changed)."""
    global _default_dtype
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_dtype = d


def as_dtype(dtype) -> np.dtype | None:
    """Normalise a dtype given as a NumPy dtype, a Python type or a string."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):
        return dtype
    if dtype is bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"unknown dtype {dtype!r}") from e


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


# ----------------------------------------------------------------------------- devices
# the device types PyTorch names; lamina computes on the first only
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "mtia", "privateuseone")


def cpu_only_message(what: str, dev) -> str:
    """The one line every use of a non-CPU device gives."""
    return (f"{what}: lamina runs on the CPU only; got device {str(dev)!r} "
            "(lamina.cuda.is_available() is False). Use 'cpu'.")


class device:
    """A device, as ``torch.device``: ``device('cpu')``, ``device('cuda', 0)``, ``device('cuda:1')``.

    Any of PyTorch's device types builds a device object (so ``device = lamina.device('cuda' if … else
    'cpu')`` lines run), but lamina computes on the CPU: putting a tensor or a module on another device
    (``x.to(dev)``, ``zeros(…, device=dev)``, ``model.to(dev)``) raises one clear error."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type)
        if ":" in name:
            name, _, idx = name.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"device: invalid device string {str(type)!r} (expected e.g. 'cpu' or 'cuda:0')")
            index = int(idx)
        if name not in DEVICE_TYPES:
            raise RuntimeError(f"device: unknown device type {name!r}; expected one of {', '.join(DEVICE_TYPES)}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device: the index must be a non-negative int, got {index!r}")
        self.type, self.index = name, index

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        try:
            o = device(other)
        except (RuntimeError, TypeError, ValueError):
            return False
        return o.type == self.type and o.index == self.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def check_device(dev, what: str = "device") -> None:
    """Accept None, 'cpu', 'cpu:0' or a cpu device; any other device raises one clear line."""
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise RuntimeError(cpu_only_message(what, dev))


class _Cuda:
    """``lamina.cuda.is_available()`` is False so ``'cuda' if ... else 'cpu'`` picks the CPU."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed) -> None:
        pass

    manual_seed_all = manual_seed


cuda = _Cuda()


# ----------------------------------------------------------------------------- random numbers
class Generator:
    """A seeded random generator (PCG64), like ``torch.Generator``."""

    def __init__(self, device=None):
        check_device(device)
        self._rng = np.random.default_rng()
        self._seed = None

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        s = cast(int, np.random.SeedSequence().entropy) % (2**63)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state

    @property
    def numpy(self) -> np.random.Generator:
        """The underlying NumPy generator."""
        return self._rng


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed lamina's global generator (used by rand, randn, initialisers, dropout, shuffling)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None = None) -> np.random.Generator:
    """The NumPy generator to draw from: the given one, or the global default. Under vmap a random draw is
    an error unless every level allows it with randomness='same' (one draw shared by the samples)."""
    if _mode.vmap_randomness and _mode.vmap_randomness != ("same",) * len(_mode.vmap_randomness):
        mode = next(r for r in _mode.vmap_randomness if r != "same")
        raise RuntimeError(f"vmap: a random operation under vmap(randomness={mode!r}): "
                           + ("pass randomness='same' to share one draw among the samples" if mode == "error" else
                              "per-sample draws are not supported; randomness='same' shares one draw"))
    return (generator or default_generator)._rng


# ----------------------------------------------------------------------------- array helpers the ops share
def fast_broadcast(x, shape: tuple):
    """``xp.broadcast_to`` (a read-only view) at a quarter of its cost on small arrays.
    Raises ShapeError when ``x`` cannot be broadcast to ``shape``."""
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: a tensor of shape {tuple(x.shape)} cannot be broadcast to {shape} (too few dims)")
    if x.size == 1 and math.prod(shape) <= 1024:  # one value to a small shape: a fresh array is the cheapest
        out = np.empty(shape, x.dtype)
        out[...] = x  # (empty + broadcast assignment: a third of np.full's cost here)
        return out
    strides = [0] * lead
    for i, (n, st) in enumerate(zip(x.shape, x.strides)):
        m = shape[lead + i]
        if n == m:
            strides.append(st)
        elif n == 1:
            strides.append(0)
        else:
            raise ShapeError(f"expand: a tensor of shape {tuple(x.shape)} cannot be broadcast to {shape} "
                             "(each size must match or be 1 in the source)")
    if x.flags.c_contiguous and x.size:
        out = np.ndarray(shape, x.dtype, buffer=x, strides=strides)
        out.flags.writeable = False
        return out
    return np.broadcast_to(x, shape)


def index_add(target, index, values) -> None:
    """``target[index] += values`` where repeated indices accumulate (unbuffered scatter-add)."""
    np.add.at(target, index, values)


try:  # SciPy's compiled sparse-times-dense kernel (Y += A·X for A in CSC form), used by add_rows
    from scipy.sparse import _sparsetools

    _csc_matvecs = _sparsetools.csc_matvecs
except (ImportError, AttributeError):  # pragma: no cover - SciPy missing or reorganised: the NumPy form below
    _csc_matvecs = None


def add_rows(target, index, rows, coef=None, alpha: float = 1.0) -> None:
    """In place, for every k: ``target[index[k]] += alpha · coef[k] · rows[k // per]``, repeats accumulating, with
    ``per = len(index) / len(rows)``: each row of ``rows`` is added into ``per`` consecutive entries of ``index``
    (``coef`` None: all ones).

    This is ``target += alpha · A · rows`` for the sparse (len(target) × len(rows)) matrix A whose column j holds
    coef[k] at row index[k] for its ``per`` entries k; with SciPy it runs as one compiled CSC product into
    ``target`` (no gathered, summed or scattered copies of the rows). ``target`` and ``rows`` 2-D, ``index`` ints
    in range (checked: the compiled kernel does not check them)."""
    index = np.asarray(index).reshape(-1)
    if index.size == 0 and rows.shape[0] == 0:
        return
    _check_add_rows(target, index, rows, coef)
    n, dtype = index.size, target.dtype
    per = n // rows.shape[0]
    if not _compiled_add_fits(target, rows):
        vals = rows if per == 1 else np.repeat(rows, per, axis=0)
        if coef is not None:
            vals = vals * np.asarray(coef, dtype=vals.dtype).reshape(n, 1)
        np.add.at(target, index, vals * alpha if alpha != 1 else vals)
        return
    data = np.full(n, alpha, dtype=dtype) if coef is None else np.multiply(np.asarray(coef).reshape(n), alpha,
                                                                            dtype=dtype)
    indptr = np.arange(0, n + 1, per, dtype=np.int64)
    _csc_matvecs(target.shape[0], rows.shape[0], target.shape[1], indptr, index.astype(np.int64, copy=False), data,
                 np.ascontiguousarray(rows), target)


def _compiled_add_fits(target, rows) -> bool:
    """Whether SciPy's CSC kernel can add ``rows`` into ``target`` in place: one float dtype, a contiguous target."""
    return (_csc_matvecs is not None and target.dtype in (float32, float64) and rows.dtype == target.dtype
            and target.flags.c_contiguous and target.flags.writeable)


def _check_add_rows(target, index, rows, coef) -> None:
    n, r = index.size, rows.shape[0]
    if r == 0 or n % r:
        raise ShapeError(f"add_rows: {n} target rows cannot be split evenly among {r} source rows")
    if not (target.ndim == rows.ndim == 2 and rows.shape[1] == target.shape[1]):
        raise ShapeError(f"add_rows: rows of shape {tuple(rows.shape)} do not match target rows of shape "
                         f"{tuple(target.shape)}")
    if coef is not None and np.size(coef) != n:
        raise ShapeError(f"add_rows: {n} target rows but {np.size(coef)} coefficients")
    lo, hi = int(index.min()), int(index.max())
    if lo < 0 or hi >= target.shape[0]:
        raise IndexError(f"add_rows: row index {lo if lo < 0 else hi} outside the {target.shape[0]} rows of the target")


def segment_sums(flat, order, starts):
    """Σ of the rows ``flat[order[starts[k]:starts[k+1]]]`` for each segment k, as the product S·flat with
    S the (segments × n) 0/1 CSR matrix of those rows (SciPy's sparse kernel), or None without SciPy."""
    try:
        from scipy import sparse
    except ImportError:
        return None
    n, m = flat.shape[0], starts.size
    work = flat if flat.dtype in _CSR_DTYPES else flat.astype(np.float32 if flat.dtype.kind == "f" else np.float64)
    indptr = np.empty(m + 1, dtype=np.int64)
    indptr[:m] = starts
    indptr[m] = n
    s = sparse.csr_array((np.ones(n, dtype=work.dtype), order, indptr), shape=(m, n))
    return np.asarray(s @ work).astype(flat.dtype, copy=False)


_CSR_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex64), np.dtype(np.complex128))


def special(name: str):
    """The special function ``name`` of the array library's companion (``scipy.special`` for NumPy;
    ``cupyx.scipy.special`` behind a GPU seam), imported on first use. SciPy is a dependency of
    lamina; in an environment without it the functions that need it (erf, erfinv, gammaln, digamma, i0 …)
    raise an ImportError naming it."""
    try:
        import scipy.special as sp
    except ImportError:
        raise ImportError(f"lamina.special: this function needs scipy (scipy.special.{name}); install scipy") from None
    return getattr(sp, name)
