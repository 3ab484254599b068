"""Readout models and metrics: the physopt linear readout, the relational readout, bootstrap accuracy and AUC."""

import inspect
import json
import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipelines.readout_models import (
    RelationalReadout,
    accuracy_ci,
    fit_linear_readout,
    fit_relational_readout,
    paired_difference_ci,
    roc_auc,
    split_validation,
)
from pipelines.readout_models.linear import reduction_candidates, undersample_indices
from pipelines.readout_models.relational import best_threshold


def gaussian_blobs(n_pos, n_neg, f=5, sep=3.0, seed=0):
    """Two well separated Gaussian classes: positives shifted by ``sep`` along every feature."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_pos + n_neg, f))
    y = np.r_[np.ones(n_pos, dtype=int), np.zeros(n_neg, dtype=int)]
    X[y == 1] += sep
    return X, y


# ----------------------------------------------------------------------------------------------------------------
# Linear readout
# ----------------------------------------------------------------------------------------------------------------


def test_linear_readout_separates_separable_data():
    X, y = gaussian_blobs(60, 140)
    X_test, y_test = gaussian_blobs(100, 100, seed=1)
    grid = [1e-8, 1e-4, 1e-2, 1.0, 100.0]
    readout = fit_linear_readout(X, y, c_grid=grid)
    assert readout.cv_accuracy > 0.97 and readout.best_c in grid
    assert (readout.predict(X_test) == y_test).mean() > 0.97
    assert readout.n_train == 120 and readout.n_features == 5
    proba = readout.predict_proba(X_test)
    assert proba.shape == (200,) and ((proba > 0.5) == readout.predict(X_test)).all()
    summary = json.loads(json.dumps(readout.to_dict()))
    assert summary["best_c"] == readout.best_c and summary["c_grid"] == grid


def test_cross_validation_picks_a_c_that_needs_large_weights():
    # x1 = class signal + shared noise, x2 = the same noise: x1 - x2 separates perfectly, but a tiny C only
    # follows the class-mean difference (x1 alone, ~70% accurate), so CV must move to a larger C.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    noise = rng.normal(0, 3, 300)
    X = np.c_[1.5 * (2 * y - 1) + noise, noise, rng.normal(size=300)]
    grid = [1e-8, 1e-4, 1e-2, 1.0, 100.0]
    readout = fit_linear_readout(X, y, c_grid=grid)
    assert readout.best_c in grid and readout.best_c >= 1e-2
    assert readout.cv_accuracy > 0.95
    assert fit_linear_readout(X, y, c_grid=[1e-8]).cv_accuracy < 0.8


def test_undersampling_keeps_all_minority_and_as_many_majority():
    y = np.r_[np.ones(30, dtype=int), np.zeros(70, dtype=int)]
    keep = undersample_indices(y, seed=0)
    assert np.bincount(y[keep]).tolist() == [30, 30]
    assert set(range(30)) <= set(keep.tolist())  # every minority trial stays
    assert (keep == undersample_indices(y, seed=0)).all()
    assert not (keep == undersample_indices(y, seed=1)).all()  # the seed picks which majority trials


def test_tiny_c_predicts_the_training_prevalence():
    # With C -> 0 the weights vanish and only the (unpenalised) intercept is left: the probability is the class
    # share of the fitted data, 0.5 after undersampling, 0.2 without it.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 4)), np.r_[np.ones(40, dtype=int), np.zeros(160, dtype=int)]
    X_test = rng.normal(size=(50, 4)) * 3
    balanced = fit_linear_readout(X, y, c_grid=[1e-8])
    assert balanced.n_train == 80
    np.testing.assert_allclose(balanced.predict_proba(X_test), 0.5, atol=1e-4)
    raw = fit_linear_readout(X, y, c_grid=[1e-8], undersample=False)
    assert raw.n_train == 200
    np.testing.assert_allclose(raw.predict_proba(X_test), 0.2, atol=1e-4)
    # a large C on the same features gives probabilities that vary from trial to trial
    assert fit_linear_readout(X, y, c_grid=[100.0]).predict_proba(X_test).std() > 0.05


@pytest.mark.parametrize(
    "case, message",
    [
        ("one_class", "both classes"),
        ("too_few", "at least 5"),
        ("nan", "NaN or inf"),
        ("inf", "NaN or inf"),
        ("shape", "must have shape"),
        ("labels", "0/1"),
    ],
)
def test_linear_readout_rejects_bad_training_data(case, message):
    X, y = gaussian_blobs(20, 20)
    if case == "one_class":
        y = np.ones_like(y)
    elif case == "too_few":
        X, y = X[16:], y[16:]  # 4 positives for 5 folds
    elif case == "nan":
        X[3, 1] = np.nan
    elif case == "inf":
        X[7, 0] = np.inf
    elif case == "shape":
        y = y[:-1]
    elif case == "labels":
        y = y * 2
    with pytest.raises(ValueError, match=message):
        fit_linear_readout(X, y, c_grid=[1.0])


def test_pca_candidates_stay_below_the_cv_fold_and_drop_raw_features_that_outnumber_trials():
    assert reduction_candidates(40, 8192, 5, [4, 8, 16, 32, 64], 2.0) == [4, 8, 16]  # folds train on 32 trials
    assert reduction_candidates(40, 74, 5, [4, 8, 16, 32], 2.0) == [4, 8, 16, None]  # 74 <= 2 x 40: raw stays
    assert reduction_candidates(10, 500, 5, [16], 2.0) == [None]  # nothing fits: raw


def test_linear_readout_with_pca_finds_a_signal_in_many_features():
    # 40 trials, 2000 features: a few strong latent factors, one of which is the label; CV picks a PCA
    # dimension (the raw features are not a candidate) and the test accuracy stays high.
    rng = np.random.default_rng(0)

    def trials(n, seed):
        r = np.random.default_rng(seed)
        y = r.integers(0, 2, n)
        factors = np.c_[2.0 * (2 * y - 1) + r.normal(size=n), r.normal(size=(n, 3)) * 2]
        return factors @ mixing + r.normal(size=(n, 2000)) * 0.5, y

    mixing = rng.normal(size=(4, 2000))
    X, y = trials(40, 1)
    X_test, y_test = trials(200, 2)
    readout = fit_linear_readout(X, y, c_grid=[1e-2, 1.0], pca_dims=[4, 8, 16, 32])
    assert readout.reduction in (4, 8, 16) and readout.to_dict()["pca_dim"] == readout.reduction
    assert (readout.predict(X_test) == y_test).mean() > 0.85
    assert fit_linear_readout(X, y, c_grid=[1.0]).reduction is None  # no pca_dims: physopt as it was


def test_linear_readout_search_is_gridsearchcvs():
    # The search fits the scaler and each PCA once per fold, not once per C: it must choose and refit exactly as
    # GridSearchCV over the whole Pipeline does (every candidate: PCA 2, 4 and the raw features), to the last bit.
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    X = rng.normal(size=(60, 3)) @ rng.normal(size=(3, 40)) + rng.normal(size=(60, 40))
    X[:, :3] += 0.8 * (2 * y[:, None] - 1)
    X_test = rng.normal(size=(30, 40))
    grid = [1e-4, 1e-2, 1.0, 100.0]
    pipe = Pipeline([("scale", StandardScaler()), ("reduce", "passthrough"), ("logreg", LogisticRegression())])
    candidates = [{"reduce": [r], "logreg__C": grid} for r in (PCA(2, random_state=0), PCA(4, random_state=0))]
    search = GridSearchCV(
        pipe,
        [*candidates, {"reduce": ["passthrough"], "logreg__C": grid}],
        scoring="accuracy",
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0),
    )
    keep = undersample_indices(y, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X[keep], y[keep])
    for n_jobs in (1, 2):
        readout = fit_linear_readout(X, y, c_grid=grid, pca_dims=[2, 4], max_feature_ratio=2.0, n_jobs=n_jobs)
        reduce = search.best_params_["reduce"]
        assert readout.reduction == (None if reduce == "passthrough" else reduce.n_components)
        assert readout.best_c == search.best_params_["logreg__C"]
        assert readout.cv_accuracy == search.best_score_
        assert np.array_equal(readout.predict_proba(X_test), search.predict_proba(X_test)[:, 1])
        proba, pred = readout.proba_and_labels(X_test)
        assert np.array_equal(proba, readout.predict_proba(X_test)) and np.array_equal(pred, search.predict(X_test))


def test_paired_difference_hand_examples_and_pairing():
    y = np.array([1, 0, 1, 0])
    same = paired_difference_ci(y, [1, 0, 0, 0], [1, 0, 0, 0])
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0, "n": 4}  # identical predictions: no spread at all
    d = paired_difference_ci(y, [1, 0, 1, 0], [0, 1, 0, 1])
    assert (d["difference"], d["low"], d["high"]) == (1.0, 1.0, 1.0)
    # two readouts that differ on 10 of 200 trials: the paired interval is far narrower than two unpaired ones
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    a = np.where(rng.random(200) < 0.7, y, 1 - y)
    b = a.copy()
    b[:10] = 1 - b[:10]
    pair = paired_difference_ci(y, a, b, seed=1)
    assert pair["difference"] == pytest.approx((a == y).mean() - (b == y).mean())
    single = accuracy_ci(y, a, seed=1)
    assert pair["high"] - pair["low"] < 0.5 * (single["high"] - single["low"])
    assert pair["low"] <= pair["difference"] <= pair["high"]


def test_linear_readout_never_sees_test_labels():
    # Structural: the fitting function takes training arrays and options only.
    params = list(inspect.signature(fit_linear_readout).parameters)
    assert params[:2] == ["X", "y"] and not any("test" in p for p in params)
    X, y = gaussian_blobs(50, 50, sep=0.7)
    X_test, y_test = gaussian_blobs(40, 40, sep=0.7, seed=5)
    first = fit_linear_readout(X, y, c_grid=[1e-2, 1.0])
    pred = first.predict(X_test)
    # whatever labels the test set carries (a permutation), the predictions are the same; only the score moves
    y_perm = np.random.default_rng(0).permutation(y_test)
    again = fit_linear_readout(X, y, c_grid=[1e-2, 1.0])
    assert (again.predict(X_test) == pred).all()
    assert (pred == y_test).mean() != (pred == y_perm).mean()


# ----------------------------------------------------------------------------------------------------------------
# Relational readout
# ----------------------------------------------------------------------------------------------------------------


def naive_relational(model: RelationalReadout, entities: torch.Tensor) -> torch.Tensor:
    """The readout written as loops over ordered pairs with an explicit concatenation, as a reference."""
    b, t, k, _ = entities.shape
    frames = []
    for f in range(t):
        pair_codes = [
            model.pair(
                model.first(
                    torch.cat(
                        [entities[:, f, i], entities[:, f, j], (entities[:, f, i] - entities[:, f, j]).abs()], dim=-1
                    )
                )
            )
            for i in range(k)
            for j in range(k)
            if i != j
        ]
        frames.append(model.head(torch.stack(pair_codes, 1).amax(1)).squeeze(-1))
    return torch.stack(frames, 1).amax(1)


def test_relational_readout_matches_pair_loop_and_is_order_invariant():
    torch.manual_seed(0)
    model = RelationalReadout(entity_dim=5, hidden=16)
    e = torch.randn(3, 4, 5, 5)
    with torch.no_grad():
        out = model(e)
        assert out.shape == (3,)
        torch.testing.assert_close(out, naive_relational(model, e))
        # all ordered pairs and a max over time: the order of entities and of frames does not matter
        torch.testing.assert_close(model(e[:, :, torch.randperm(5)]), out)
        torch.testing.assert_close(model(e[:, torch.randperm(4)]), out)
    with pytest.raises(ValueError, match="at least 2 entities"):
        model(torch.randn(2, 4, 1, 5))


def close_pair_task(n, seed, T=3, K=3):
    """Entities (n, T, K, 3): a 2-D position in [0, 1]^2 plus a noise feature. Label: some pair of entities is
    closer than the median minimum distance at some frame; no single entity's features reveal it."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 1, (n, T, K, 2))
    dist = np.linalg.norm(pos[:, :, :, None] - pos[:, :, None], axis=-1) + 10 * np.eye(K)
    min_dist = dist.reshape(n, -1).min(1)
    return np.concatenate([pos, rng.normal(size=(n, T, K, 1))], -1).astype(np.float32), min_dist


