"""Fréchet distance: closed forms, symmetry, zero for equal statistics, rank-deficient covariances."""

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import ortho_group

from pipelines.genbench.frechet import (
    GaussianStats,
    feature_stats,
    frechet_distance,
    frechet_from_features,
    sqrtm_psd,
    trace_sqrt_product,
)


def stats(mean, cov) -> GaussianStats:
    return GaussianStats(np.asarray(mean, float), np.asarray(cov, float), 100)


def test_diagonal_covariances_closed_form():
    # d^2 = |mu_a - mu_b|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2 when both covariances are diagonal
    a, b = np.array([4.0, 1.0, 9.0]), np.array([1.0, 1.0, 4.0])
    mu_a, mu_b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])
    expected = (0 + 4 + 9) + (1 + 0 + 1)
    assert frechet_distance(stats(mu_a, np.diag(a)), stats(mu_b, np.diag(b))) == pytest.approx(expected, rel=1e-12)


def test_commuting_covariances_closed_form():
    # S_a = Q diag(a) Q^T, S_b = Q diag(b) Q^T commute, so (S_a S_b)^(1/2) = Q diag(sqrt(a b)) Q^T
    q = ortho_group.rvs(6, random_state=0)
    a, b = np.array([1, 2, 3, 4, 5, 6.0]), np.array([6, 1, 0.5, 2, 0.1, 3.0])
    mu = np.arange(6.0)
    expected = float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)) + float(mu @ mu)
    got = frechet_distance(stats(mu, q @ np.diag(a) @ q.T), stats(np.zeros(6), q @ np.diag(b) @ q.T))
    assert got == pytest.approx(expected, rel=1e-10)


def test_symmetric_zero_for_identical_and_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 8)), rng.normal(size=(150, 8)) @ rng.normal(size=(8, 8)) + 1.0
    sx, sy = feature_stats(x), feature_stats(y)
    d = frechet_distance(sx, sy)
    assert d == pytest.approx(frechet_distance(sy, sx), rel=1e-10)
    assert frechet_distance(sx, sx) == pytest.approx(0.0, abs=1e-9)
    # the common formula with a general matrix square root, on a well-conditioned case
    root = scipy.linalg.sqrtm(sx.cov @ sy.cov).real
    reference = np.sum((sx.mean - sy.mean) ** 2) + np.trace(sx.cov + sy.cov - 2 * root)
    assert d == pytest.approx(reference, rel=1e-8)


def test_stats_are_mean_and_unbiased_covariance():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    s = feature_stats(x)
    assert np.allclose(s.mean, [2.0, 4.0]) and s.count == 3
    assert np.allclose(s.cov, [[4.0, 7.0], [7.0, 13.0]])  # sums of products of deviations / (n - 1)


def test_rank_deficient_covariances_are_stable():
    # 10 clips in 64 dimensions: covariances of rank 9. For centred X_a (n_a, F), X_b (n_b, F),
    # Tr (S_a S_b)^(1/2) = nuclear norm of X_b X_a^T / sqrt((n_a - 1)(n_b - 1)): an exact reference from a small SVD.
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(10, 64)), rng.normal(size=(12, 64)) * 2 + 0.5
    sa, sb = feature_stats(xa), feature_stats(xb)
    ca, cb = xa - xa.mean(0), xb - xb.mean(0)
    nuclear = np.linalg.svd(cb @ ca.T, compute_uv=False).sum() / np.sqrt(9 * 11)
    assert trace_sqrt_product(sa.cov, sb.cov) == pytest.approx(nuclear, rel=1e-8)
    expected = np.sum((sa.mean - sb.mean) ** 2) + np.trace(sa.cov) + np.trace(sb.cov) - 2 * nuclear
    assert frechet_from_features(xa, xb) == pytest.approx(expected, rel=1e-8)
    assert frechet_from_features(xa, xa) == pytest.approx(0.0, abs=1e-8 * np.trace(sa.cov))


def test_sqrtm_psd_squares_back_and_refuses_indefinite():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 3))
    cov = a @ a.T  # rank 3 of 5
    root = sqrtm_psd(cov)
    assert np.allclose(root @ root, cov, atol=1e-10) and np.allclose(root, root.T)
    with pytest.raises(ValueError, match="not positive semi-definite"):
        sqrtm_psd(np.diag([1.0, -0.5]))


def test_bad_features_are_refused():
    with pytest.raises(ValueError, match="n >= 2"):
        feature_stats(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="NaN"):
        feature_stats(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="feature sizes differ"):
        frechet_distance(stats([0, 0], np.eye(2)), stats([0, 0, 0], np.eye(3)))
