"""Preprocessing fitted on the training split only: scaling, one-hot, PCA and ZCA whitening.

Zero-centring (x − μ), standardising ((x − μ) / σ), min-max scaling
(lo + (x − min)(hi − lo) / (max − min)), one-hot encoding, decorrelation (PCA:
diagonal covariance) and whitening (PCA or ZCA: identity covariance). Each
transformer has the scikit-learn shape::

    scaler = StandardScaler().fit(X_train)      # statistics of the training split only
    X_val = scaler.transform(X_val)             # reuse them on validation and test
    X_back = scaler.inverse_transform(X_val)

and gives scikit-learn's results. Inputs are NumPy arrays, lists or lamina
(or torch) tensors, shape ``(n_samples, n_features)``; outputs are NumPy
arrays of the input's float dtype (float64 for integer input). Statistics are
computed in float64. ``state_dict()`` / ``load_state_dict()`` save and
restore a fitted transformer without pickle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import numpy as np

__all__ = ["NotFittedError", "StandardScaler", "MinMaxScaler", "OneHotEncoder", "PCA", "ZCA"]


class NotFittedError(ValueError, AttributeError):
    """A transformer was used before ``fit``."""


def _to_numpy(X) -> np.ndarray:
    if hasattr(X, "detach") and hasattr(X, "numpy"):  # lamina / torch tensors
        X = X.detach().numpy()
    return np.asarray(X)


def _float_dtype(arr: np.ndarray) -> np.dtype:
    return arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)


class _Transformer:
    """Shared plumbing: validation, fitted check, ``fit_transform``, repr and state dicts."""

    _params: tuple[str, ...] = ()
    _fitted: tuple[str, ...] = ()
    n_features_in_: int | None  # None until fitted
    # each transformer defines fit(X, y=None) -> self and transform(X) -> array
    fit: Callable[..., Self]
    transform: Callable[[Any], np.ndarray]

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X, y).transform(X)

    def _name(self, method: str) -> str:
        return f"{type(self).__name__}.{method}"

    def _check_fitted(self, method: str) -> int:
        """The number of features seen by ``fit``; NotFittedError before ``fit``."""
        n = getattr(self, "n_features_in_", None)
        if n is None:
            raise NotFittedError(
                f"{self._name(method)}: this {type(self).__name__} is not fitted yet; "
                f"call fit(X_train) first (fit on the training split only)"
            )
        return n

    def _numeric(self, arr: np.ndarray, method: str) -> np.ndarray:
        """``arr`` as numbers (float64 unless bool/int/float already), without infinities."""
        if arr.dtype.kind not in "biuf":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise TypeError(f"{self._name(method)}: X must be numeric, got dtype {arr.dtype} ({err})") from err
        if arr.dtype.kind == "f" and np.isinf(arr).any():
            raise ValueError(f"{self._name(method)}: X contains infinity")
        return arr

    def _matrix(self, X, method: str, *, numeric: bool = True, reset: bool = False) -> np.ndarray:
        """``X`` as a 2-D array, checked against the fitted feature count unless ``reset``."""
        arr = _to_numpy(X)
        if arr.ndim != 2:
            hint = "; use X.reshape(-1, 1) for a single feature" if arr.ndim == 1 else ""
            raise ValueError(
                f"{self._name(method)}: expected a 2-D array (n_samples, n_features), got shape {tuple(arr.shape)}{hint}"
            )
        if numeric:
            arr = self._numeric(arr, method)
        if reset:
            if arr.shape[0] == 0:
                raise ValueError(f"{self._name(method)}: X has 0 samples, shape {tuple(arr.shape)}; need at least 1")
            return arr
        n = self._check_fitted(method)
        if arr.shape[1] != n:
            raise ValueError(
                f"{self._name(method)}: X has {arr.shape[1]} features, but {type(self).__name__} "
                f"was fitted with {n} features"
            )
        return arr

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})"

    def state_dict(self) -> dict:
        """Constructor parameters and fitted attributes (NumPy arrays, lists of arrays, numbers)."""
        state = {p: getattr(self, p) for p in self._params}
        for attr in ("n_features_in_", *self._fitted):
            value = getattr(self, attr, None)
            state[attr] = [np.array(v) for v in value] if isinstance(value, list) else (
                np.array(value) if isinstance(value, np.ndarray) else value)
        return state

    def load_state_dict(self, state: dict):
        """Restore what :meth:`state_dict` returned; returns ``self``."""
        unknown = set(state) - {*self._params, "n_features_in_", *self._fitted}
        if unknown:
            raise KeyError(f"{self._name('load_state_dict')}: unexpected keys {sorted(unknown)}")
        for key, value in state.items():
            setattr(self, key, value)
        return self


# --------------------------------------------------------------------------- scalers
def _zero_scale_to_one(scale: np.ndarray, constant: np.ndarray | None = None) -> np.ndarray:
    """Replace the scale of (near-)constant features by 1 so they are left unscaled, not divided by ~0."""
    if constant is None:
        constant = scale < 10 * np.finfo(scale.dtype).eps
    return np.where(constant, 1.0, scale)


class StandardScaler(_Transformer):
    """Standardise features: ``z = (x - mean) / std`` with the training mean and (population) std.

    ``with_std=False`` only zero-centres (``x - mean``); ``with_mean=False`` only
    scales (``x / std``). Constant features get scale 1. NaNs are ignored when
    fitting and kept in the output (missing values). ``partial_fit`` updates
    the statistics batch by batch (Chan et al.'s pairwise update: with
    ``δ = mean_b − mean_a``, ``mean = mean_a + δ n_b / n`` and
    ``M2 = M2_a + M2_b + δ² n_a n_b / n``), so a stream can be standardised online.

    Attributes: ``mean_``, ``var_``, ``scale_`` (None when not used),
    ``n_samples_seen_``, ``n_features_in_``.
    """

    _params = ("with_mean", "with_std")
    _fitted = ("mean_", "var_", "scale_", "n_samples_seen_")

    def __init__(self, *, with_mean: bool = True, with_std: bool = True):
        self.with_mean = with_mean
        self.with_std = with_std
        self.n_features_in_ = None

    def fit(self, X, y=None) -> StandardScaler:
        """Compute mean and std of ``X`` (the training split)."""
        self.n_features_in_ = None
        return self.partial_fit(X)

    def partial_fit(self, X, y=None) -> StandardScaler:
        """Update mean and std with one more batch ``X``."""
        first = self.n_features_in_ is None
        X = self._matrix(X, "partial_fit", reset=first).astype(np.float64)
        count = np.sum(~np.isnan(X), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(X, axis=0) / count
            m2 = np.nansum((X - mean) ** 2, axis=0)
        if first:
            self.n_features_in_ = X.shape[1]
            self._count, self._mean, self._m2 = count, mean, m2
        else:
            n_a, n = self._count, self._count + count
            with np.errstate(invalid="ignore", divide="ignore"):
                delta = np.where(count > 0, mean - self._mean, 0.0)
                frac = np.where(n > 0, count / n, 0.0)
                self._mean = np.where(n_a > 0, self._mean + delta * frac, mean)
                self._m2 = np.where(n_a > 0, self._m2 + np.where(count > 0, m2, 0.0) + delta**2 * n_a * frac, m2)
            self._count = n
        self._publish()
        return self

    def _publish(self) -> None:
        count = self._count
        self.n_samples_seen_ = int(count[0]) if np.all(count == count[0]) else count.copy()
        self.mean_ = self._mean.copy() if (self.with_mean or self.with_std) else None
        if not self.with_std:
            self.var_ = self.scale_ = None
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            self.var_ = self._m2 / count
        # Chan, Golub & LeVeque's error bound of the two-pass variance: below it the feature is constant.
        eps = np.finfo(np.float64).eps
        constant = self.var_ <= count * eps * self.var_ + (count * self.mean_ * eps) ** 2
        self.scale_ = _zero_scale_to_one(np.sqrt(self.var_), constant)

    def _shift_scale(self) -> tuple[np.ndarray | float, np.ndarray | float]:
        """``(shift, scale)`` of ``z = (x - shift) / scale``: 0 and 1 for the parts switched off (exact no-ops)."""
        shift = self.mean_ if self.with_mean and self.mean_ is not None else 0.0
        scale = self.scale_ if self.with_std and self.scale_ is not None else 1.0
        return shift, scale

    def transform(self, X) -> np.ndarray:
        """``(X - mean_) / scale_`` in the input's float dtype."""
        arr = self._matrix(X, "transform")
        shift, scale = self._shift_scale()
        out = (arr.astype(np.float64) - shift) / scale
        return out.astype(_float_dtype(arr), copy=False)

    def inverse_transform(self, X) -> np.ndarray:
        """``X * scale_ + mean_``."""
        arr = self._matrix(X, "inverse_transform")
        shift, scale = self._shift_scale()
        out = arr.astype(np.float64) * scale + shift
        return out.astype(_float_dtype(arr), copy=False)

    def load_state_dict(self, state: dict):
        super().load_state_dict(state)
        if self.n_features_in_ is not None:
            self._mean = np.asarray(self.mean_, dtype=np.float64)
            count = np.broadcast_to(np.asarray(self.n_samples_seen_), self._mean.shape)
            self._count = count.copy()
            var = self.var_ if self.var_ is not None else np.zeros_like(self._mean)
            self._m2 = np.asarray(var) * count
        return self


