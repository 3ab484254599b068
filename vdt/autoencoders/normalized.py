"""Per-channel latent normalisation, z = (latent - shift) / scale, fitted on training clips.

Why: diffusion's noise schedule assumes data of about unit variance. Raw pixels of mostly static scenes have a
std near 0.18 in [-1, 1], so under the linear schedule the signal-to-noise ratio of a pixel falls to 1 at t of
about 46 instead of about 260, and most training steps see no detail at all (docs/design.md §2). Stable
Diffusion's fixed 0.18215 exists for the same reason; this is the general, per-channel form, for any space.
The normalisation is part of a trained model: it is saved beside the weights (``state_dict``) and restored with
them, so encode/decode of a loaded model always use the statistics it was trained with.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vdt.autoencoders.base import LatentSpace

MIN_SCALE = 1e-3  # a channel that never varies is left at this scale rather than blown up


class NormalizedSpace(LatentSpace):
    """``inner``'s latents, shifted and scaled per channel. ``value_range`` follows the inner space's bounds
    (pixels: [-1, 1] in pixel units), mapped to normalised units, so clamping happens where the data is bounded."""

    def __init__(self, inner: LatentSpace, shift: Tensor, scale: Tensor):
        shift, scale = torch.as_tensor(shift, dtype=torch.float32), torch.as_tensor(scale, dtype=torch.float32)
        if shift.shape != (inner.channels,) or scale.shape != (inner.channels,):
            raise ValueError(
                f"latent normalisation needs shift and scale of shape ({inner.channels},), got "
                f"{tuple(shift.shape)} and {tuple(scale.shape)}"
            )
        if not bool((scale > 0).all()):
            raise ValueError(f"latent normalisation scale must be > 0, got {scale.tolist()}")
        self.inner, self.shift, self.scale = inner, shift, scale
        self.channels, self.downscale = inner.channels, inner.downscale

    @classmethod
    def fit(cls, inner: LatentSpace, videos: Tensor) -> "NormalizedSpace":
        """Mean and std per channel of ``inner``'s latents of ``videos`` (B, T, 3, H, W) in [-1, 1]."""
        latents = inner.encode(videos).float()
        values = latents.transpose(0, 2).reshape(latents.shape[2], -1)
        return cls(inner, values.mean(dim=1).cpu(), values.std(dim=1).clamp(min=MIN_SCALE).cpu())

    def _view(self, v: Tensor, like: Tensor) -> Tensor:
        return v.to(device=like.device, dtype=like.dtype).view(1, 1, -1, 1, 1)

    def encode(self, video: Tensor) -> Tensor:
        z = self.inner.encode(video)
        return (z - self._view(self.shift, z)) / self._view(self.scale, z)

    def decode(self, latents: Tensor) -> Tensor:
        return self.inner.decode(latents * self._view(self.scale, latents) + self._view(self.shift, latents))

    @property
    def value_range(self) -> tuple[Tensor, Tensor] | None:
        bounds = self.inner.value_range
        if bounds is None:
            return None
        low, high = ((torch.as_tensor(b, dtype=torch.float32) - self.shift) / self.scale for b in bounds)
        return low.view(1, 1, -1, 1, 1), high.view(1, 1, -1, 1, 1)

    def state_dict(self) -> dict[str, Tensor]:
        return {"shift": self.shift.clone(), "scale": self.scale.clone()}

    def to(self, *args, **kwargs) -> "NormalizedSpace":
        self.inner.to(*args, **kwargs)
        return self

    def __repr__(self) -> str:
        return f"NormalizedSpace({self.inner!r}, shift={self.shift.tolist()}, scale={self.scale.tolist()})"
