"""Per-frame reconstruction metrics of predicted frames against the held-out ones: MSE, PSNR, SSIM.

Images are (N, C, H, W) in [0, ``data_range``]; every function returns one value per image (N,), float64.
SSIM is Wang et al. (2004) with a gaussian window (side ``window``, sigma 1.5), K1 = 0.01, K2 = 0.03, local
statistics weighted by the window (population, not sample, covariances), evaluated where the window fits inside
the image ("valid"), then averaged over positions and channels: the convention of skimage's
``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# PSNR of identical images is infinite; MSE is floored so that the reported value stays finite (100 dB at range 1).
MSE_FLOOR = 1e-10


def _check(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"expected two (N, C, H, W) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a.double(), b.double()


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image."""
    a, b = _check(a, b)
    return ((a - b) ** 2).mean(dim=(1, 2, 3))


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """10 log10(range^2 / MSE) per image, in dB (MSE floored at MSE_FLOOR x range^2)."""
    err = mse(a, b).clamp(min=MSE_FLOOR * data_range**2)
    return 10 * torch.log10(data_range**2 / err)


def gaussian_window(size: int, sigma: float = 1.5) -> torch.Tensor:
    """(size, size) float64 weights summing to 1."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"the SSIM window must be a positive odd size, got {size}")
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(
    a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Mean SSIM per image (see the module docstring for the convention)."""
    a, b = _check(a, b)
    if window > min(a.shape[-2:]):
        raise ValueError(f"SSIM window {window} is larger than the {a.shape[-2]}x{a.shape[-1]} images")
    c = a.shape[1]
    w = gaussian_window(window, sigma).to(a.device).expand(c, 1, window, window)

    def blur(x: torch.Tensor) -> torch.Tensor:  # depthwise: each channel on its own
        return F.conv2d(x, w, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean(dim=(1, 2, 3))


def score_generated_frames(
    fake: torch.Tensor, real: torch.Tensor, generated: torch.Tensor, ssim_window: int = 11
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """MSE / PSNR / SSIM of every generated frame, on [0, 1] images.

    fake, real: (B, T, 3, H, W) in [-1, 1]; generated: (B, T) bool, True where a frame was generated.
    Returns ({metric: (n,) values}, (n,) frame positions in the clip) for the n generated frames."""
    if fake.shape != real.shape or fake.dim() != 5 or tuple(generated.shape) != tuple(fake.shape[:2]):
        raise ValueError(
            f"shapes do not fit: fake {tuple(fake.shape)}, real {tuple(real.shape)}, generated {tuple(generated.shape)}"
        )
    gen = generated.bool()
    if not gen.any():
        raise ValueError("no generated frames to score")
    a = (fake[gen].double() + 1) / 2
    b = (real[gen].double() + 1) / 2
    return {"mse": mse(a, b), "psnr": psnr(a, b), "ssim": ssim(a, b, window=ssim_window)}, gen.nonzero()[:, 1]


def summarize(values: dict[str, torch.Tensor], positions: torch.Tensor, num_frames: int) -> dict:
    """Means over all scored frames, their count, and the mean per frame position (None where a position was
    never generated), so error growth over the clip is visible."""
    out: dict = {name: float(v.mean()) for name, v in values.items()}
    out["frames_scored"] = int(positions.numel())
    out["per_position"] = {
        name: [float(v[positions == t].mean()) if bool((positions == t).any()) else None for t in range(num_frames)]
        for name, v in values.items()
    }
    return out