class MinMaxScaler(_Transformer):
    """Scale each feature linearly so its training min/max map to ``feature_range``.

    ``x' = x * scale_ + min_`` with ``scale_ = (hi - lo) / (data_max_ - data_min_)``
    and ``min_ = lo - data_min_ * scale_``; constant features get range 1.
    Values outside the training range land outside ``feature_range`` unless
    ``clip=True``. NaNs are ignored when fitting.
    """

    _params = ("feature_range", "clip")
    _fitted = ("data_min_", "data_max_", "data_range_", "scale_", "min_", "n_samples_seen_")

    def __init__(self, feature_range: tuple[float, float] = (0, 1), *, clip: bool = False):
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: feature_range must be (min, max) with min < max, got {feature_range}")
        self.feature_range = tuple(feature_range)
        self.clip = clip
        self.n_features_in_ = None

    def fit(self, X, y=None) -> MinMaxScaler:
        """Record the per-feature min and max of ``X`` (the training split)."""
        self.n_features_in_ = None
        return self.partial_fit(X)

    def partial_fit(self, X, y=None) -> MinMaxScaler:
        """Widen the recorded min/max with one more batch ``X``."""
        first = self.n_features_in_ is None
        X = self._matrix(X, "partial_fit", reset=first).astype(np.float64)
        lo_b, hi_b = np.fmin.reduce(X, axis=0), np.fmax.reduce(X, axis=0)
        if first:
            self.n_features_in_ = X.shape[1]
            self.data_min_, self.data_max_, self.n_samples_seen_ = lo_b, hi_b, X.shape[0]
        else:
            self.data_min_ = np.fmin(self.data_min_, lo_b)
            self.data_max_ = np.fmax(self.data_max_, hi_b)
            self.n_samples_seen_ += X.shape[0]
        lo, hi = self.feature_range
        self.data_range_ = self.data_max_ - self.data_min_
        self.scale_ = (hi - lo) / _zero_scale_to_one(self.data_range_)
        self.min_ = lo - self.data_min_ * self.scale_
        return self

    def transform(self, X) -> np.ndarray:
        """``X * scale_ + min_`` (clipped to ``feature_range`` when ``clip``)."""
        arr = self._matrix(X, "transform")
        out = arr.astype(np.float64) * self.scale_ + self.min_
        if self.clip:
            lo, hi = self.feature_range
            out = np.clip(out, lo, hi)
        return out.astype(_float_dtype(arr), copy=False)

    def inverse_transform(self, X) -> np.ndarray:
        """``(X - min_) / scale_``."""
        arr = self._matrix(X, "inverse_transform")
        out = (arr.astype(np.float64) - self.min_) / self.scale_
        return out.astype(_float_dtype(arr), copy=False)


