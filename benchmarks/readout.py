"""Readout-stage speed: every readout of one scenario fitted by the stage's code (``predict_readout``) and by the
previous code path (copied below: GridSearchCV over a Pipeline that refits the scaler and PCA for every C, and
a second model pass for the relational labels), interleaved readout by readout, with the predictions compared.

The features are synthetic but shaped as the config's extract stage makes them (feature dimensions from the VDT
width, pool grid, time bins and pixel size; 12 observed / 30 full frames at frame offset 4 for the relational
entities; float16 where the stage stores half), with a label signal so the fits have something to find; the
trial counts are the config's readout and test counts. Which path runs first alternates per readout, so load
from other processes on a shared machine falls on both alike; the ratio of the summed times is the figure to read.
Run from the repository root:
``OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/readout.py [--scenarios 1] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.parallel import Parallel, delayed

from physion.trial import OBSERVED_FRAMES
from pipelines.config.loading import load_config
from pipelines.config.physion_run import VARIANTS, PhysionRunConfig
from pipelines.readout_models.linear import (
    DEFAULT_C_GRID,
    LinearReadout,
    check_training_data,
    reduction_candidates,
    undersample_indices,
)
from pipelines.readout_models.relational import split_validation
from pipelines.stages.extract import PIXEL_CELLS
from pipelines.stages.layout import feature_key
from pipelines.stages.readout import FeatureSet, fit_readout, predict_readout
from vdt.model import SIZES


def old_fit_linear_readout(
    X,
    y,
    *,
    c_grid=None,
    cv_folds=5,
    max_iter=200,
    undersample=True,
    seed=0,
    n_jobs=1,
    pca_dims=(),
    max_feature_ratio=2.0,
) -> LinearReadout:
    """The linear readout as it was fitted before: GridSearchCV over scaler + PCA + logistic regression."""
    c_grid = DEFAULT_C_GRID if c_grid is None else np.asarray(c_grid, dtype=np.float64).ravel()
    X, y = check_training_data(X, y, min_per_class=cv_folds)
    if undersample:
        keep = undersample_indices(y, seed)
        X, y = X[keep], y[keep]
    dims = reduction_candidates(len(y), X.shape[1], cv_folds, pca_dims, max_feature_ratio) if len(pca_dims) else [None]
    reducers = [PCA(d, random_state=seed) if d else "passthrough" for d in dims]
    pipe = Pipeline(
        [("scale", StandardScaler()), ("reduce", "passthrough"), ("logreg", LogisticRegression(max_iter=max_iter))]
    )
    search = GridSearchCV(
        pipe,
        [{"reduce": [r], "logreg__C": list(c_grid)} for r in reducers],
        scoring="accuracy",
        n_jobs=n_jobs,
        refit=True,
        cv=StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    chosen = search.best_params_["reduce"]
    sizes = {"n_train": int(len(y)), "n_features": int(X.shape[1]), "c_grid": [float(c) for c in c_grid]}
    return LinearReadout(
        estimator=search.best_estimator_,
        best_c=float(search.best_params_["logreg__C"]),
        cv_accuracy=float(search.best_score_),
        reduction=None if chosen == "passthrough" else int(chosen.n_components),
        **sizes,
        **{"cv_folds": cv_folds, "undersample": undersample, "seed": seed},
    )


def old_predict_readout(train, test, split, family, kind, variant, cfg, seed) -> dict:
    """``predict_readout`` as it was: the old linear fit; relational proba and labels from two model passes."""
    X, X_test = train.arrays[feature_key(family, kind, variant)], test.arrays[feature_key(family, kind, variant)]
    if kind == "linear":
        fit = old_fit_linear_readout(X, train.labels, seed=seed, **cfg.linear_kwargs())
        return {"proba": fit.predict_proba(X_test), "pred": fit.predict(X_test), "fit": fit.to_dict()}
    fit = fit_readout(kind, X, train.labels, split, cfg, seed)  # the relational fit itself is unchanged
    pred = (fit.predict_proba(X_test) > fit.threshold).astype(np.int64)
    return {"proba": fit.predict_proba(X_test), "pred": pred, "fit": fit.to_dict()}


def feature_shapes(c: PhysionRunConfig) -> dict[str, tuple[tuple[int, ...], bool]]:
    """feature_key -> (per-trial shape, stored as float16) as the extract stage writes them for config ``c``."""
    e, width = c.extract, SIZES[c.model.size]["hidden_size"]
    frames = {
        "observed": len(range(0, OBSERVED_FRAMES, c.model.frame_offset)),
        **{v: len(range(0, c.data.num_frames, c.model.frame_offset)) for v in VARIANTS if v != "observed"},
    }
    bins, pix = e.time_bins, e.pixel_resolution
    linear = {
        "vdt": (bins * e.pool_grid**2 * width,),
        "pixels": (bins * 3 * pix**2,),
        "objects": (bins * 18 + 6 + bins + 8,),
        "vdt-objects": ((bins * 3 + 2) * (width + 1),),
    }
    relational = {  # (K entities, entity dim, float16)
        "pixcells": (PIXEL_CELLS**2, 3 * (pix // PIXEL_CELLS) ** 2 + 2, True),
        "objects": (2, 10, False),
        "vdt-objects": (3, width + 4, True),
    }
    out = {}
    for variant in VARIANTS:
        out.update({feature_key(f, "linear", variant): (s, False) for f, s in linear.items()})
        out.update(
            {feature_key(f, "relational", variant): ((frames[variant], k, d), h) for f, (k, d, h) in relational.items()}
        )
    return out


def synthetic_features(shapes: dict, n_train: int, n_test: int, seed: int) -> tuple[FeatureSet, FeatureSet]:
    """Readout and test FeatureSets: low-rank features (tokens are correlated) plus noise, with a label signal
    along one latent direction (linear) or in the first entity's features (relational)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_train + n_test)
    sign = 2.0 * labels - 1
    arrays = {}
    for key, (shape, half) in shapes.items():
        if len(shape) == 1:
            z = rng.normal(size=(len(labels), 12))
            z[:, 0] += 0.8 * sign
            x = z @ rng.normal(size=(12, shape[0])) + 0.5 * rng.normal(size=(len(labels), shape[0]))
        else:
            x = rng.normal(size=(len(labels), *shape))
            x[:, :, 0, :4] += 0.4 * sign[:, None, None]
        arrays[key] = x.astype(np.float16 if half else np.float32).astype(np.float32)  # as load_features reads
    names = [f"trial_{i:04d}" for i in range(len(labels))]
    train = FeatureSet(names[:n_train], {k: a[:n_train] for k, a in arrays.items()}, labels[:n_train])
    test = FeatureSet(names[n_train:], {k: a[n_train:] for k, a in arrays.items()}, None)
    return train, test