@pytest.fixture(scope="module")
def relational_data():
    E, min_dist = close_pair_task(1300, seed=0)
    y = (min_dist < np.median(min_dist)).astype(int)
    train_idx, val_idx = split_validation(y[:1000], 0.2, seed=0)
    return {"train": (E[train_idx], y[train_idx]), "val": (E[val_idx], y[val_idx]), "test": (E[1000:], y[1000:])}


@pytest.fixture(scope="module")
def relational_fit(relational_data):
    return fit_relational_readout(*relational_data["train"], *relational_data["val"], epochs=100, lr=3e-3, seed=0)


def test_relational_readout_learns_a_pairwise_relation(relational_data, relational_fit):
    fit = relational_fit
    E_test, y_test = relational_data["test"]
    assert fit.val_accuracy > 0.85
    assert (fit.predict(E_test) == y_test).mean() > 0.85
    assert fit.val_history[fit.best_epoch - 1] == fit.val_accuracy == max(fit.val_history)
    assert ((fit.predict_proba(E_test) > fit.threshold) == fit.predict(E_test)).all()
    proba, pred = fit.proba_and_labels(E_test)
    assert np.array_equal(proba, fit.predict_proba(E_test)) and np.array_equal(pred, fit.predict(E_test))
    assert json.loads(json.dumps(fit.to_dict()))["best_epoch"] == fit.best_epoch
    # the same trials as flat per-entity features: a linear readout stays near chance, the task needs pairs
    E_train, y_train = relational_data["train"]
    linear = fit_linear_readout(E_train.reshape(len(E_train), -1), y_train)
    assert (linear.predict(E_test.reshape(len(E_test), -1)) == y_test).mean() < 0.65