# --------------------------------------------------------------------------- one-hot
class OneHotEncoder(_Transformer):
    """Encode each categorical feature as one indicator column per category.

    ``e_ij = [x_i = c_j]``: 7 samples of 4 categories -> a 7×4 matrix whose rows each
    hold a single 1. With several features the blocks are concatenated, one block
    per feature, categories in ``categories_`` order (sorted when ``'auto'``).

    Args:
        categories: ``'auto'`` (the sorted unique values seen by ``fit``) or a
            list with one array-like of categories per feature.
        handle_unknown: ``'error'`` raises on a category not seen in ``fit``;
            ``'ignore'`` encodes it as all zeros (``inverse_transform`` gives None).
        dtype: dtype of the output (default float64).

    Output is a dense array (scikit-learn's ``sparse_output=False``). A 1-D
    input is taken as a single feature.
    """

    _params = ("categories", "handle_unknown", "dtype")
    _fitted = ("categories_",)

    def __init__(self, *, categories="auto", handle_unknown: str = "error", dtype=np.float64):
        if handle_unknown not in ("error", "ignore"):
            raise ValueError(f"OneHotEncoder: handle_unknown must be 'error' or 'ignore', got {handle_unknown!r}")
        self.categories = categories
        self.handle_unknown = handle_unknown
        self.dtype = dtype
        self.n_features_in_ = None

    def _columns(self, X, method: str, reset: bool = False) -> np.ndarray:
        arr = _to_numpy(X)
        if arr.ndim == 1:
            arr = arr[:, None]
        arr = self._matrix(arr, method, numeric=False, reset=reset)
        if arr.dtype.kind == "O":  # None, or NaN (the only value not equal to itself)
            missing = np.equal(arr, np.array(None, dtype=object)).astype(bool) | np.not_equal(arr, arr).astype(bool)
        else:
            missing = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
        if missing.any():
            row, col = np.argwhere(missing)[0]
            raise ValueError(
                f"{self._name(method)}: missing value (None/NaN) at row {row}, column {col}; "
                f"fill missing values first, e.g. with a 'missing' category"
            )
        return arr

    def _given_categories(self, X: np.ndarray) -> list[np.ndarray]:
        """The ``categories`` argument checked: one non-empty list of distinct values per column of ``X``,
        covering the values of that column."""
        if len(self.categories) != X.shape[1]:
            raise ValueError(
                f"OneHotEncoder.fit: categories has {len(self.categories)} entries but X has {X.shape[1]} features"
            )
        cats = [np.asarray(c) for c in self.categories]
        for j, c in enumerate(cats):
            if c.ndim != 1 or len(c) == 0:
                raise ValueError(f"OneHotEncoder.fit: categories[{j}] must be a non-empty 1-D list, got {c!r}")
            if len(np.unique(c)) != len(c):
                raise ValueError(f"OneHotEncoder.fit: categories[{j}] has duplicate values: {c.tolist()}")
        for j, c in enumerate(cats):  # given categories must cover the training data
            self._codes(X[:, j], c, j, "fit", strict=True)
        return cats

    def fit(self, X, y=None) -> OneHotEncoder:
        """Find the categories of each column of ``X``."""
        X = self._columns(X, "fit", reset=True)
        if self.categories != "auto":
            cats = self._given_categories(X)
        else:
            try:
                cats = [np.unique(X[:, j]) for j in range(X.shape[1])]
            except TypeError as err:
                raise TypeError(f"OneHotEncoder.fit: values of one column cannot be sorted (mixed types?): {err}") from err
        self.categories_ = cats
        self.n_features_in_ = X.shape[1]
        return self

    def _codes(self, column, cats, j: int, method: str, strict: bool):
        """Index of each value in ``cats`` and a mask of the values found there."""
        order = np.argsort(cats, kind="stable")
        ordered = cats[order]
        try:
            pos = np.clip(np.searchsorted(ordered, column), 0, len(ordered) - 1)
            found = ordered[pos] == column
        except (TypeError, np.exceptions.DTypePromotionError) as err:
            raise TypeError(
                f"{self._name(method)}: column {j} has values of dtype {column.dtype} that cannot be compared "
                f"with its categories of dtype {cats.dtype}"
            ) from err
        found = np.asarray(found, dtype=bool)
        if strict and not found.all():
            unknown = np.unique(column[~found])
            raise ValueError(
                f"{self._name(method)}: found unknown categories {unknown[:10].tolist()} in column {j} "
                f"(known: {cats[:20].tolist()}); pass handle_unknown='ignore' to encode them as all zeros"
            )
        return order[pos], found

    def transform(self, X) -> np.ndarray:
        """One-hot matrix ``(n_samples, sum of category counts)``."""
        X = self._columns(X, "transform")
        sizes = [len(c) for c in self.categories_]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        out = np.zeros((X.shape[0], offsets[-1]), dtype=self.dtype)
        rows = np.arange(X.shape[0])
        for j, cats in enumerate(self.categories_):
            codes, found = self._codes(X[:, j], cats, j, "transform", strict=self.handle_unknown == "error")
            out[rows[found], offsets[j] + codes[found]] = 1
        return out

    def _blocks(self, X) -> list[np.ndarray]:
        """The columns of a one-hot matrix, one block per feature."""
        self._check_fitted("inverse_transform")
        arr = _to_numpy(X)
        sizes = [len(c) for c in self.categories_]
        if arr.ndim != 2 or arr.shape[1] != sum(sizes):
            raise ValueError(
                f"OneHotEncoder.inverse_transform: expected shape (n, {sum(sizes)}) (category counts {sizes}), "
                f"got {tuple(arr.shape)}"
            )
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        return [arr[:, offsets[j]:offsets[j + 1]] for j in range(len(sizes))]

    def inverse_transform(self, X) -> np.ndarray:
        """Categories back from a one-hot matrix (argmax per block; all-zero block -> None)."""
        blocks = self._blocks(X)
        empty = np.stack([~(b != 0).any(axis=1) for b in blocks], axis=1)
        if empty.any() and self.handle_unknown == "error":
            rows = np.flatnonzero(empty.any(axis=1))
            raise ValueError(
                f"OneHotEncoder.inverse_transform: rows {rows[:10].tolist()} have an all-zero block, which "
                f"only handle_unknown='ignore' produces"
            )
        dtype = object if empty.any() else np.result_type(*[c.dtype for c in self.categories_])
        out = np.empty((len(empty), len(blocks)), dtype=dtype)
        for j, (block, cats) in enumerate(zip(blocks, self.categories_)):
            out[:, j] = cats[np.argmax(block, axis=1)]
            if empty[:, j].any():
                out[empty[:, j], j] = None
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Output column names ``<feature>_<category>`` (features default to ``x0, x1, ...``)."""
        n = self._check_fitted("get_feature_names_out")
        names = input_features if input_features is not None else [f"x{j}" for j in range(n)]
        if len(names) != n:
            raise ValueError(f"OneHotEncoder.get_feature_names_out: {len(names)} names for {n} features")
        return np.array([f"{n}_{c}" for n, cats in zip(names, self.categories_) for c in cats], dtype=object)


# --------------------------------------------------------------------------- PCA and ZCA
class PCA(_Transformer):
    """Principal component analysis: decorrelate (and optionally whiten) the data.

    With ``Xc = X - mean_ = U S Vᵀ`` (thin SVD) the principal axes are the
    rows of ``components_ = Vᵀ`` (sign chosen so each row's largest-magnitude
    entry is positive, scikit-learn's convention) and
    ``explained_variance_ = S² / (n - 1)``. ``transform`` projects,
    ``Z = Xc Vₖ``: the training projections have a diagonal covariance.
    With ``whiten=True`` it divides by ``sqrt(explained_variance_)`` so the
    covariance is the identity (PCA whitening).

    Args:
        n_components: ``None`` keeps ``min(n_samples, n_features)``; an int
            keeps that many; a float in (0, 1) keeps the fewest components
            whose cumulative explained-variance ratio exceeds it.
        whiten: scale the components to unit variance.
    """

    _params = ("n_components", "whiten")
    _fitted = ("mean_", "components_", "explained_variance_", "explained_variance_ratio_",
               "singular_values_", "noise_variance_", "n_components_", "n_samples_")

    def __init__(self, n_components: int | float | None = None, *, whiten: bool = False):
        self.n_components = n_components
        self.whiten = whiten
        self.n_features_in_ = None

    def _resolve_k(self, ratio: np.ndarray, limit: int) -> int:
        k = self.n_components
        if k is None:
            return limit
        if isinstance(k, float) and 0 < k < 1:
            return min(int(np.searchsorted(np.cumsum(ratio), k, side="right")) + 1, limit)
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= k <= limit:
            return int(k)
        raise ValueError(
            f"PCA.fit: n_components={k!r} must be None, an int in [0, min(n_samples, n_features)={limit}] "
            f"or a float in (0, 1)"
        )

    def fit(self, X, y=None) -> PCA:
        """Centre ``X`` and find its principal axes."""
        X = self._matrix(X, "fit", reset=True).astype(np.float64)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"PCA.fit: need at least 2 samples to estimate a covariance, got X of shape {tuple(X.shape)}")
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        if n >= 10 * d:  # tall data: eigenvectors of Xcᵀ Xc (d × d) are cheaper than the SVD of Xc
            lam, V = np.linalg.eigh(Xc.T @ Xc)
            S, Vt = np.sqrt(np.clip(lam[::-1], 0.0, None)), V[:, ::-1].T.copy()
        else:
            _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
        signs = np.sign(Vt[np.arange(len(Vt)), np.argmax(np.abs(Vt), axis=1)])
        Vt *= np.where(signs == 0, 1.0, signs)[:, None]
        variance = S**2 / (n - 1)
        total = variance.sum()
        ratio = variance / total if total > 0 else np.zeros_like(variance)
        k = self._resolve_k(ratio, min(n, d))
        self.components_ = Vt[:k].copy()
        self.explained_variance_ = variance[:k].copy()
        self.explained_variance_ratio_ = ratio[:k].copy()
        self.singular_values_ = S[:k].copy()
        self.noise_variance_ = float(variance[k:].mean()) if k < min(n, d) else 0.0
        self.n_components_, self.n_samples_ = k, n
        self.n_features_in_ = d
        return self

    def _scale(self) -> np.ndarray:
        return np.maximum(np.sqrt(self.explained_variance_), np.finfo(np.float64).eps)

    def transform(self, X) -> np.ndarray:
        """Coordinates on the principal axes, ``(X - mean_) @ components_.T`` (÷ std when whitening)."""
        arr = self._matrix(X, "transform")
        Z = (arr.astype(np.float64) - self.mean_) @ self.components_.T
        if self.whiten:
            Z = Z / self._scale()
        return Z.astype(_float_dtype(arr), copy=False)

    def inverse_transform(self, X) -> np.ndarray:
        """Back to feature space: ``Z @ components_ + mean_`` (undoing the whitening first)."""
        self._check_fitted("inverse_transform")
        arr = _to_numpy(X)
        if arr.ndim != 2 or arr.shape[1] != self.n_components_:
            raise ValueError(
                f"PCA.inverse_transform: expected shape (n, {self.n_components_}) (n_components_), got {tuple(arr.shape)}"
            )
        Z = arr.astype(np.float64)
        if self.whiten:
            Z = Z * self._scale()
        return (Z @ self.components_ + self.mean_).astype(_float_dtype(arr), copy=False)


class ZCA(_Transformer):
    """ZCA (Mahalanobis) whitening: identity covariance with the least change to the data.

    With the training covariance ``C = Xcᵀ Xc / (n - 1) = V diag(λ) Vᵀ``,
    ``W = V diag(1 / sqrt(λ + eps)) Vᵀ`` and ``Z = (X - mean_) @ W``. Unlike
    PCA whitening (which rotates onto the principal axes), ZCA rotates back,
    so whitened images still look like images: ``Z`` equals PCA-whitened
    coordinates times ``components_``. ``eps`` regularises tiny eigenvalues
    (use about 1e-2 to 1e-1 of the pixel variance for images; 0 for an exact
    whitening of full-rank data).

    Attributes: ``mean_``, ``components_`` (eigenvectors, rows, by decreasing
    eigenvalue), ``explained_variance_`` (λ), ``whitening_`` (W) and
    ``dewhitening_`` (W⁻¹).
    """

    _params = ("eps",)
    _fitted = ("mean_", "components_", "explained_variance_", "whitening_", "dewhitening_")

    def __init__(self, eps: float = 1e-5):
        if not eps >= 0:
            raise ValueError(f"ZCA: eps must be >= 0, got {eps}")
        self.eps = eps
        self.n_features_in_ = None

    def fit(self, X, y=None) -> ZCA:
        """Estimate the mean and the whitening matrix from ``X``."""
        X = self._matrix(X, "fit", reset=True).astype(np.float64)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"ZCA.fit: need at least 2 samples to estimate a covariance, got X of shape {tuple(X.shape)}")
        mean = X.mean(axis=0)
        Xc = X - mean
        lam, V = np.linalg.eigh(Xc.T @ Xc / (n - 1))
        lam, V = np.clip(lam[::-1], 0.0, None), V[:, ::-1]
        shifted = lam + self.eps
        if shifted.min() <= d * np.finfo(np.float64).eps * max(lam.max(), np.finfo(np.float64).tiny):
            raise ValueError(
                f"ZCA.fit: the covariance of X ({d} features, {n} samples) is singular (smallest eigenvalue "
                f"{lam.min():.3g}); use eps > 0"
            )
        self.mean_, self.components_, self.explained_variance_ = mean, V.T.copy(), lam
        self.whitening_ = (V / np.sqrt(shifted)) @ V.T
        self.dewhitening_ = (V * np.sqrt(shifted)) @ V.T
        self.n_features_in_ = d
        return self

    def transform(self, X) -> np.ndarray:
        """Whitened data ``(X - mean_) @ whitening_``."""
        arr = self._matrix(X, "transform")
        return ((arr.astype(np.float64) - self.mean_) @ self.whitening_).astype(_float_dtype(arr), copy=False)

    def inverse_transform(self, X) -> np.ndarray:
        """Undo the whitening: ``Z @ dewhitening_ + mean_``."""
        arr = self._matrix(X, "inverse_transform")
        return (arr.astype(np.float64) @ self.dewhitening_ + self.mean_).astype(_float_dtype(arr), copy=False)
