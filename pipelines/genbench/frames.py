"""Bring decoded frames to the model's size: scale so the frame covers the target (the shorter side fits), then crop.

Scaling first keeps the aspect ratio (no stretching of UCF101's 4:3 or Cityscapes' 2:1 frames); the crop then
takes the centre, or a random window (the same window for every frame of a clip, so motion is not faked).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from physion.datasets import to_model_frames

CROPS = ("center", "random")


def as_size(resolution: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """(height, width) from an int (square) or a pair."""
    size = (resolution, resolution) if isinstance(resolution, int) else tuple(int(v) for v in resolution)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"resolution must be a positive int or (height, width), got {resolution!r}")
    return size


def covering_size(height: int, width: int, target: tuple[int, int]) -> tuple[int, int]:
    """The smallest aspect-preserving size of a (height, width) frame that covers ``target`` (h, w)."""
    scale = max(target[0] / height, target[1] / width)
    # ceil after rounding noise away, so the covering size is never one pixel short of the target
    return (max(target[0], math.ceil(round(height * scale, 6))), max(target[1], math.ceil(round(width * scale, 6))))


def crop_offset(
    size: tuple[int, int], target: tuple[int, int], crop: str, rng: np.random.Generator | None
) -> tuple[int, int]:
    """Top-left corner of the crop window in a frame of ``size``."""
    if crop == "center":
        return (size[0] - target[0]) // 2, (size[1] - target[1]) // 2
    if crop == "random":
        if rng is None:
            raise ValueError("a random crop needs an rng")
        return int(rng.integers(0, size[0] - target[0] + 1)), int(rng.integers(0, size[1] - target[1] + 1))
    raise ValueError(f"unknown crop {crop!r}; choose one of {CROPS}")


def fit_frames(
    frames: np.ndarray, resolution: int | tuple[int, int], crop: str = "center", rng: np.random.Generator | None = None
) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, h, w) float32 in [-1, 1]: resize the shorter side (bilinear, antialiased), crop.

    Frames already at the covering size are not resampled, so their pixel values pass through exactly."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    target = as_size(resolution)
    size = covering_size(frames.shape[1], frames.shape[2], target)
    x = to_model_frames(frames, size)
    top, left = crop_offset(size, target, crop, rng)
    return x[:, :, top : top + target[0], left : left + target[1]].contiguous()
