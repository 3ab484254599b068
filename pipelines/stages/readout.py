"""Stage 5: per scenario, fit readouts on the readout split and score them on the test split.

Readouts (family / kind / variant):
  vdt, pixels, objects, vdt-objects /linear   physopt: StandardScaler (+ PCA) + LogisticRegression, C and PCA
                                              dimension by 5-fold CV, 50/50 undersampled
  slots, pixcells, objects, vdt-objects /relational   SlotFormer-style pairwise readout; epoch and threshold
                                              picked on a validation part (>= 30%) of the readout split
Everything is chosen on the readout split. Test labels are read by ``score`` only, after every prediction is
made (``predict_scenario`` gets the test features without labels), so no choice can depend on them.
``comparisons``: per readout, simulated - observed and simulated - copy-last test accuracy with paired bootstrap
intervals, per scenario and over the pooled test trials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from physion.atomic import write_json_atomic
from pipelines.config.physion_run import VARIANTS, ReadoutConfig
from pipelines.readout_models.linear import LinearReadout, fit_linear_readout
from pipelines.readout_models.metrics import accuracy_ci, paired_difference_ci, roc_auc
from pipelines.readout_models.relational import RelationalFit, fit_relational_readout, split_validation
from pipelines.stages.context import RunContext
from pipelines.stages.layout import feature_key, features_file, predictions_file, readout_results

log = logging.getLogger(__name__)
CONTRASTS = (("simulated", "observed"), ("simulated", "copy-last"))  # (a, b): accuracy of a minus b


@dataclass
class FeatureSet:
    names: list[str]
    arrays: dict[str, np.ndarray]  # "<family>_<variant>" -> (n, ...)
    labels: np.ndarray | None  # None for test data until scoring


def load_features(ctx: RunContext, split: str, scenario: str, with_labels: bool) -> FeatureSet:
    path = features_file(ctx, split, scenario)
    with np.load(path) as f:
        arrays = {k: f[k].astype(np.float32) for k in f.files if k not in ("names", "labels")}
        names = [str(n) for n in f["names"]]
        labels = f["labels"].astype(np.int64) if with_labels else None
    return FeatureSet(names, arrays, labels)


def load_labels(ctx: RunContext, split: str, scenario: str) -> np.ndarray:
    """The labels alone (an npz member is read only when asked for, so the features are not loaded again)."""
    with np.load(features_file(ctx, split, scenario)) as f:
        return f["labels"].astype(np.int64)


def predict_scenario(
    train: FeatureSet, test: FeatureSet, cfg: ReadoutConfig, seed: int, progress: bool = False
) -> dict[str, dict[str, Any]]:
    """Fit every readout on ``train`` and predict ``test`` (features only) -> {readout: {proba, pred, fit}}."""
    if test.labels is not None:
        raise ValueError("predict_scenario must not be given test labels")
    split = split_validation(train.labels, cfg.validation_fraction, seed)
    jobs = [(family, kind, variant) for family, kind in cfg.pairs for variant in VARIANTS]
    return {
        f"{family}/{kind}/{variant}": predict_readout(train, test, split, family, kind, variant, cfg, seed)
        for family, kind, variant in tqdm(jobs, desc="readouts", leave=False, disable=not progress)
    }


def predict_readout(
    train: FeatureSet,
    test: FeatureSet,
    split: tuple[np.ndarray, np.ndarray],
    family: str,
    kind: str,
    variant: str,
    cfg: ReadoutConfig,
    seed: int,
) -> dict[str, Any]:
    """One readout of ``predict_scenario``: fitted on ``train`` (relational: on the (train, validation) indices
    ``split``), then {proba, pred, fit} on ``test``."""
    key = feature_key(family, kind, variant)
    fit = fit_readout(kind, train.arrays[key], train.labels, split, cfg, seed)
    proba, pred = fit.proba_and_labels(test.arrays[key])
    return {"proba": proba, "pred": pred, "fit": fit.to_dict()}


def fit_readout(
    kind: str, X: np.ndarray, labels: np.ndarray, split: tuple[np.ndarray, np.ndarray], cfg: ReadoutConfig, seed: int
) -> LinearReadout | RelationalFit:
    """A ``kind`` (linear or relational) readout fitted on features ``X`` with ``labels``; the relational one on
    the (train, validation) indices ``split``."""
    if kind == "linear":
        return fit_linear_readout(X, labels, seed=seed, **cfg.linear_kwargs())
    train_idx, val_idx = split
    r = cfg.relational
    return fit_relational_readout(
        X[train_idx],
        labels[train_idx],
        X[val_idx],
        labels[val_idx],
        hidden=r.hidden,
        epochs=r.epochs,
        lr=r.lr,
        batch_size=r.batch_size,
        weight_decay=r.weight_decay,
        seed=seed,
        min_steps=r.min_steps,
    )


def score(predictions: dict[str, dict[str, Any]], labels: np.ndarray, cfg: ReadoutConfig, seed: int) -> dict:
    return {
        name: {
            **accuracy_ci(labels, p["pred"], n_boot=cfg.bootstrap, seed=seed),
            "auc": roc_auc(labels, p["proba"]),
            "fit": p["fit"],
        }
        for name, p in predictions.items()
    }


def contrasts(labels: np.ndarray, preds: dict[str, np.ndarray], cfg: ReadoutConfig, seed: int) -> dict:
    """{"<family>/<kind>": {"simulated-observed": {...}, "simulated-copy-last": {...}}} from test ``preds``
    ("<family>/<kind>/<variant>" -> (n,) labels); every contrast resamples the same trials (same seed)."""
    out = {}
    for family, kind in cfg.pairs:
        name = f"{family}/{kind}"
        if all(f"{name}/{v}" in preds for pair in CONTRASTS for v in pair):
            out[name] = {
                f"{a}-{b}": paired_difference_ci(
                    labels, preds[f"{name}/{a}"], preds[f"{name}/{b}"], n_boot=cfg.bootstrap, seed=seed
                )
                for a, b in CONTRASTS
            }
    return out


def pooled(labels: list[np.ndarray], preds: list[dict[str, np.ndarray]], cfg: ReadoutConfig, seed: int) -> dict:
    """Accuracy (with interval) of every readout and the contrasts over the test trials of all scenarios
    together (each scenario's own fitted readouts)."""
    y = np.concatenate(labels)
    joined = {k: np.concatenate([p[k] for p in preds]) for k in preds[0]}
    return {
        "test_trials": int(len(y)),
        "test_positive": int(y.sum()),
        "readouts": {k: accuracy_ci(y, p, n_boot=cfg.bootstrap, seed=seed) for k, p in joined.items()},
        "comparisons": contrasts(y, joined, cfg, seed),
    }


def run(ctx: RunContext) -> dict[str, Any]:
    c = ctx.config
    train_split, test_split = ctx.splits
    results = {}
    all_labels, all_preds = [], []
    for scenario in tqdm(ctx.scenario_names(), desc="readout", disable=not ctx.progress):
        train = load_features(ctx, train_split, scenario, with_labels=True)
        test = load_features(ctx, test_split, scenario, with_labels=False)
        predictions = predict_scenario(train, test, c.readout, c.seed, progress=ctx.progress)
        labels = load_labels(ctx, test_split, scenario)  # only now, for scoring
        scores = score(predictions, labels, c.readout, c.seed)
        preds = {k: p["pred"] for k, p in predictions.items()}
        results[scenario] = {
            "readout_trials": len(train.names),
            "readout_positive": int(train.labels.sum()),
            "test_trials": len(test.names),
            "test_positive": int(labels.sum()),
            "readouts": scores,
            "comparisons": contrasts(labels, preds, c.readout, c.seed),
        }
        all_labels.append(labels)
        all_preds.append(preds)
        write_json_atomic(
            predictions_file(ctx, scenario),
            {
                "names": test.names,
                **{k: {"proba": p["proba"].tolist(), "pred": p["pred"].tolist()} for k, p in predictions.items()},
            },
        )
        best = max(scores.items(), key=lambda kv: kv[1]["accuracy"])
        log.info(
            "%s: best readout %s accuracy %.3f [%.3f, %.3f]",
            scenario,
            best[0],
            best[1]["accuracy"],
            best[1]["low"],
            best[1]["high"],
        )
    write_json_atomic(
        readout_results(ctx),
        {
            "scenarios": results,
            "pooled": pooled(all_labels, all_preds, c.readout, c.seed),
            "splits": {"fit": train_split, "test": test_split},
        },
    )
    log.info("readout results: %s", readout_results(ctx))
    return {"results": str(readout_results(ctx))}
