"""The physopt linear readout: StandardScaler + LogisticRegression, C chosen by stratified 5-fold CV.

Matches the Physion harness (DESIGN section 4): C over logspace(-8, 8, 17), accuracy scoring, the training
data undersampled to 50/50 before fitting, the test data never rebalanced. Fitting sees training arrays only;
the test set enters through ``LinearReadout.predict`` alone.

Beyond physopt: with ``pca_dims`` a PCA between scaler and regression is part of the same CV search (its
dimension and C chosen together, the PCA refitted inside every fold), so thousands of token features do not
face a few dozen readout trials; the unreduced features stay a candidate only while they number at most
``max_feature_ratio`` times the trials.

The search is GridSearchCV's, computed without its redundancy: per fold the scaler is fitted once and each PCA
dimension once, then every C is fitted on those transformed arrays (GridSearchCV refits scaler and PCA for every C:
17x the work, most of the readout stage's time). The same estimators on the same arrays in the same order give
the same fold scores, so the same choice and the same refitted Pipeline (tests/pipelines/test_readout_models.py
checks this against GridSearchCV; benchmarks/readout.py measures the speed).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from einops import rearrange
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.parallel import Parallel, delayed

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

    def proba_and_labels(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(n, f) -> ``predict_proba`` and ``predict`` (the labels come from the decision function, not from
        thresholding the probabilities, which can differ where the probability rounds to 0.5)."""
        return self.predict_proba(X), self.predict(X)

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
    folds = list(StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed).split(X, y))
    with warnings.catch_warnings():
        # Large C on (nearly) separable data never converges within max_iter; physopt accepts that, so do we.
        # sklearn's Parallel hands these filters to its worker processes too.
        warnings.simplefilter("ignore", ConvergenceWarning)
        scaled = [_scaled_fold(X, y, train, test) for train, test in folds]
        tasks = [(fold, d) for fold in scaled for d in dims]
        scores = Parallel(n_jobs=n_jobs)(delayed(_fold_scores)(*fold, d, c_grid, max_iter, seed) for fold, d in tasks)
        # one row per candidate in GridSearchCV's order (reductions outer, C inner), one column per fold
        per_candidate = rearrange(np.asarray(scores), "(fold r) c -> (r c) fold", fold=cv_folds)
        means = per_candidate.mean(axis=1)
        best = int(np.argmax(means))  # the first best, as GridSearchCV's rank argmin
        chosen, best_c = dims[best // len(c_grid)], float(c_grid[best % len(c_grid)])
        estimator = _pipeline(chosen, best_c, max_iter, seed).fit(X, y)
    return LinearReadout(
        estimator=estimator,
        best_c=best_c,
        cv_accuracy=float(means[best]),
        n_train=int(len(y)),
        n_features=int(X.shape[1]),
        c_grid=[float(c) for c in c_grid],
        cv_folds=cv_folds,
        undersample=undersample,
        seed=seed,
        reduction=chosen,
    )


def _pipeline(dim: int | None, c: float, max_iter: int, seed: int) -> Pipeline:
    reduce = PCA(dim, random_state=seed) if dim else "passthrough"
    return Pipeline(
        [("scale", StandardScaler()), ("reduce", reduce), ("logreg", LogisticRegression(C=c, max_iter=max_iter))]
    )


def _scaled_fold(X, y, train, test) -> tuple:
    """One CV fold's (train, test) features standardised on its training part, as the Pipeline does it."""
    scaler = StandardScaler()
    return scaler.fit_transform(X[train], y[train]), y[train], scaler.transform(X[test]), y[test]


def _fold_scores(X_train, y_train, X_test, y_test, dim, c_grid, max_iter: int, seed: int) -> list[float]:
    """Test-fold accuracy of every C in ``c_grid`` after one PCA of ``dim`` (None: none) fitted on the fold.
    ``fit_transform`` as in Pipeline.fit (PCA's differs from fit + transform in the last digits)."""
    if dim:
        pca = PCA(dim, random_state=seed)
        X_train, X_test = pca.fit_transform(X_train, y_train), pca.transform(X_test)
    # the share of right predictions, as accuracy_score computes it (without its input checks, ~10% of the time)
    return [
        float(np.mean(LogisticRegression(C=c, max_iter=max_iter).fit(X_train, y_train).predict(X_test) == y_test))
        for c in c_grid
    ]
