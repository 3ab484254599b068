"""Build the latent space and the VDT a config describes."""
from __future__ import annotations

import logging

from pipelines.config.sections import LatentConfig, ModelConfig
from vdt.autoencoder import LatentSpace, build_latent_space
from vdt.checkpoint import load_weights
from vdt.model import VDT, vdt_from_name

log = logging.getLogger(__name__)


def build_latent(latent: LatentConfig) -> LatentSpace:
    if latent.kind == "pixels":
        return build_latent_space("pixels")
    return build_latent_space(latent.kind, path=latent.path, chunk_size=latent.chunk_size)


def build_vdt(model: ModelConfig, space: LatentSpace) -> VDT:
    """A fresh VDT for ``model`` on ``space``'s latents, started from ``model.init_checkpoint`` when given."""
    size, _ = space.latent_size(model.resolution, model.resolution)
    vdt = vdt_from_name(model.size, **model.overrides, input_size=size, in_channels=space.channels,
                        num_frames=model.num_frames, learn_sigma=model.learn_sigma, num_classes=1)
    if model.init_checkpoint is not None:
        load_weights(vdt, model.init_checkpoint)
        log.info("initialised the VDT from %s", model.init_checkpoint)
    return vdt
