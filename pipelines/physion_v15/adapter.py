"""A VDT trained here, as the official v1.5 harness's ``PhysionFeatureExtractor``.

The harness (physion_evaluator/extract_features.py) builds the class with no arguments (``model_class()``), moves
it to the GPU, calls ``transform()`` once for (image transform, frame gap, minimum frames), and then
``extract_features(videos)`` per batch of ``[B, T, 3, H, W]`` ImageNet-normalised frames, expecting ``[B, T, D]``.
So the checkpoint comes from the constructor's keywords or, for the harness, from the environment:

    VDT_PHYSION_CHECKPOINT   our model.pt (pretrain/<group>/model.pt of a run, or models/*.pt)
    VDT_PHYSION_CONFIG       optional: the run config whose latent and extract sections apply (default: the config
                             recorded in the checkpoint, else RUN/config.yaml beside RUN/pretrain/<group>/model.pt)

Features, per frame: the token grid after ``extract.blocks`` of the clean latents (diffusion step
``extract.timestep``, nothing masked), the VDT run over windows of its own length, pooled to ``extract.pool_grid``²
cells (``pipelines.features.vdt_tokens``) -- the per-frame features our extract stage bins over time for its
``vdt`` family. Input: the ImageNet normalisation undone, frames resized to ``model.resolution`` with the same
antialiased bilinear resize as our datasets, mapped to [-1, 1] and encoded into the model's (normalised) latents.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from physion.datasets import to_model_frames
from pipelines.config.loading import ConfigError, load_config, validate_config
from pipelines.config.physion_run import PhysionRunConfig
from pipelines.features.vdt_tokens import frame_tokens, pool_grid
from pipelines.training.model_factory import load_trained

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHECKPOINT_ENV, CONFIG_ENV = "VDT_PHYSION_CHECKPOINT", "VDT_PHYSION_CONFIG"


def _stats(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1,) * (like.dim() - 3) + (3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=like.dtype, device=like.device).view(shape)
    std = torch.tensor(IMAGENET_STD, dtype=like.dtype, device=like.device).view(shape)
    return mean, std


def imagenet_normalize(frames: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) in [-1, 1] -> ImageNet-normalised (what the harness feeds ``extract_features``)."""
    mean, std = _stats(frames)
    return ((frames + 1) / 2 - mean) / std


