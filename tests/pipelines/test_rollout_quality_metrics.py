"""The centroid metric that decides whether a rollout places the objects better than copying the last frame
(benchmarks/rollout_quality.py): exact predictions score 0, a lost object falls back to copy-last and is counted
as lost, constant velocity is exact on uniform motion."""

import numpy as np
import torch

from benchmarks.rollout_quality import HORIZON, OBSERVED, agent_against_copy_last, object_errors

RED = torch.tensor([0.9, -0.9, -0.9])  # [-1, 1] pixels: saturated red (the agent)
GREY = torch.tensor([0.0, 0.0, 0.0])


def moving_square(n_frames: int, speed: int = 1, size: int = 32) -> torch.Tensor:
    """(F, 3, H, W): a 3x3 red square moving right by ``speed`` pixels per frame on grey."""
    frames = GREY.view(1, 3, 1, 1).repeat(n_frames, 1, size, size)
    for f in range(n_frames):
        x = 1 + f * speed
        frames[f, :, 10:13, x : x + 3] = RED.view(3, 1, 1)
    return frames


def test_exact_prediction_scores_zero_and_is_found():
    frames = moving_square(OBSERVED + HORIZON)[None]
    out = object_errors(frames[:, OBSERVED:], frames)
    agent = 0
    np.testing.assert_allclose(out["model"][:, agent], 0.0, atol=1e-9)
    np.testing.assert_allclose(out["constant_velocity"][:, agent], 0.0, atol=1e-9)  # uniform motion
    # copy-last is off by one pixel per predicted frame: h / 32 frame widths at horizon h
    np.testing.assert_allclose(out["copy_last"][:, agent], np.arange(1, HORIZON + 1) / 32, atol=1e-9)
    np.testing.assert_array_equal(out["model_found"][:, agent], 1.0)


def test_lost_object_counts_as_copy_last_and_as_lost():
    frames = moving_square(OBSERVED + HORIZON)[None]
    pred = frames[:, OBSERVED:].clone()
    pred[:, :3] = GREY.view(1, 3, 1, 1)  # the first three predicted frames lose the agent
    out = object_errors(pred, frames)
    np.testing.assert_allclose(out["model"][:3, 0], out["copy_last"][:3, 0])
    np.testing.assert_allclose(out["model"][3:, 0], 0.0, atol=1e-9)
    np.testing.assert_array_equal(out["model_found"][:, 0], [0.0] * 3 + [1.0] * (HORIZON - 3))


def test_paired_agent_interval_against_copy_last_in_pixels():
    """Exact predictions of a square moving 1 px per frame beat copy-last by h pixels at horizon h, in every
    trial, so the paired interval is that exactly; trials whose true frame lacks the agent are left out."""
    frames = torch.stack([moving_square(OBSERVED + HORIZON)] * 3)
    frames[1, OBSERVED + 2] = GREY.view(3, 1, 1)  # the agent is gone from the second trial's third true frame
    objects = object_errors(frames[:, OBSERVED:], frames)
    result = {"scenarios": {"A": {"objects": {k: np.where(np.isnan(v), None, v).tolist() for k, v in objects.items()}}}}
    paired = agent_against_copy_last(result)
    assert len(paired) == HORIZON
    for h, d in enumerate(paired, start=1):
        assert d["n"] == (2 if h == 3 else 3)
        np.testing.assert_allclose([d["difference_px"], d["low"], d["high"]], -h, atol=1e-6)