def test_relational_selection_uses_validation_only(relational_data, relational_fit):
    params = list(inspect.signature(fit_relational_readout).parameters)
    assert params[:4] == ["E_train", "y_train", "E_val", "y_val"] and not any("test" in p for p in params)
    E_val, y_val = relational_data["val"]
    flipped = fit_relational_readout(*relational_data["train"], E_val, 1 - y_val, epochs=100, lr=3e-3, seed=0)
    # validation labels never touch the gradient steps: identical training trajectory ...
    assert flipped.train_loss == relational_fit.train_loss
    # ... but the epoch and threshold chosen from them change, and so does the reported validation accuracy
    assert (flipped.best_epoch, flipped.threshold) != (relational_fit.best_epoch, relational_fit.threshold)
    assert flipped.val_accuracy < 0.65
    # standardisation uses training statistics only
    E_train = relational_data["train"][0]
    torch.testing.assert_close(relational_fit.mean, torch.as_tensor(E_train.reshape(-1, 3).mean(0)))


def test_relational_readout_learns_a_pairwise_rule_from_30_trials():
    """A readout split's size: 30 training trials (and 13 for validation) of two entities (a 2-D position and an
    identity flag) over 4 frames; label: they come closer than the median distance at some frame. The schedule
    gives ~4 steps per epoch and >= 400 steps, and held-out trials score well above chance."""
    accuracies = []
    for seed in range(4):
        E, min_dist = close_pair_task(343, seed=seed, T=4, K=2)
        E[..., 2] = [0, 1]  # identity instead of noise, as object entities carry
        y = (min_dist < np.median(min_dist)).astype(int)
        fit = fit_relational_readout(
            E[:30], y[:30], E[30:43], y[30:43], hidden=32, epochs=30, lr=3e-3, min_steps=400, seed=0
        )
        assert fit.config["batch_size"] == 8 and fit.config["epochs"] == 100 and len(fit.train_loss) == 100
        assert fit.train_loss[-1] < 0.5 * fit.train_loss[0]  # it trains: the old schedule made 30 steps in all
        accuracies.append((fit.predict(E[43:]) == y[43:]).mean())
    assert np.mean(accuracies) > 0.72 and min(accuracies) > 0.6, accuracies