def imagenet_unnormalize(videos: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalised (..., 3, H, W) -> [-1, 1] (clamped: a harness transform may overshoot by rounding)."""
    mean, std = _stats(videos)
    return ((videos * std + mean) * 2 - 1).clamp(-1, 1)


class FrameTransform:
    """The harness's image transform: a list of T PIL images (or (H, W, 3) uint8 arrays) -> (T, 3, res, res)
    float32, resized as our datasets resize and ImageNet-normalised. Picklable: the harness's DataLoader workers
    carry it."""

    def __init__(self, resolution: int):
        self.resolution = resolution

    def __call__(self, images) -> torch.Tensor:
        arrays = [np.asarray(im.convert("RGB") if hasattr(im, "convert") else im, dtype=np.uint8) for im in images]
        if not arrays or any(a.ndim != 3 or a.shape[-1] != 3 for a in arrays):
            raise ValueError(f"expected a list of RGB frames, got shapes {[a.shape for a in arrays][:3]}")
        return imagenet_normalize(to_model_frames(np.stack(arrays), self.resolution))

    def __repr__(self) -> str:
        return f"FrameTransform(resolution={self.resolution}, imagenet_normalize=True)"


def _run_config(checkpoint: Path, config: PhysionRunConfig | str | Path | None) -> PhysionRunConfig:
    if isinstance(config, PhysionRunConfig):
        return config
    if config is not None:
        return load_config(config, PhysionRunConfig)
    recorded = (torch.load(checkpoint, map_location="cpu", weights_only=True).get("provenance") or {}).get("config")
    if isinstance(recorded, str):
        return validate_config(yaml.safe_load(recorded) or {}, PhysionRunConfig, source=f"{checkpoint} (provenance)")
    beside = checkpoint.parent.parent.parent / "config.yaml"  # RUN/pretrain/<group>/model.pt -> RUN/config.yaml
    if beside.is_file():
        return load_config(beside, PhysionRunConfig)
    raise ConfigError(
        f"{checkpoint}: no run config recorded in the checkpoint and no {beside}; pass config= or set {CONFIG_ENV}"
    )


def _first(*values):
    return next(v for v in values if v is not None)


class VDTFeatureExtractor(nn.Module):
    """Meets the harness's ``PhysionFeatureExtractor`` contract (see the module docstring).

    Each setting is the keyword's, else the run config's ``v15`` section's, else its ``extract`` section's.
    ``frame_gap`` defaults to 10 x ``model.frame_offset``, so the harness steps through the video by the frame
    offset the VDT was trained with; ``min_frames`` to the VDT's window (``model.num_frames``)."""

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        config: PhysionRunConfig | str | Path | None = None,
        *,
        blocks: list[int] | None = None,
        timestep: int | None = None,
        pool_cells: int | None = None,
        frame_gap: int | None = None,
        min_frames: int | None = None,
        batch_size: int | None = None,
    ):
        super().__init__()
        checkpoint = checkpoint or os.environ.get(CHECKPOINT_ENV)
        if not checkpoint:
            raise ConfigError(f"no VDT checkpoint: pass checkpoint= or set {CHECKPOINT_ENV} to a model.pt")
        self.checkpoint = Path(checkpoint)
        if not self.checkpoint.is_file():
            raise ConfigError(f"{self.checkpoint}: checkpoint file not found ({CHECKPOINT_ENV})")
        cfg = _run_config(self.checkpoint, config or os.environ.get(CONFIG_ENV))
        trained = load_trained(self.checkpoint, cfg.latent, "cpu")
        self.vdt = trained.model  # a submodule, so the harness's .to(device) moves it
        self.space = trained.space
        # keywords, else the config's v15 section, else its extract section: the harness (no keywords) and
        # v15-eval (the same config) then compute the same features
        e, v = cfg.extract, cfg.v15
        self.blocks = list(_first(blocks, v.blocks, e.blocks))
        self.timestep = _first(timestep, e.timestep)
        self.pool_cells = _first(pool_cells, v.pool_grid, e.pool_grid)
        self.batch_size = _first(batch_size, e.batch_size)
        self.resolution = cfg.model.resolution
        self.frame_gap = _first(frame_gap, v.frame_gap, 10 * cfg.model.frame_offset)
        self.min_frames = _first(min_frames, v.min_frames, self.vdt.num_frames)
        grid = self.space.latent_size(self.resolution, self.resolution)[0] // self.vdt.patch_size
        if self.pool_cells > grid:
            raise ConfigError(f"{self.checkpoint}: pool_cells {self.pool_cells} exceeds the {grid}x{grid} token grid")
        self.feature_dim = self.pool_cells**2 * self.vdt.config.hidden_size * len(self.blocks)

    def _apply(self, fn, *args, **kwargs):
        # keep the latent space (a VAE for conv_vae / sd_vae) on the VDT's device when the harness moves us
        out = super()._apply(fn, *args, **kwargs)
        self.space = self.space.to(next(self.vdt.parameters()).device)
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "checkpoint": str(self.checkpoint),
            "blocks": self.blocks,
            "timestep": self.timestep,
            "pool_cells": self.pool_cells,
            "resolution": self.resolution,
            "frame_gap": self.frame_gap,
            "min_frames": self.min_frames,
            "feature_dim": self.feature_dim,
        }

    # -- the harness's contract ---------------------------------------------------------------------
    def transform(self):
        """(image transform, frame gap, minimum number of frames)."""
        return FrameTransform(self.resolution), self.frame_gap, self.min_frames

    @torch.no_grad()
    def extract_features(self, videos: torch.Tensor) -> torch.Tensor:
        """[B, T, 3, H, W] ImageNet-normalised frames -> [B, T, D] float32 VDT features (on the input's device)."""
        if videos.dim() != 5 or videos.shape[2] != 3:
            raise ValueError(f"videos must be [B, T, 3, H, W], got {tuple(videos.shape)}")
        frames = imagenet_unnormalize(videos.float())
        b, t = frames.shape[:2]
        if tuple(frames.shape[-2:]) != (self.resolution, self.resolution):
            frames = F.interpolate(
                frames.flatten(0, 1), size=(self.resolution, self.resolution), mode="bilinear", antialias=True
            ).clamp(-1, 1)
            frames = frames.view(b, t, 3, self.resolution, self.resolution)
        return self.frame_features(frames).to(videos.device)

    # -- our side -------------------------------------------------------------------------------------
    @torch.no_grad()
    def frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, res, res) frames in [-1, 1] (as our datasets give them) -> (B, T, D) float32."""
        device = next(self.vdt.parameters()).device
        latents = self.space.encode(frames.to(device))
        tokens = frame_tokens(self.vdt, latents, self.blocks, self.timestep, self.batch_size)
        return pool_grid(tokens, self.pool_cells).float()
