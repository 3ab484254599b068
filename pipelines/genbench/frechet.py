"""Fréchet distance between Gaussians fitted to two feature sets (FID / FVD):

    d^2 = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

Tr (S_r S_g)^(1/2) is computed as the sum of square roots of the eigenvalues of A = S_r^(1/2) S_g S_r^(1/2), which
has the same eigenvalues as S_r S_g but is symmetric positive semi-definite. Both square roots therefore come from
symmetric eigen-decompositions (numpy.linalg.eigh), real by construction and stable when a covariance is
rank-deficient (fewer clips than feature dimensions), where a general matrix square root (scipy.linalg.sqrtm, which we do not use)
can return large imaginary parts. Eigenvalues within rounding of 0 (below the numerical rank threshold, or negative
within ``tol`` x the largest) are set to 0; a larger negative one means an input that is not a covariance, and
raises. Everything is float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    """mean (F,) and covariance (F, F) of ``count`` feature vectors."""

    mean: np.ndarray
    cov: np.ndarray
    count: int


def feature_stats(features: np.ndarray) -> GaussianStats:
    """Mean and unbiased covariance (divides by n - 1, as numpy.cov) of (n, F) features, float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be (n >= 2, F), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or infinite values")
    return GaussianStats(x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1]), x.shape[0])


def _psd_eigenvalues(matrix: np.ndarray, tol: float, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of a symmetric PSD matrix; eigenvalues at or below its numerical rank threshold
    (size x machine epsilon x the largest, as numpy.linalg.matrix_rank) are exact zeros, so rounding noise in the
    null space of a rank-deficient covariance is not amplified by the square root."""
    sym = (matrix + matrix.T) / 2  # remove rounding asymmetry before eigh, which reads one triangle only
    values, vectors = np.linalg.eigh(sym)
    top = max(float(values.max(initial=0.0)), np.finfo(np.float64).tiny)
    if values.min(initial=0.0) < -tol * top:
        raise ValueError(
            f"{what} is not positive semi-definite: eigenvalue {values.min():.3e} below the tolerance {-tol * top:.3e}"
        )
    rank_floor = len(values) * np.finfo(np.float64).eps * top
    return np.where(values > rank_floor, values, 0.0), vectors


def sqrtm_psd(matrix: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix."""
    values, vectors = _psd_eigenvalues(np.asarray(matrix, dtype=np.float64), tol, "matrix")
    return (vectors * np.sqrt(values)) @ vectors.T


def trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray, tol: float = 1e-8) -> float:
    """Tr (S_a S_b)^(1/2) for PSD S_a, S_b."""
    root_a = sqrtm_psd(cov_a, tol)
    values, _ = _psd_eigenvalues(root_a @ np.asarray(cov_b, dtype=np.float64) @ root_a, tol, "S_a^1/2 S_b S_a^1/2")
    return float(np.sqrt(values).sum())


def frechet_distance(a: GaussianStats, b: GaussianStats, tol: float = 1e-8) -> float:
    """The Fréchet distance (squared, as FID/FVD report it) between two fitted Gaussians."""
    if a.mean.shape != b.mean.shape or a.cov.shape != b.cov.shape:
        raise ValueError(f"feature sizes differ: {a.mean.shape} vs {b.mean.shape}")
    diff = a.mean - b.mean
    value = float(diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * trace_sqrt_product(a.cov, b.cov, tol))
    # Tr terms cancel for equal statistics; what remains is rounding, which may dip a hair below 0.
    scale = max(float(np.trace(a.cov) + np.trace(b.cov)), 1.0)
    if value < -1e-6 * scale:
        raise ValueError(f"negative Fréchet distance {value:.3e}: the statistics are inconsistent")
    return max(value, 0.0)


def frechet_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """Fréchet distance between (n_r, F) and (n_g, F) feature sets."""
    return frechet_distance(feature_stats(real), feature_stats(fake))
