"""Classical linear models, with scikit-learn's interface (fit / predict / score).

``LinearRegression(fit_intercept=True, ridge=0.0, solver='svd', forgetting=1.0)``
    Closed form θ = (XᵀX)⁻¹Xᵀy (the normal equations), computed stably — never by inverting XᵀX:
    * ``ridge == 0``: ``numpy.linalg.lstsq`` (SVD).  On a rank-deficient X this is the
      minimum-norm least-squares solution (what the pseudo-inverse gives).
    * ``ridge = α > 0``: θ = (XᵀX + αI)⁻¹Xᵀy = V·diag(s/(s² + α))·Uᵀy from the SVD
      X = U·diag(s)·Vᵀ (``solver='svd'``) or by Cholesky on XᵀX + αI (``solver='cholesky'``,
      faster when n ≫ d).
    With ``fit_intercept`` the data are centred first, so the intercept is not penalised
    and b = ȳ - x̄ᵀθ (scikit-learn's convention; on a full-rank problem without ridge this
    is the same as appending a column of ones).
    ``partial_fit(X, y)`` learns online, one batch at a time, by recursive least squares: with
    A = [X, 1] it keeps P = (AᵀA + δI)⁻¹ and, for each new batch (a single row is fine),
    K = PAᵀ(I + APAᵀ)⁻¹, θ += K(y - Aθ), P -= KAP (Woodbury: exact, no refit).  From
    scratch, after n rows θ equals the ridge solution with penalty δ = ``ridge`` (or 1e-6
    when ridge = 0) on all of θ including the intercept.  ``forgetting`` < 1 discounts old
    rows (P ← P/forgetting before each update) to follow a drifting relation.

``LogisticRegression(lr=0.1, epochs=100, batch_size=None, l2=0.0, fit_intercept=True, momentum=0.0,
optimizer='sgd', random_state=None, tol=None)``
    p(y=1|x) = σ(xᵀw + b), trained by gradient descent (``lamina.optim.SGD``; full batch
    when ``batch_size`` is None) on the binary cross-entropy, using lamina's autodiff;
    ``l2`` adds the penalty λ/2·Σw² (``nn.regularization.l2``; the intercept is not penalised).  More than two classes:
    softmax regression on the cross-entropy.  ``partial_fit`` takes one SGD step on the
    given rows (online learning; give ``classes`` on the first call).

Inputs may be NumPy arrays, lists or lamina tensors; outputs are NumPy arrays.
"""
from __future__ import annotations

from typing import TypeVar

import numpy as np

from .. import optim
from ..nn.regularization import l2 as l2_penalty
from ..ops.activations import softplus
from ..ops.reduce import log_softmax
from ..tensor import Tensor

__all__ = ["LinearRegression", "LogisticRegression"]


def _matrix(x, where, name="X") -> np.ndarray:
    a = np.asarray(x._data if isinstance(x, Tensor) else x, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(1, -1) if name == "x-row" else a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"{where}: {name} must be 2-D (n_samples, n_features), got shape {tuple(a.shape)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{where}: {name} contains NaN or infinity")
    return a


def _targets(y, n, where) -> np.ndarray:
    a = np.asarray(y._data if isinstance(y, Tensor) else y)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.shape[0] != n:
        raise ValueError(f"{where}: X has {n} rows but y has {a.shape[0]}")
    return a


_T = TypeVar("_T")


def _fitted(value: _T | None, model: object, where: str) -> _T:
    """A fitted attribute's value; a RuntimeError while it is still None (before fit)."""
    if value is None:
        raise RuntimeError(f"{where}: this {type(model).__name__} is not fitted yet; call fit() first")
    return value


