"""The identity latent space: the VDT works directly on pixels."""

from __future__ import annotations

from torch import Tensor

from vdt.autoencoders.base import LatentSpace, check_latents, check_video


class PixelSpace(LatentSpace):
    """Latents are the frames themselves: channels 3, downscale 1."""

    channels = 3
    downscale = 1
    value_range = (-1.0, 1.0)

    def encode(self, video: Tensor) -> Tensor:
        """(B, T, 3, H, W) in [-1, 1] -> the same tensor (no copy)."""
        check_video(self, video)
        return video

    def decode(self, latents: Tensor) -> Tensor:
        """(B, T, 3, H, W) -> the same values clamped to [-1, 1] (model outputs may overshoot)."""
        check_latents(self, latents)
        return latents.clamp(-1.0, 1.0)

    def to(self, *args, **kwargs) -> "PixelSpace":
        """No weights to move; returns self."""
        return self

    def __repr__(self) -> str:
        return "PixelSpace()"
