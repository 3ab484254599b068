"""Stable Diffusion's VAE (diffusers ``AutoencoderKL``) as a latent space, loaded from a local folder only.

The folder is what ``AutoencoderKL.save_pretrained`` writes (``config.json`` + ``diffusion_pytorch_model.safetensors``
or ``.bin``), e.g. the ``vae/`` folder of a Stable Diffusion checkout. Latents = posterior mean * scale
(0.18215 for SD 1.x/2.x; pass 0.13025 for SD-XL's VAE).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from vdt.autoencoders.base import LatentSpace, check_latents, check_video, map_frames

SD_SCALE = 0.18215
WEIGHT_NAMES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """torch.float16 or "float16" -> torch.float16; ValueError for anything that is not a floating dtype."""
    resolved = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
    if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
        raise ValueError(f"dtype must be a floating torch dtype or its name (e.g. 'float16'), got {dtype!r}")
    return resolved


def check_vae_folder(folder: Path, variant: str | None = None) -> None:
    """FileNotFoundError naming ``folder`` and what is missing unless it holds a config and weights."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: Stable Diffusion VAE folder does not exist")
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no config.json in the Stable Diffusion VAE folder")
    names = [_with_variant(name, variant) for name in WEIGHT_NAMES]
    if not any((folder / name).is_file() for name in names):
        raise FileNotFoundError(f"{folder}: no weights in the Stable Diffusion VAE folder (expected one of {names})")


def _with_variant(name: str, variant: str | None) -> str:
    stem, ext = name.rsplit(".", 1)
    return f"{stem}.{variant}.{ext}" if variant else name


class StableDiffusionVAE(LatentSpace):
    """diffusers ``AutoencoderKL`` from ``path`` (+ optional ``subfolder``, e.g. "vae"), frozen, in eval mode.

    ``dtype`` is the weights' dtype (float32 by default; float16/bfloat16 halve memory on GPU);
    ``chunk_size`` bounds how many frames go through the VAE at once.
    """

    def __init__(
        self,
        path: str | Path,
        scale: float = SD_SCALE,
        dtype: torch.dtype | str = torch.float32,
        device: str | torch.device = "cpu",
        subfolder: str | None = None,
        variant: str | None = None,
        chunk_size: int = 16,
    ):
        folder = Path(path) / subfolder if subfolder else Path(path)
        check_vae_folder(folder, variant)  # before importing diffusers: a wrong path fails fast and clearly
        from diffusers import AutoencoderKL

        self.path = folder
        self.scale = float(scale)
        self.chunk_size = chunk_size
        self.vae = AutoencoderKL.from_pretrained(
            folder, local_files_only=True, variant=variant, torch_dtype=resolve_dtype(dtype)
        )
        self.vae.requires_grad_(False).eval().to(torch.device(device))
        self.channels = int(self.vae.config.latent_channels)
        self.downscale = 2 ** (len(self.vae.config.block_out_channels) - 1)

    def _placement(self) -> tuple[torch.device, torch.dtype]:
        return self.vae.device, self.vae.dtype

    @torch.no_grad()
    def encode(self, video: Tensor, chunk_size: int | None = None) -> Tensor:
        """(B, T, 3, H, W) in [-1, 1] -> (B, T, C, H/d, W/d) = latent_dist.mean * scale, in the input's device/dtype."""
        check_video(self, video)
        return map_frames(
            lambda x: self.vae.encode(x).latent_dist.mean * self.scale,
            video,
            chunk_size or self.chunk_size,
            *self._placement(),
        )

    @torch.no_grad()
    def decode(self, latents: Tensor, chunk_size: int | None = None) -> Tensor:
        """(B, T, C, h, w) -> (B, T, 3, h*d, w*d) = VAE decode of latents / scale, clamped to [-1, 1]."""
        check_latents(self, latents)
        return map_frames(
            lambda z: self.vae.decode(z / self.scale).sample.clamp(-1.0, 1.0),
            latents,
            chunk_size or self.chunk_size,
            *self._placement(),
        )

    def to(self, *args, **kwargs) -> "StableDiffusionVAE":
        """Move the VAE like ``torch.nn.Module.to`` (device and/or dtype); returns self."""
        self.vae.to(*args, **kwargs)
        return self

    def __repr__(self) -> str:
        device, dtype = self._placement()
        return (
            f"StableDiffusionVAE(path={str(self.path)!r}, scale={self.scale}, channels={self.channels}, "
            f"downscale={self.downscale}, device={device}, dtype={dtype})"
        )
