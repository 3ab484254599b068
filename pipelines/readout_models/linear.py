"""The physopt linear readout: StandardScaler + LogisticRegression, C chosen by stratified 5-fold CV.

Matches the Physion harness (DESIGN section 4): C over logspace(-8, 8, 17), accuracy scoring, the training
data undersampled to 50/50 before fitting, the test data never rebalanced. Fitting sees training arrays only;
the test set enters through ``LinearReadout.predict`` alone.

Beyond physopt: with ``pca_dims`` a PCA between scaler and regression is part of the same CV search (its
dimension and C chosen together, the PCA refitted inside every fold), so thousands of token features do not
face a few dozen readout trials; the unreduced features stay a candidate only while they number at most
``max_feature_ratio`` times the trials.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

DEFAULT_C_GRID = np.logspace(-8, 8, 17)


@dataclass
class LinearReadout:
    """A fitted readout. ``estimator`` is the refitted sklearn Pipeline (scaler + logistic regression)."""

    estimator: Pipeline
    best_c: float
    cv_accuracy: float  # mean accuracy over the CV folds at best_c (on the undersampled training data)
    n_train: int  # trials actually fitted, after undersampling
    n_features: int
    c_grid: list[float] = field(default_factory=list)
    cv_folds: int = 5
    undersample: bool = True
    seed: int = 0
    reduction: int | None = None  # PCA dimension chosen by CV, None = the features as they are

    def _check(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n, {self.n_features}), got {X.shape}")
        return X

    def predict_proba(self, X) -> np.ndarray:
        """(n, f) -> (n,) probability of class 1."""
        return self.estimator.predict_proba(self._check(X))[:, 1]

    def predict(self, X) -> np.ndarray:
        """(n, f) -> (n,) predicted labels in {0, 1}."""
        return self.estimator.predict(self._check(X)).astype(np.int64)

    def to_dict(self) -> dict:
        """A json-safe summary (no weights)."""
        return {
            "kind": "linear",
            "best_c": self.best_c,
            "cv_accuracy": self.cv_accuracy,
            "n_train": self.n_train,
            "n_features": self.n_features,
            "c_grid": self.c_grid,
            "cv_folds": self.cv_folds,
            "undersample": self.undersample,
            "seed": self.seed,
            "pca_dim": self.reduction,
        }


def check_training_data(X, y, *, min_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate (n, f) features and (n,) 0/1 labels; returns them as float64 / int64 arrays."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n, features), got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must have shape ({len(X)},) to match X {X.shape}, got {y.shape}")
    if not np.isfinite(X).all():
        bad = np.unique(np.nonzero(~np.isfinite(X))[0])
        raise ValueError(f"X has NaN or inf values in {len(bad)} trial(s), e.g. rows {bad[:5].tolist()}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y must hold labels 0/1, got values {np.unique(y)[:10].tolist()}")
    y = y.astype(np.int64)
    counts = np.bincount(y, minlength=2)
    if (counts == 0).any():
        raise ValueError(
            f"both classes are needed to fit a readout; got {counts[0]} negatives and {counts[1]} positives"
        )
    if counts.min() < min_per_class:
        raise ValueError(
            f"need at least {min_per_class} trials of each class (cv_folds={min_per_class}); "
            f"got {counts[0]} negatives and {counts[1]} positives"
        )
    return X, y


def undersample_indices(y: np.ndarray, seed: int) -> np.ndarray:
    """Sorted indices of a 50/50 subset of ``y`` (n,): all of the minority class, as many random majority trials."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    minority, majority = (pos, neg) if len(pos) <= len(neg) else (neg, pos)
    keep = rng.choice(majority, size=len(minority), replace=False)
    return np.sort(np.concatenate([minority, keep]))


def reduction_candidates(n_trials: int, n_features: int, cv_folds: int, pca_dims, max_feature_ratio: float) -> list:
    """The reductions CV chooses among: PCA dimensions below the smallest CV training fold (and the feature
    count), plus None (no PCA) when the features are at most ``max_feature_ratio`` x the trials or nothing else
    fits."""
    fold = n_trials - math.ceil(n_trials / cv_folds)
    dims = sorted({int(d) for d in pca_dims if 0 < d < min(fold, n_features)})
    raw = not dims or n_features <= max_feature_ratio * n_trials
    return dims + ([None] if raw else [])


def fit_linear_readout(
    X,
    y,
    *,
    c_grid=None,
    cv_folds: int = 5,
    max_iter: int = 200,
    undersample: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    pca_dims=(),
    max_feature_ratio: float = 2.0,
) -> LinearReadout:
    """Fit the physopt readout on training features ``X`` (n, f) and labels ``y`` (n,) in {0, 1}.

    ``c_grid`` defaults to logspace(-8, 8, 17). CV-accuracy ties go to the smallest C (GridSearchCV keeps the
    first best); on easy data that is often 1e-8, whose probabilities stay within ~1e-4 of the class share but
    still rank the trials (accuracy and AUC are fine, probabilities are not calibrated). ``pca_dims``: see the
    module docstring; ties go to the first candidate (the smallest dimension), as for C.
    Raises ValueError for a missing class, fewer trials per class than ``cv_folds``, non-finite features or
    mismatched shapes.
    """
    c_grid = DEFAULT_C_GRID if c_grid is None else np.asarray(c_grid, dtype=np.float64).ravel()
    if len(c_grid) == 0 or (c_grid <= 0).any():
        raise ValueError(f"c_grid must hold positive values, got {c_grid}")
    X, y = check_training_data(X, y, min_per_class=cv_folds)
    if undersample:
        keep = undersample_indices(y, seed)
        X, y = X[keep], y[keep]
    dims = reduction_candidates(len(y), X.shape[1], cv_folds, pca_dims, max_feature_ratio) if len(pca_dims) else [None]
    reducers = [PCA(d, random_state=seed) if d else "passthrough" for d in dims]
    pipe = Pipeline(
        [("scale", StandardScaler()), ("reduce", "passthrough"), ("logreg", LogisticRegression(max_iter=max_iter))]
    )
    grid = [{"reduce": [r], "logreg__C": list(c_grid)} for r in reducers]
    search = GridSearchCV(
        pipe,
        grid,
        scoring="accuracy",
        n_jobs=n_jobs,
        refit=True,
        cv=StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed),
    )
    with warnings.catch_warnings():
        # Large C on (nearly) separable data never converges within max_iter; physopt accepts that, so do we.
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    chosen = search.best_params_["reduce"]
    return LinearReadout(
        estimator=search.best_estimator_,
        best_c=float(search.best_params_["logreg__C"]),
        cv_accuracy=float(search.best_score_),
        n_train=int(len(y)),
        n_features=int(X.shape[1]),
        c_grid=[float(c) for c in c_grid],
        cv_folds=cv_folds,
        undersample=undersample,
        seed=seed,
        reduction=None if chosen == "passthrough" else int(chosen.n_components),
    )