# ---------------------------------------------------------------------------- linear regression
class LinearRegression:
    def __init__(self, fit_intercept: bool = True, ridge: float = 0.0, solver: str = "svd",
                 forgetting: float = 1.0):
        if ridge < 0:
            raise ValueError(f"LinearRegression: ridge must be >= 0, got {ridge}")
        if solver not in ("svd", "cholesky"):
            raise ValueError(f"LinearRegression: solver must be 'svd' or 'cholesky', got {solver!r}")
        if not 0 < forgetting <= 1:
            raise ValueError(f"LinearRegression: forgetting must be in (0, 1], got {forgetting}")
        self.fit_intercept, self.ridge, self.solver, self.forgetting = fit_intercept, float(ridge), solver, forgetting
        self.coef_: np.ndarray | None = None
        self.intercept_: float | np.ndarray | None = None
        self._theta: np.ndarray | None = None   # recursive-least-squares state: θ and P
        self._P: np.ndarray | None = None

    def _solve(self, x, y):
        """θ minimising ‖xθ - y‖² + ridge·‖θ‖² (y is 2-D)."""
        a = self.ridge
        if a == 0:
            return np.linalg.lstsq(x, y, rcond=None)[0]
        if self.solver == "cholesky":
            try:
                c = np.linalg.cholesky(x.T @ x + a * np.eye(x.shape[1]))
                return np.linalg.solve(c.T, np.linalg.solve(c, x.T @ y))
            except np.linalg.LinAlgError:
                pass   # numerically singular: fall through to the SVD
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        return vt.T @ ((s / (s * s + a))[:, None] * (u.T @ y))

    def fit(self, X, y):
        x = _matrix(X, "LinearRegression.fit")
        yy = _targets(y, x.shape[0], "LinearRegression.fit").astype(np.float64)
        self._single = yy.ndim == 1
        y2 = yy.reshape(len(yy), -1)
        if self.fit_intercept:
            xm, ym = x.mean(axis=0), y2.mean(axis=0)
            theta = self._solve(x - xm, y2 - ym)
            intercept = ym - xm @ theta
        else:
            theta = self._solve(x, y2)
            intercept = np.zeros(y2.shape[1])
        self._set(theta, intercept)
        # state for partial_fit: continue from these coefficients with P = (AᵀA + δI)⁻¹
        a = self._design(x)
        self._P = np.linalg.inv(a.T @ a + self._delta() * np.eye(a.shape[1]))
        self._theta = np.vstack([theta, intercept[None, :]]) if self.fit_intercept else theta
        return self

    def _set(self, theta, intercept):
        self.coef_ = theta.T[0] if self._single else theta.T          # sklearn layout: (n_targets, n_features)
        self.intercept_ = float(intercept[0]) if self._single else intercept
        self.n_features_in_ = theta.shape[0]

    def _delta(self):
        return self.ridge if self.ridge > 0 else 1e-6

    def _design(self, x):
        return np.hstack([x, np.ones((x.shape[0], 1))]) if self.fit_intercept else x

    def partial_fit(self, X, y):
        """Recursive-least-squares update with the rows of X (one row, or a batch)."""
        x = _matrix(X, "LinearRegression.partial_fit", "x-row")
        yy = _targets(y, x.shape[0], "LinearRegression.partial_fit").astype(np.float64)
        y2 = yy.reshape(x.shape[0], -1)
        a = self._design(x)
        if self._theta is None or self._P is None:
            self._single = yy.ndim == 1
            self._theta = np.zeros((a.shape[1], y2.shape[1]))
            self._P = np.eye(a.shape[1]) / self._delta()
        theta = self._theta
        if a.shape[1] != theta.shape[0]:
            raise ValueError(f"LinearRegression.partial_fit: expected {theta.shape[0] - self.fit_intercept} "
                             f"features, got {x.shape[1]}")
        p = self._P / self.forgetting
        pa = p @ a.T                                        # (p, b)
        s = np.eye(a.shape[0]) + a @ pa                     # (b, b)
        k = np.linalg.solve(s, pa.T).T                      # P Aᵀ S⁻¹ (S symmetric)
        self._theta = theta = theta + k @ (y2 - a @ theta)
        p = p - k @ pa.T
        self._P = 0.5 * (p + p.T)
        if self.fit_intercept:
            self._set(theta[:-1], theta[-1])
        else:
            self._set(theta, np.zeros(y2.shape[1]))
        return self

    def predict(self, X) -> np.ndarray:
        coef = np.atleast_2d(_fitted(self.coef_, self, "LinearRegression.predict"))
        x = _matrix(X, "LinearRegression.predict")
        if x.shape[1] != coef.shape[1]:
            raise ValueError(f"LinearRegression.predict: X has {x.shape[1]} features, the model {coef.shape[1]}")
        out = x @ coef.T + self.intercept_
        return out[:, 0] if self._single else out

    def score(self, X, y) -> float:
        """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² (averaged over targets)."""
        pred = self.predict(X).reshape(len(_matrix(X, "LinearRegression.score")), -1)
        yy = _targets(y, pred.shape[0], "LinearRegression.score").astype(np.float64).reshape(pred.shape)
        ss_res = ((yy - pred) ** 2).sum(axis=0)
        ss_tot = ((yy - yy.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.where(ss_res > 0, 0.0, 1.0))
        return float(r2.mean())


# ---------------------------------------------------------------------------- logistic regression
class LogisticRegression:
    def __init__(self, lr: float = 0.1, epochs: int = 100, batch_size: int | None = None, l2: float = 0.0,
                 fit_intercept: bool = True, momentum: float = 0.0, optimizer: str = "sgd",
                 random_state: int | None = None, tol: float | None = None):
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"LogisticRegression: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        if l2 < 0:
            raise ValueError(f"LogisticRegression: l2 must be >= 0, got {l2}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"LogisticRegression: batch_size must be >= 1 or None, got {batch_size}")
        self.lr, self.epochs, self.batch_size, self.l2 = lr, int(epochs), batch_size, float(l2)
        self.fit_intercept, self.momentum, self.optimizer, self.random_state = fit_intercept, momentum, optimizer, \
            random_state
        self.tol = tol
        self.classes_: np.ndarray | None = None
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None
        self.loss_curve_: list[float] = []

    # -- parameters and loss
    def _init(self, n_features, classes):
        self.classes_ = np.asarray(classes)
        if len(self.classes_) < 2:
            raise ValueError(f"LogisticRegression: need at least two classes, got {self.classes_.tolist()}")
        self._n_classes = len(self.classes_)
        k = 1 if self._n_classes == 2 else self._n_classes
        self.weight = Tensor._make(np.zeros((n_features, k))).requires_grad_()
        self.bias = Tensor._make(np.zeros(k)).requires_grad_()
        params = [self.weight, self.bias] if self.fit_intercept else [self.weight]
        self._opt: optim.Optimizer
        if self.optimizer == "sgd":
            self._opt = optim.SGD(params, lr=self.lr, momentum=self.momentum)
        else:
            self._opt = optim.Adam(params, lr=self.lr)
        self.n_features_in_ = n_features

    def _labels(self, y, where):
        classes = _fitted(self.classes_, self, where)
        idx = np.searchsorted(classes, y)
        idx = np.clip(idx, 0, len(classes) - 1)
        if not np.all(classes[idx] == y):
            unknown = np.setdiff1d(np.unique(y), classes)
            raise ValueError(f"{where}: labels {unknown.tolist()} are not among the classes {classes.tolist()}")
        return idx

    def _logits(self, x: Tensor) -> Tensor:
        z = x @ self.weight
        return z + self.bias if self.fit_intercept else z

    def _loss(self, x: np.ndarray, idx: np.ndarray) -> Tensor:
        z = self._logits(Tensor._make(x))
        if self._n_classes == 2:      # BCE with logits: softplus(z) - y·z, stable and smooth
            t = Tensor._make(idx.astype(np.float64).reshape(-1, 1))
            loss = (softplus(z) - t * z).mean()
        else:
            onehot = Tensor._make(np.eye(self._n_classes)[idx])
            loss = -(log_softmax(z, dim=1) * onehot).sum(dim=1).mean()
        if self.l2 > 0:
            loss = loss + l2_penalty([self.weight], self.l2)
        return loss

    def _sgd_step(self, x, idx) -> float:
        self._opt.zero_grad()
        loss = self._loss(x, idx)
        loss.backward()
        self._opt.step()
        return float(loss.item())

    def _publish(self):
        w, b = self.weight._data, self.bias._data
        self.coef_, self.intercept_ = w.T.copy(), b.copy()

    # -- public API
    def fit(self, X, y):
        x = _matrix(X, "LogisticRegression.fit")
        yy = _targets(y, x.shape[0], "LogisticRegression.fit")
        self._init(x.shape[1], np.unique(yy))
        idx = self._labels(yy, "LogisticRegression.fit")
        rng = np.random.default_rng(self.random_state)
        n = x.shape[0]
        bs = n if self.batch_size is None else min(self.batch_size, n)
        self.loss_curve_ = []
        for _ in range(self.epochs):
            order = np.arange(n) if bs == n else rng.permutation(n)
            losses = [self._sgd_step(x[order[i:i + bs]], idx[order[i:i + bs]]) for i in range(0, n, bs)]
            self.loss_curve_.append(float(np.mean(losses)))
            if self.tol is not None and len(self.loss_curve_) > 1 and \
                    abs(self.loss_curve_[-2] - self.loss_curve_[-1]) < self.tol:
                break
        self.n_iter_ = len(self.loss_curve_)
        self._publish()
        return self

    def partial_fit(self, X, y, classes=None):
        """One gradient step on the rows given (a single sample is fine).  ``classes``: all labels,
        needed on the first call unless this batch already shows every class."""
        x = _matrix(X, "LogisticRegression.partial_fit", "x-row")
        yy = _targets(y, x.shape[0], "LogisticRegression.partial_fit")
        if self.classes_ is None:
            self._init(x.shape[1], np.unique(yy) if classes is None else np.unique(np.asarray(classes)))
        elif x.shape[1] != self.n_features_in_:
            raise ValueError(f"LogisticRegression.partial_fit: expected {self.n_features_in_} features, "
                             f"got {x.shape[1]}")
        self.last_loss_ = self._sgd_step(x, self._labels(yy, "LogisticRegression.partial_fit"))
        self._publish()
        return self

    def decision_function(self, X) -> np.ndarray:
        _fitted(self.classes_, self, "LogisticRegression.decision_function")
        x = _matrix(X, "LogisticRegression.decision_function")
        z = x @ self.weight._data + (self.bias._data if self.fit_intercept else 0.0)
        return z[:, 0] if z.shape[1] == 1 else z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, one column per class (binary: [1 - p, p])."""
        z = self.decision_function(X)
        if z.ndim == 1:
            p = 0.5 * (1.0 + np.tanh(0.5 * z))      # σ(z) without overflow
            return np.stack([1.0 - p, p], axis=1)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        z = self.decision_function(X)
        idx = (z > 0).astype(int) if z.ndim == 1 else z.argmax(axis=1)
        return _fitted(self.classes_, self, "LogisticRegression.predict")[idx]

    def score(self, X, y) -> float:
        """Accuracy."""
        pred = self.predict(X)
        return float(np.mean(pred == _targets(y, len(pred), "LogisticRegression.score")))
