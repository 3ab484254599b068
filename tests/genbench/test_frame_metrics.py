"""PSNR / SSIM / MSE against values computed by hand, and scoring of generated frames only."""

import math

import numpy as np
import pytest
import torch

from pipelines.genbench.frame_metrics import gaussian_window, mse, psnr, score_generated_frames, ssim, summarize

C1, C2 = 0.01**2, 0.03**2


def test_constant_images():
    a, b = torch.full((1, 3, 12, 12), 0.5), torch.full((1, 3, 12, 12), 0.25)
    assert float(mse(a, b)) == pytest.approx(0.0625)
    assert float(psnr(a, b)) == pytest.approx(10 * math.log10(1 / 0.0625))  # 12.04 dB
    # no variance, no covariance: SSIM is the luminance term alone
    expected = (2 * 0.5 * 0.25 + C1) / (0.5**2 + 0.25**2 + C1)
    assert float(ssim(a, b)) == pytest.approx(expected, rel=1e-12)


def test_known_mse_and_identical_images():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 16, 16, generator=g) * 0.8
    assert torch.allclose(psnr(a + 0.1, a), torch.full((2,), 20.0, dtype=torch.float64))  # MSE 0.01
    assert torch.allclose(ssim(a, a), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(psnr(a, a), torch.full((2,), 100.0, dtype=torch.float64))  # the MSE floor


def test_ssim_hand_computed_3x3():
    # one 3 x 3 window: the score is a single position, computed here from the definition
    x = np.array([[0.1, 0.5, 0.9], [0.3, 0.2, 0.7], [0.8, 0.4, 0.6]])
    y = np.array([[0.2, 0.4, 0.8], [0.3, 0.5, 0.6], [0.9, 0.1, 0.7]])
    d = np.array([-1.0, 0.0, 1.0])
    g = np.exp(-(d**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    cxy = (w * (x - mx) * (y - my)).sum()
    expected = (2 * mx * my + C1) * (2 * cxy + C2) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
    got = ssim(torch.tensor(x)[None, None], torch.tensor(y)[None, None], window=3)
    assert float(got) == pytest.approx(expected, rel=1e-10)
    assert torch.allclose(gaussian_window(3).sum(), torch.tensor(1.0, dtype=torch.float64))


def test_ssim_refuses_windows_larger_than_the_image():
    with pytest.raises(ValueError, match="larger than"):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8), window=11)
    with pytest.raises(ValueError, match="odd"):
        gaussian_window(4)


def test_only_generated_frames_are_scored():
    real = torch.zeros(2, 4, 3, 8, 8)
    fake = real.clone()
    fake[:, :2] = 1.0  # given frames: wildly wrong, must not count
    fake[0, 3] = 0.2  # one generated frame off by 0.1 in [0, 1] units
    generated = torch.tensor([[False, False, True, True]] * 2)
    values, positions = score_generated_frames(fake, real, generated, ssim_window=3)
    assert positions.tolist() == [2, 3, 2, 3]
    assert values["mse"].tolist() == pytest.approx([0.0, 0.01, 0.0, 0.0])
    summary = summarize(values, positions, 4)
    assert summary["frames_scored"] == 4 and summary["mse"] == pytest.approx(0.0025)
    assert summary["per_position"]["mse"][:2] == [None, None]
    assert summary["per_position"]["psnr"][3] == pytest.approx((20.0 + 100.0) / 2)
    with pytest.raises(ValueError, match="no generated frames"):
        score_generated_frames(fake, real, torch.zeros(2, 4, dtype=torch.bool))
