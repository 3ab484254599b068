"""Latent spaces: videos (B, T, 3, H, W) in [-1, 1] <-> latents (B, T, C, H/d, W/d).

- ``PixelSpace()``: identity (C = 3, d = 1).
- ``ConvVAE``: our small convolutional VAE; train with ``train_conv_vae``, persist with ``save`` / ``ConvVAE.load``.
- ``StableDiffusionVAE(path)``: diffusers ``AutoencoderKL`` from a local folder, latents x 0.18215.
- ``NormalizedSpace(inner, shift, scale)`` / ``NormalizedSpace.fit(inner, videos)``: per-channel normalisation.
- ``build_latent_space(kind, **kwargs)``: the factory configs use.
"""

from vdt.autoencoders.base import LatentSpace
from vdt.autoencoders.conv_vae import ConvVAE, ConvVAEConfig
from vdt.autoencoders.conv_vae_training import ConvVAEHistory, fit_scale_factor, train_conv_vae
from vdt.autoencoders.factory import LATENT_SPACES, build_latent_space
from vdt.autoencoders.normalized import NormalizedSpace
from vdt.autoencoders.pixels import PixelSpace
from vdt.autoencoders.stable_diffusion import SD_SCALE, StableDiffusionVAE

__all__ = [
    "LatentSpace",
    "PixelSpace",
    "NormalizedSpace",
    "ConvVAE",
    "ConvVAEConfig",
    "ConvVAEHistory",
    "train_conv_vae",
    "fit_scale_factor",
    "StableDiffusionVAE",
    "SD_SCALE",
    "LATENT_SPACES",
    "build_latent_space",
]
