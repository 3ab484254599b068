"""A small convolutional VAE we train ourselves: frames (N, 3, H, W) <-> latents (N, C, H/d, W/d).

Encoder: conv -> [residual blocks, stride-2 conv] x log2(d) -> residual blocks -> (mean, logvar).
Decoder mirrors it with nearest-neighbour upsampling. Residual blocks are GroupNorm + SiLU + 3x3 conv, twice.
Latents are ``posterior mean * scale_factor``; ``scale_factor`` is fitted after training
(``vdt.autoencoders.conv_vae_training.fit_scale_factor``) so that latents have about unit std.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vdt.autoencoders.base import LatentSpace, check_latents, check_video, map_frames
from vdt.io import save_atomic

# SD's VAE clamps log-variance to this range so exp() cannot overflow early in training.
LOGVAR_RANGE = (-30.0, 20.0)
CHECKPOINT_KEYS = ("config", "state_dict", "scale_factor")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConvVAEConfig:
    """Architecture of a ConvVAE.

    latent_channels: C. downscale: d, a power of two >= 2 (one stride-2 stage per factor 2).
    base_channels: width of the first stage; it doubles per stage, capped at 4x.
    blocks_per_stage: residual blocks per resolution. norm_groups: GroupNorm groups (must divide every width).
    """

    latent_channels: int = 4
    downscale: int = 4
    base_channels: int = 32
    blocks_per_stage: int = 1
    norm_groups: int = 8

    def __post_init__(self) -> None:
        d = self.downscale
        if d < 2 or d & (d - 1):
            raise ValueError(f"ConvVAEConfig.downscale must be a power of two >= 2, got {d}")
        for name in ("latent_channels", "base_channels", "blocks_per_stage", "norm_groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"ConvVAEConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.base_channels % self.norm_groups:
            raise ValueError(
                f"ConvVAEConfig.norm_groups ({self.norm_groups}) must divide base_channels ({self.base_channels})"
            )

    @property
    def stage_widths(self) -> list[int]:
        """Channel width at each resolution, from full size (index 0) to the latent size (last)."""
        stages = self.downscale.bit_length() - 1
        return [self.base_channels * min(2**i, 4) for i in range(stages + 1)]


class ResidualBlock(nn.Module):
    """(N, c_in, H, W) -> (N, c_out, H, W): x + conv(silu(norm(conv(silu(norm(x)))))), 1x1 skip when widths differ."""

    def __init__(self, c_in: int, c_out: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Upsample(nn.Module):
    """(N, c_in, H, W) -> (N, c_out, 2H, 2W): nearest-neighbour x2 then a 3x3 conv (no checkerboard artefacts)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _blocks(width: int, count: int, groups: int) -> list[nn.Module]:
    return [ResidualBlock(width, width, groups) for _ in range(count)]


def _head(width: int, c_out: int, groups: int) -> nn.Sequential:
    return nn.Sequential(nn.GroupNorm(groups, width), nn.SiLU(), nn.Conv2d(width, c_out, 3, padding=1))


