"""Build the latent space, the diffusion process and the VDT a config describes; load a trained VDT with the
latent normalisation and the diffusion process it was trained with (one home for both, so every stage that
samples or extracts sees the model exactly as training left it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from pipelines.config.loading import ConfigError
from pipelines.config.sections import LatentConfig, ModelConfig, PretrainConfig
from vdt.autoencoders import LatentSpace, NormalizedSpace, build_latent_space
from vdt.checkpoint import CheckpointMismatchError, load_weights, model_from_checkpoint, read_checkpoint
from vdt.diffusion import GaussianDiffusion
from vdt.io import save_atomic
from vdt.model import VDT, vdt_from_name

log = logging.getLogger(__name__)

# Checkpoint entries beside the weights (vdt.checkpoint.save_model ``extra``).
DIFFUSION_KEY, LATENT_NORM_KEY = "diffusion", "latent_norm"


def build_latent(latent: LatentConfig) -> LatentSpace:
    """The configured latent space, without normalisation (``fit_normalization`` / ``load_trained`` add it)."""
    if latent.kind == "pixels":
        return build_latent_space("pixels")
    return build_latent_space(latent.kind, path=latent.path, chunk_size=latent.chunk_size)


def build_diffusion(pretrain: PretrainConfig, model: ModelConfig) -> GaussianDiffusion:
    return GaussianDiffusion.linear(
        pretrain.diffusion_steps,
        learn_sigma=model.learn_sigma,
        prediction=pretrain.prediction,
        loss_weighting=pretrain.loss_weighting,
        snr_gamma=pretrain.snr_gamma,
        prior_kind=pretrain.residual_prior,
        frame_log_scale=pretrain.frame_log_scale,
    )


def build_vdt(model: ModelConfig, space: LatentSpace, init: dict | None = None, mode: str = "video") -> VDT:
    """A fresh VDT for ``model`` on ``space``'s latents, started from ``model.init_checkpoint`` when given
    (``init``: that checkpoint already read, so it is not read twice). ``mode`` image: no temporal layers (the
    spatial phase of decoupled training); a video VDT started from such a checkpoint gets fresh temporal layers
    whose output projection is zero, so it starts as the image model frame by frame."""
    size, _ = space.latent_size(model.resolution, model.resolution)
    vdt = vdt_from_name(
        model.size,
        **model.overrides,
        input_size=size,
        in_channels=space.channels,
        num_frames=model.num_frames,
        learn_sigma=model.learn_sigma,
        num_classes=1,
        mode=mode,
    )
    if model.init_checkpoint is not None:
        init = init or read_checkpoint(model.init_checkpoint)
        spatial_only = init.get("config", {}).get("mode") == "image" and mode == "video"
        try:
            load_weights(vdt, init, allow_missing_temporal=spatial_only)
        except CheckpointMismatchError as err:  # name the file, as loading from the path would
            raise CheckpointMismatchError(f"{model.init_checkpoint}: {err}") from None
        log.info("initialised the VDT from %s%s", model.init_checkpoint, " (spatial layers)" if spatial_only else "")
    return vdt


def fit_normalization(space: LatentSpace, clips: torch.Tensor) -> NormalizedSpace:
    """Per-channel normalisation of ``space`` fitted on training ``clips`` (B, T, 3, H, W) in [-1, 1]."""
    normalized = NormalizedSpace.fit(space, clips)
    log.info(
        "latent normalisation fitted on %d training clips: shift %s, scale %s",
        len(clips),
        [round(v, 4) for v in normalized.shift.tolist()],
        [round(v, 4) for v in normalized.scale.tolist()],
    )
    return normalized


def checkpoint_extras(space: LatentSpace, diffusion: GaussianDiffusion) -> dict:
    """What a checkpoint stores beside the weights so that ``load_trained`` rebuilds the same model."""
    extras = {DIFFUSION_KEY: diffusion.record()}
    if isinstance(space, NormalizedSpace):
        extras[LATENT_NORM_KEY] = space.state_dict()
    return extras


@dataclass
class TrainedVDT:
    model: VDT
    space: LatentSpace  # normalised when the model was trained on normalised latents
    diffusion: GaussianDiffusion  # the full training process (respace it to sample)


def load_trained(
    path: str | Path, latent: LatentConfig, device: torch.device | str = "cpu", diffusion_steps: int | None = None
) -> TrainedVDT:
    """One of our checkpoints (model.pt) with its latent normalisation and diffusion process; an official
    checkpoint without them uses the space as configured and the official eps process of ``diffusion_steps``
    (default 1000) steps. A ``diffusion_steps`` that contradicts the checkpoint's record is an error."""
    obj = read_checkpoint(path)
    record = obj.get(DIFFUSION_KEY)
    if record is None:
        record = {"schedule": "linear", "steps": diffusion_steps or 1000, "prediction": "eps"}
    elif diffusion_steps is not None and diffusion_steps != record["steps"]:
        raise ConfigError(
            f"{path}: the model was trained with {record['steps']} diffusion steps, not {diffusion_steps}"
        )
    model = model_from_checkpoint(obj, path).to(device).eval()
    space = build_latent(latent)
    if LATENT_NORM_KEY in obj:
        norm = obj[LATENT_NORM_KEY]
        space = NormalizedSpace(space, norm["shift"], norm["scale"])
    diffusion = GaussianDiffusion.from_record(record, learn_sigma=model.config.learn_sigma)
    return TrainedVDT(model, space.to(device), diffusion)


def release_checkpoint(source: str | Path, dest: str | Path, provenance: dict) -> Path:
    """Write the EMA weights of our checkpoint ``source`` with what loading needs (config, latent normalisation,
    diffusion process) and ``provenance``, and nothing else (no optimizer, no raw weights): a file small enough
    to ship. ``load_trained`` and ``model.init_checkpoint`` read it like any of our checkpoints."""
    obj = read_checkpoint(source)
    if "ema" not in obj or "config" not in obj:
        raise ValueError(f"{source}: not one of our training checkpoints (needs 'config' and 'ema')")
    payload = {
        "config": obj["config"],
        "ema": obj["ema"],
        "provenance": provenance,
        **{k: obj[k] for k in (DIFFUSION_KEY, LATENT_NORM_KEY, "step") if k in obj},
    }
    return save_atomic(payload, dest)
