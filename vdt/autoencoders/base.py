"""The latent-space interface the VDT model and the pipelines share.

Frames are float tensors (B, T, 3, H, W) in [-1, 1]; latents are (B, T, C, H/d, W/d) with C = ``channels``
and d = ``downscale``. Every space encodes the frames of a video independently.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

import torch
from torch import Tensor

# Frames may overshoot [-1, 1] by rounding (bf16, resizing); anything further is a wrong value range
# (e.g. uint8 0..255 passed as floats), which an autoencoder would silently turn into garbage.
RANGE_TOLERANCE = 1e-2


class LatentSpace(ABC):
    """Maps videos to latents and back.

    Attributes:
        channels: latent channels C.
        downscale: spatial factor d = H / h.
    """

    channels: int
    downscale: int
    # Bounds of the latent values a decoder can use, or None when unbounded. Samplers clamp their x0 estimate to
    # them: the one place that decides whether decoded values are clamped (pixels are; VAE latents are not).
    value_range: tuple | None = None

    @abstractmethod
    def encode(self, video: Tensor) -> Tensor:
        """(B, T, 3, H, W) in [-1, 1] -> (B, T, C, H/d, W/d); deterministic (posterior mean, scaled)."""

    @abstractmethod
    def decode(self, latents: Tensor) -> Tensor:
        """(B, T, C, h, w) -> (B, T, 3, h*d, w*d), clamped to [-1, 1]."""

    @abstractmethod
    def to(self, *args, **kwargs) -> "LatentSpace":
        """Move the space's weights (device and/or dtype, as ``torch.nn.Module.to``); returns self."""

    def latent_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) of the latents of H x W frames; ValueError if d does not divide both."""
        if height % self.downscale or width % self.downscale:
            raise ValueError(
                f"frame size {height}x{width} is not divisible by the latent downscale {self.downscale} "
                f"of {type(self).__name__}"
            )
        return height // self.downscale, width // self.downscale


def check_video(space: LatentSpace, video: Tensor) -> None:
    """Raise ValueError unless ``video`` is a non-empty float (B, T, 3, H, W) tensor in [-1, 1] that ``space`` can encode."""
    _check_5d(video, "video", expected_channels=3, owner=space)
    space.latent_size(video.shape[-2], video.shape[-1])
    low, high = video.aminmax()
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise ValueError(
            f"{type(space).__name__}.encode expects frames in [-1, 1], got values in "
            f"[{low.item():.3g}, {high.item():.3g}]"
        )


def check_latents(space: LatentSpace, latents: Tensor) -> None:
    """Raise ValueError unless ``latents`` is a non-empty float (B, T, C, h, w) tensor with C = space.channels."""
    _check_5d(latents, "latents", expected_channels=space.channels, owner=space)


def _check_5d(x: Tensor, what: str, expected_channels: int, owner: LatentSpace) -> None:
    name = type(owner).__name__
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 5:
        raise ValueError(f"{name}: {what} must be (B, T, C, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: {what} must be a floating tensor, got {x.dtype}")
    if x.shape[2] != expected_channels:
        raise ValueError(f"{name}: {what} must have {expected_channels} channels, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name}: {what} is empty (shape {tuple(x.shape)})")


def map_frames(
    fn: Callable[[Tensor], Tensor],
    video: Tensor,
    chunk_size: int,
    device: torch.device,
    dtype: torch.dtype,
) -> Tensor:
    """Apply ``fn`` ((N, C, H, W) -> (N, C', H', W')) to every frame of (B, T, C, H, W), ``chunk_size`` frames at a time.

    Each chunk is moved to ``device``/``dtype`` for ``fn`` and its result back to the input's device and dtype,
    so a long CPU video streams through a GPU model with memory bounded by one chunk.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    batch, frames = video.shape[:2]
    flat = video.reshape(batch * frames, *video.shape[2:])
    outputs = [
        fn(chunk.to(device=device, dtype=dtype)).to(device=video.device, dtype=video.dtype)
        for chunk in flat.split(chunk_size)
    ]
    out = torch.cat(outputs)
    return out.reshape(batch, frames, *out.shape[1:])
