"""Test-set metrics for readouts: accuracy with a percentile-bootstrap interval, and ROC AUC."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def _binary_vector(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    return a


def accuracy_ci(y_true, y_pred, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Accuracy of ``y_pred`` (n,) against ``y_true`` (n,) with a percentile-bootstrap interval.

    Trials are resampled with replacement ``n_boot`` times (numpy Generator seeded with ``seed``); ``low`` and
    ``high`` are the (1 - level) / 2 and (1 + level) / 2 quantiles of the resampled accuracies.
    Returns ``{"accuracy", "low", "high", "n"}`` with plain Python numbers (json-safe).
    """
    y_true, y_pred = _binary_vector(y_true, "y_true"), _binary_vector(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in length")
    n = len(y_true)
    if n == 0:
        raise ValueError("accuracy_ci needs at least one trial")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    correct = (y_true == y_pred).astype(np.float64)
    rng = np.random.default_rng(seed)
    # resampling the 0/1 "correct" vector is the same as resampling (true, pred) pairs
    idx = rng.integers(0, n, size=(n_boot, n))
    boot = correct[idx].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return {"accuracy": float(correct.mean()), "low": float(low), "high": float(high), "n": int(n)}


def roc_auc(y_true, scores) -> float | None:
    """Area under the ROC curve of ``scores`` (n,) (higher = class 1) for labels ``y_true`` (n,) in {0, 1}.

    None when only one class is present (the AUC is undefined there, and a report should say so, not crash).
    """
    y_true, scores = _binary_vector(y_true, "y_true"), _binary_vector(scores, "scores")
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true {y_true.shape} and scores {scores.shape} differ in length")
    if len(np.unique(y_true)) < 2:
        return None
    return float(roc_auc_score(y_true, scores))


def paired_difference_ci(y_true, pred_a, pred_b, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Accuracy of ``pred_a`` minus that of ``pred_b`` on the same trials, with a paired percentile-bootstrap
    interval: each resample draws trials with replacement and scores both predictions on the SAME draw, so the
    interval reflects how the two differ trial by trial, not the spread of each.
    Returns ``{"difference", "low", "high", "n"}`` (json-safe)."""
    y_true = _binary_vector(y_true, "y_true")
    pred_a, pred_b = _binary_vector(pred_a, "pred_a"), _binary_vector(pred_b, "pred_b")
    if not y_true.shape == pred_a.shape == pred_b.shape:
        raise ValueError(f"y_true {y_true.shape}, pred_a {pred_a.shape} and pred_b {pred_b.shape} differ in length")
    n = len(y_true)
    if n == 0:
        raise ValueError("paired_difference_ci needs at least one trial")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    gain = (pred_a == y_true).astype(np.float64) - (pred_b == y_true)  # per trial: +1, 0 or -1
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    alpha = (1 - level) / 2
    low, high = np.quantile(gain[idx].mean(axis=1), [alpha, 1 - alpha])
    return {"difference": float(gain.mean()), "low": float(low), "high": float(high), "n": int(n)}