def written(prediction: dict) -> str:
    """What the stage writes of one readout to readout/predictions/<scenario>.json."""
    return json.dumps({"proba": prediction["proba"].tolist(), "pred": prediction["pred"].tolist()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/quickstart.yaml", help="shapes, counts and readout settings")
    parser.add_argument("--scenarios", type=int, default=1, help="synthetic scenarios (each: every readout)")
    parser.add_argument("--n-jobs", type=int, default=None, help="readout.n_jobs (default: the config's)")
    parser.add_argument("--readouts", nargs="+", default=None, help="'<family>/<kind>' (default: the config's)")
    parser.add_argument("--json", type=str, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    overrides = [f"readout.n_jobs={args.n_jobs}"] if args.n_jobs else []
    overrides += [f"readout.readouts={json.dumps(args.readouts)}"] if args.readouts else []
    c = load_config(args.config, PhysionRunConfig, overrides)
    cfg, seed = c.readout, c.seed
    shapes = feature_shapes(c)
    counts = c.data.counts
    print(
        f"{args.config}: {args.scenarios} scenario(s), {counts['readout']} readout / {counts['test']} test trials, "
        f"n_jobs {cfg.n_jobs}, {os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"load average {os.getloadavg()[0]:.2f} before the run"
    )
    print(f"{'readout':>32} {'shape':>14} {'old s':>7} {'new s':>7} {'ratio':>6} identical")
    paths = {"old": old_predict_readout, "new": predict_readout}
    # outside the timing: start the CV workers, and let AdamW import torch._dynamo (seconds, once per process)
    Parallel(n_jobs=cfg.n_jobs)(delayed(abs)(i) for i in range(cfg.n_jobs))
    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])
    rows = []
    for scenario in range(args.scenarios):
        train, test = synthetic_features(shapes, counts["readout"], counts["test"], seed=1000 + scenario)
        split = split_validation(train.labels, cfg.validation_fraction, seed)
        for family, kind in cfg.pairs:
            for variant in VARIANTS:
                order = list(paths) if len(rows) % 2 == 0 else list(paths)[::-1]
                seconds, outputs = {}, {}
                for name in order:
                    start = time.perf_counter()
                    outputs[name] = paths[name](train, test, split, family, kind, variant, cfg, seed)
                    seconds[name] = time.perf_counter() - start
                old, new = outputs["old"], outputs["new"]
                same = written(old) == written(new) and old["fit"] == new["fit"]
                shape = shapes[feature_key(family, kind, variant)][0]
                rows.append(
                    {
                        "scenario": scenario,
                        "readout": f"{family}/{kind}/{variant}",
                        "shape": list(shape),
                        "old_s": round(seconds["old"], 3),
                        "new_s": round(seconds["new"], 3),
                        "identical": same,
                    }
                )
                print(
                    f"{family + '/' + kind + '/' + variant:>32} {'x'.join(map(str, shape)):>14} {seconds['old']:>7.2f} "
                    f"{seconds['new']:>7.2f} {seconds['old'] / seconds['new']:>5.2f}x {same}"
                )
    totals = {}
    for kind in ("linear", "relational", "all"):
        picked = [r for r in rows if kind == "all" or r["readout"].split("/")[1] == kind]
        if picked:
            old, new = sum(r["old_s"] for r in picked), sum(r["new_s"] for r in picked)
            totals[kind] = {"old_s": round(old, 2), "new_s": round(new, 2), "ratio": round(old / new, 3)}
            print(f"{kind:>10}: old {old:.1f} s, new {new:.1f} s, ratio {old / new:.2f}x")
    identical = all(r["identical"] for r in rows)
    print(f"predictions identical (as written to predictions/<scenario>.json, and the fit summaries): {identical}")
    if args.json:
        result = {"config": args.config, "n_jobs": cfg.n_jobs, "rows": rows, "totals": totals, "identical": identical}
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