class ConvVAE(nn.Module, LatentSpace):
    """KL-regularised convolutional VAE and a ``LatentSpace``.

    ``forward`` is the training view on single frames; ``encode``/``decode`` are the inference view on videos
    (no gradients; frames of a video are processed independently, ``chunk_size`` at a time).
    """

    def __init__(self, config: ConvVAEConfig = ConvVAEConfig(), chunk_size: int = 64, scale_factor: float = 1.0):
        super().__init__()
        self.config = config
        self.chunk_size = chunk_size
        self.scale_factor = float(scale_factor)
        widths, groups, n = config.stage_widths, config.norm_groups, config.blocks_per_stage

        enc: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1)]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            enc += _blocks(w_in, n, groups) + [nn.Conv2d(w_in, w_out, 3, stride=2, padding=1)]
        enc += _blocks(widths[-1], n, groups) + [_head(widths[-1], 2 * config.latent_channels, groups)]
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = [nn.Conv2d(config.latent_channels, widths[-1], 3, padding=1)]
        dec += _blocks(widths[-1], n, groups)
        for w_in, w_out in zip(widths[:0:-1], widths[-2::-1]):
            dec += [Upsample(w_in, w_out)] + _blocks(w_out, n, groups)
        dec += [_head(widths[0], 3, groups)]
        self.decoder = nn.Sequential(*dec)

    # ---- LatentSpace attributes -------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        return self.config.latent_channels

    @property
    def downscale(self) -> int:
        return self.config.downscale

    def _placement(self) -> tuple[torch.device, torch.dtype]:
        weight = next(self.parameters())
        return weight.device, weight.dtype

    # ---- training view: single frames -------------------------------------------------------------------
    def posterior(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """(N, 3, H, W) -> (mean, logvar), each (N, C, H/d, W/d), unscaled."""
        mean, logvar = self.encoder(frames).chunk(2, dim=1)
        return mean, logvar.clamp(*LOGVAR_RANGE)

    def forward(self, frames: Tensor, sample: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """(N, 3, H, W) -> (reconstruction (N, 3, H, W) unclamped, mean, logvar); samples the posterior if ``sample``."""
        mean, logvar = self.posterior(frames)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar) if sample else mean
        return self.decoder(z), mean, logvar

    # ---- inference view: videos -------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, video: Tensor, chunk_size: int | None = None) -> Tensor:
        """(B, T, 3, H, W) in [-1, 1] -> (B, T, C, H/d, W/d) = posterior mean * scale_factor, in the input's device/dtype."""
        check_video(self, video)
        device, dtype = self._placement()
        return map_frames(
            lambda x: self.posterior(x)[0] * self.scale_factor, video, chunk_size or self.chunk_size, device, dtype
        )

    @torch.no_grad()
    def decode(self, latents: Tensor, chunk_size: int | None = None) -> Tensor:
        """(B, T, C, h, w) -> (B, T, 3, h*d, w*d) clamped to [-1, 1], in the input's device/dtype."""
        check_latents(self, latents)
        device, dtype = self._placement()
        return map_frames(
            lambda z: self.decoder(z / self.scale_factor).clamp(-1.0, 1.0),
            latents,
            chunk_size or self.chunk_size,
            device,
            dtype,
        )

    # ---- persistence ------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Atomically write {"config", "state_dict", "scale_factor"} (CPU tensors) to ``path``; returns the path."""
        checkpoint = {
            "config": dataclasses.asdict(self.config),
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
            "scale_factor": self.scale_factor,
        }
        path = save_atomic(checkpoint, path)
        logger.info("saved ConvVAE (%s, scale factor %.5g) to %s", self.config, self.scale_factor, path)
        return path

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu", chunk_size: int = 64) -> "ConvVAE":
        """Rebuild a ConvVAE written by ``save``; FileNotFoundError / ValueError name ``path`` and the problem."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: ConvVAE weights file not found")
        try:
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as err:  # torch raises several types (UnpicklingError, RuntimeError, EOFError) for bad files
            raise ValueError(f"{path}: not a readable ConvVAE checkpoint ({type(err).__name__}: {err})") from err
        if not isinstance(checkpoint, dict) or any(k not in checkpoint for k in CHECKPOINT_KEYS):
            found = sorted(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__
            raise ValueError(f"{path}: ConvVAE checkpoint needs keys {list(CHECKPOINT_KEYS)}, found {found}")
        try:
            config = ConvVAEConfig(**checkpoint["config"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: invalid ConvVAE config {checkpoint['config']!r} ({err})") from err
        model = cls(config, chunk_size=chunk_size, scale_factor=checkpoint["scale_factor"])
        try:
            model.load_state_dict(checkpoint["state_dict"], strict=True)
        except RuntimeError as err:
            raise ValueError(f"{path}: weights do not match the stored config ({err})") from err
        return model.to(map_location)

    def extra_repr(self) -> str:
        return f"config={self.config}, scale_factor={self.scale_factor:.5g}, chunk_size={self.chunk_size}"