def test_relational_ties_go_to_the_lower_validation_loss(relational_data, relational_fit):
    fit = relational_fit
    tied = [e for e, acc in enumerate(fit.val_history) if acc == fit.val_accuracy]
    assert fit.val_loss[fit.best_epoch - 1] == min(fit.val_loss[e] for e in tied)


def test_schedule_sizes_batches_to_the_data():
    from pipelines.readout_models.relational import schedule

    assert schedule(26, 64, 30, 400) == (7, 100)  # 4 steps per epoch, stretched to 400 steps
    assert schedule(1000, 64, 30, 400) == (64, 30)  # plenty of data: the configured batch and epochs
    assert schedule(26, 64, 30, 0) == (7, 30)


def test_best_threshold_hand_examples():
    assert best_threshold(np.array([0.1, 0.4, 0.6, 0.9]), np.array([0, 0, 1, 1])) == (0.5, 1.0)
    assert best_threshold(np.array([0.1, 0.2, 0.3, 0.8]), np.array([0, 0, 1, 1])) == (0.25, 1.0)
    assert best_threshold(np.array([0.2, 0.7]), np.array([0, 0])) == (1.0, 1.0)
    # thresholds 0, 0.5 and 0.575 all give 2/3; the tie goes to the one closest to 0.5
    t, acc = best_threshold(np.array([0.3, 0.35, 0.8]), np.array([1, 0, 1]))
    assert t == 0.5 and acc == pytest.approx(2 / 3)


