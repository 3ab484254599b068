"""Generate clips with a trained VDT: load the checkpoint and its latent space, build per-clip masks, sample.

Every clip is seeded from (seed, its global index): its starting noise and any random mask are the same whatever
the batch size, shard or process that generates it, so sharded runs reproduce an unsharded one (exactly with
DDIM at eta = 0; ancestral DDPM also draws noise at every step, per batch).
Shapes: clips (B, T, 3, H, W) in [-1, 1]; latents (B, T, C, h, w); masks (B, T, h, w), 1 = generate, 0 = given.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from pipelines.config.sections import LatentConfig, SamplerConfig
from pipelines.training.model_factory import load_trained
from vdt.autoencoders.base import LatentSpace
from vdt.diffusion import GaussianDiffusion
from vdt.masks import check_mask, task_mask
from vdt.model import VDT
from vdt.precision import autocast_dtype
from vdt.video_tasks import complete

log = logging.getLogger(__name__)


def clip_seed(seed: int, index: int, stream: int) -> int:
    """A 63-bit seed for one clip's random stream (0: noise, 1: mask, 2: per-step noise of a batch)."""
    return int(np.random.SeedSequence([seed, index, stream]).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)


def task_masks(
    task: str,
    indices: list[int] | range,
    shape: tuple[int, int, int],
    *,
    n_given: int,
    interp_stride: int = 4,
    seed: int = 0,
) -> torch.Tensor:
    """(len(indices), T, h, w) masks of a named task; random tasks draw each clip's mask from its own seed."""
    t, h, w = shape
    return torch.cat(
        [
            task_mask(
                task,
                t,
                h,
                w,
                1,
                n_given=n_given,
                interp_stride=interp_stride,
                generator=torch.Generator().manual_seed(clip_seed(seed, i, 1)),
            )
            for i in indices
        ]
    )


class ClipGenerator:
    """A trained VDT, its latent space and a respaced diffusion, ready to fill masked clips."""

    def __init__(
        self, model: VDT, space: LatentSpace, diffusion: GaussianDiffusion, sampler: SamplerConfig, device: torch.device
    ):
        self.model, self.space, self.diffusion, self.sampler = model.eval().to(device), space, diffusion, sampler
        self.device = device
        if model.in_channels != space.channels:
            raise ValueError(
                f"the checkpoint's VDT takes {model.in_channels} channels, the {type(space).__name__} "
                f"latent space has {space.channels}: check the latent settings"
            )
        self.latent_shape = (model.num_frames, model.in_channels, model.config.input_size, model.config.input_size)
        self.frame_size = model.config.input_size * space.downscale

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        latent: LatentConfig,
        sampler: SamplerConfig,
        *,
        diffusion_steps: int | None = None,
        device: torch.device | str = "cpu",
    ) -> "ClipGenerator":
        """The checkpoint's model with the latent normalisation and diffusion process it was trained with
        (``diffusion_steps``: for official checkpoints, which record none)."""
        device = torch.device(device)
        trained = load_trained(path, latent, device, diffusion_steps)
        return cls(trained.model, trained.space, trained.diffusion.respace(sampler.timestep_spacing()), sampler, device)

    @property
    def num_frames(self) -> int:
        return self.latent_shape[0]

    @property
    def mask_shape(self) -> tuple[int, int, int]:
        """(T, h, w) of a mask in latent space."""
        return self.latent_shape[0], self.latent_shape[2], self.latent_shape[3]

    def generate(
        self,
        masks: torch.Tensor,
        given: torch.Tensor | None,
        indices: list[int] | range,
        *,
        seed: int = 0,
        progress: bool = False,
    ) -> torch.Tensor:
        """Fill ``masks`` (B, T, h, w) around ``given`` clips (B, T, 3, H, W) in [-1, 1] (None: unconditional, then
        every mask must be all ones). ``indices`` are the clips' global indices (their seeds).
        Returns (B, T, 3, H, W) in [-1, 1] on the CPU; in pixel space the given positions are returned unchanged,
        in a VAE space they are the autoencoder's reconstruction."""
        b = len(indices)
        masks = check_mask(masks, (b, *self.mask_shape))
        if given is None:
            if not bool((masks == 1).all()):
                raise ValueError("masks give some positions, but no given clips were passed")
            latents = torch.zeros(b, *self.latent_shape)
        else:
            expected = (b, self.num_frames, 3, self.frame_size, self.frame_size)
            if tuple(given.shape) != expected:
                raise ValueError(f"given clips have shape {tuple(given.shape)}, the model needs {expected}")
            latents = self.space.encode(given.float())
        noise = torch.stack(
            [
                torch.randn(self.latent_shape, generator=torch.Generator().manual_seed(clip_seed(seed, i, 0)))
                for i in indices
            ]
        )
        latents = complete(
            self.model,
            self.diffusion,
            latents,
            masks,
            **self.sampler.sample_kwargs(),
            clip_range=self.space.value_range,
            noise=noise,
            # a batch's per-step noise (ancestral DDPM) is seeded by its first clip, not by the batches before it
            generator=lambda rows: torch.Generator(device=self.device).manual_seed(
                clip_seed(seed, indices[rows.start], 2)
            ),
            amp_dtype=autocast_dtype(self.sampler.mixed_precision, self.device),
            progress=progress,
        )
        return self.space.decode(latents.float()).cpu()
