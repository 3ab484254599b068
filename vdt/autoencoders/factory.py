"""Build a latent space from a config entry: ``build_latent_space(kind, **kwargs)``."""

from __future__ import annotations

from typing import Any, Callable

from vdt.autoencoders.base import LatentSpace
from vdt.autoencoders.conv_vae import ConvVAE
from vdt.autoencoders.pixels import PixelSpace
from vdt.autoencoders.stable_diffusion import StableDiffusionVAE

# kind -> constructor. conv_vae takes a trained checkpoint (``path``, optional ``map_location``, ``chunk_size``):
# an untrained VAE is not a usable latent space, so training code builds ``ConvVAE(ConvVAEConfig(...))`` itself.
LATENT_SPACES: dict[str, Callable[..., LatentSpace]] = {
    "pixels": PixelSpace,
    "conv_vae": ConvVAE.load,
    "sd_vae": StableDiffusionVAE,
}


def build_latent_space(kind: str, **kwargs: Any) -> LatentSpace:
    """Return the latent space ``kind`` ("pixels", "conv_vae" or "sd_vae") built from ``kwargs``."""
    if kind not in LATENT_SPACES:
        raise ValueError(f"unknown latent space kind {kind!r}; choose one of {sorted(LATENT_SPACES)}")
    return LATENT_SPACES[kind](**kwargs)