def test_split_validation_is_stratified_and_seeded():
    y = np.r_[np.ones(40, dtype=int), np.zeros(60, dtype=int)]
    train_idx, val_idx = split_validation(y, 0.25, seed=3)
    assert np.bincount(y[val_idx]).tolist() == [15, 10]
    assert sorted(np.r_[train_idx, val_idx].tolist()) == list(range(100))
    again, _ = split_validation(y, 0.25, seed=3)
    other, _ = split_validation(y, 0.25, seed=4)
    assert (again == train_idx).all() and not (other == train_idx).all()
    # a tiny class still lands on both sides
    _, val_small = split_validation(np.r_[1, 1, np.zeros(20, dtype=int)], 0.1, seed=0)
    assert set(np.r_[1, 1, np.zeros(20, dtype=int)][val_small]) == {0, 1}


# ----------------------------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------------------------


def test_accuracy_ci_hand_examples():
    assert accuracy_ci([1, 0, 1, 1], [1, 0, 1, 1]) == {"accuracy": 1.0, "low": 1.0, "high": 1.0, "n": 4}
    assert accuracy_ci([1, 0], [0, 1]) == {"accuracy": 0.0, "low": 0.0, "high": 0.0, "n": 2}
    # one of two correct: resampled accuracies are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4
    wide = accuracy_ci([1, 1], [1, 0], n_boot=20000)
    assert (wide["accuracy"], wide["low"], wide["high"]) == (0.5, 0.0, 1.0)
    narrow = accuracy_ci([1, 1], [1, 0], n_boot=20000, level=0.4)  # the 30% and 70% quantiles
    assert (narrow["low"], narrow["high"]) == (0.5, 0.5)


def test_accuracy_ci_contains_accuracy_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    widths = {}
    for n in (50, 800):
        y = rng.integers(0, 2, n)
        pred = y.copy()
        pred[: n // 5] = 1 - pred[: n // 5]  # exactly 80% correct
        ci = accuracy_ci(y, pred, seed=1)
        assert ci["accuracy"] == 0.8 and ci["low"] < 0.8 < ci["high"] and ci["n"] == n
        widths[n] = ci["high"] - ci["low"]
        assert accuracy_ci(y, pred, seed=1) == ci  # seeded
    # the interval scales like 1 / sqrt(n): 16x the trials, about a quarter of the width
    assert 0.15 < widths[800] / widths[50] < 0.4
    assert widths[50] == pytest.approx(2 * 1.96 * np.sqrt(0.8 * 0.2 / 50), rel=0.25)
    with pytest.raises(ValueError, match="differ in length"):
        accuracy_ci([0, 1], [0])


def test_roc_auc_hand_example_and_single_class():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of the 4 pairs are ordered correctly
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5  # a tie counts one half
    assert roc_auc([1, 1, 1], [0.2, 0.4, 0.9]) is None
