"""Readouts on harness feature files: v1.5's own and our per-scenario physopt one, on the same features.

v1.5 (physion_evaluator/train_readout.py): ONE logistic regression fitted on the train features of all scenarios
together -- StandardScaler + LogisticRegression(max_iter 20000, l2), C from [1e-6, 1e-5, 0.01, 0.1, 1, 5, 10, 20]
by GridSearchCV with StratifiedKFold(5, shuffle, random_state 42), accuracy scoring, no rebalancing, features
flattened and cast to float16 -- then scored on each scenario's test rows; the benchmark figure is the plain mean
of the per-scenario accuracies. Ours (pipelines.readout_models.linear): one readout per scenario, fitted on that
scenario's train rows only (50/50 undersampled, our C grid and PCA search), scored the same way.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipelines.config.physion_run import ReadoutConfig, V15Config
from pipelines.physion_v15.interchange import HarnessSplit
from pipelines.readout_models.linear import check_training_data, fit_linear_readout
from pipelines.readout_models.metrics import accuracy_ci, roc_auc


def _inputs(split: HarnessSplit, float16: bool) -> np.ndarray:
    x = split.flat
    return x.astype(np.float16).astype(np.float64) if float16 else x.astype(np.float64)


def _per_scenario(test: HarnessSplit, pred: np.ndarray, proba: np.ndarray, n_boot: int, seed: int) -> dict:
    out = {}
    for key, rows in test.scenarios.items():
        idx = sorted(rows)
        if not idx:
            continue
        y = test.labels[idx]
        out[key] = {**accuracy_ci(y, pred[idx], n_boot=n_boot, seed=seed), "auc": roc_auc(y, proba[idx])}
    return out


def _summary(per: dict) -> dict:
    return {"mean_scenario_accuracy": float(np.mean([v["accuracy"] for v in per.values()])), "scenarios": per}


def all_scenario_readout(
    train: HarnessSplit, test: HarnessSplit, cfg: V15Config, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """v1.5's readout (module docstring) -> {mean_scenario_accuracy, scenarios, best_c, cv_accuracy, ...}."""
    x, y = _inputs(train, cfg.float16), train.labels
    x, y = check_training_data(x, y, min_per_class=cfg.cv_folds)
    pipe = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=cfg.max_iter))])
    search = GridSearchCV(
        pipe,
        {"clf__C": list(cfg.c_grid)},
        cv=StratifiedKFold(n_splits=cfg.cv_folds, shuffle=True, random_state=cfg.random_state),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(x, y)
    x_test = _inputs(test, cfg.float16)
    pred = search.predict(x_test).astype(np.int64)
    proba = search.predict_proba(x_test)[:, 1]
    return {
        "readout": "v1.5 all-scenario logistic regression",
        **_summary(_per_scenario(test, pred, proba, n_boot, seed)),
        "best_c": float(search.best_params_["clf__C"]),
        "cv_accuracy": float(search.best_score_),
        "train_accuracy": float(search.score(x, y)),
        "train_trials": int(len(y)),
        "predictions": {"pred": pred.tolist(), "proba": proba.tolist()},
    }


def per_scenario_readout(
    train: HarnessSplit, test: HarnessSplit, cfg: ReadoutConfig, seed: int = 0, float16: bool = False
) -> dict[str, Any]:
    """Our physopt readout, one per scenario present in both phases -> the same summary shape."""
    x, x_test = _inputs(train, float16), _inputs(test, float16)
    pred = np.full(len(x_test), -1, dtype=np.int64)
    proba = np.full(len(x_test), np.nan)
    fits = {}
    for key, rows in train.scenarios.items():
        test_rows = sorted(test.scenarios.get(key, []))
        if not rows or not test_rows:
            continue
        idx = sorted(rows)
        fit = fit_linear_readout(x[idx], train.labels[idx], seed=seed, **cfg.linear_kwargs())
        pred[test_rows] = fit.predict(x_test[test_rows])
        proba[test_rows] = fit.predict_proba(x_test[test_rows])
        fits[key] = fit.to_dict()
    scored = HarnessSplit(
        test.features,
        test.labels,
        test.filenames,
        test.frame_labels,
        {k: v for k, v in test.scenarios.items() if k in fits},
    )
    return {
        "readout": "physopt per-scenario logistic regression",
        **_summary(_per_scenario(scored, pred, proba, cfg.bootstrap, seed)),
        "fits": fits,
        "predictions": {"pred": pred.tolist(), "proba": [None if np.isnan(p) else float(p) for p in proba]},
    }


def both_readouts(
    splits: dict[str, HarnessSplit], v15: V15Config, readout: ReadoutConfig, seed: int = 0
) -> dict[str, Any]:
    """Both readouts on one harness folder's train / test phases, with what they were fitted on."""
    train, test = splits["train"], splits["test"]
    out = {
        "train_trials": len(train.filenames),
        "test_trials": len(test.filenames),
        "feature_width": int(train.flat.shape[1]),
        "all_scenarios": all_scenario_readout(train, test, v15, readout.bootstrap, seed),
    }
    if v15.per_scenario:
        out["per_scenario"] = per_scenario_readout(train, test, readout, seed)
    out["test_filenames"] = list(test.filenames)
    return out
