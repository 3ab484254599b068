"""Preview strips during training: a few fixed clips, given | predicted | true, from the EMA model, drawn with the
run's own sampler (so a one-step or residual model's previews show what its rollouts will)."""

from __future__ import annotations

from pathlib import Path

import torch

from pipelines.config.sections import SamplerConfig
from pipelines.reporting.strips import video_strip
from vdt.autoencoders import LatentSpace
from vdt.diffusion import GaussianDiffusion
from vdt.model import VDT
from vdt.video_tasks import complete

# What a training without a sampler section (the benchmarks' direct calls of train_vdt) previews with.
DEFAULT_PREVIEW_SAMPLER = SamplerConfig(method="ddim", steps=10, spacing="linspace")


def write_preview(
    ema: VDT,
    space: LatentSpace,
    diffusion: GaussianDiffusion,
    clips: torch.Tensor,
    n_given: int,
    path: Path,
    sampler: SamplerConfig | None = None,
    seed: int = 0,
) -> Path:
    """clips: (B, T, 3, H, W) in [-1, 1]. Predicts frames n_given.. with ``sampler`` (default DDIM-10; eager fp32,
    its batch size and precision do not apply to two clips) and writes one PNG."""
    sampler = sampler or DEFAULT_PREVIEW_SAMPLER
    device = next(ema.parameters()).device
    latents = space.encode(clips.to(device))
    pred = complete(
        ema,
        diffusion.respace(sampler.timestep_spacing()),
        latents,
        "predict",
        n_given=n_given,
        generator=torch.Generator(device=device).manual_seed(seed),
        clip_range=space.value_range,
        **{**sampler.sample_kwargs(), "batch_size": None},
    )
    frames = space.decode(pred).cpu()
    rows = []
    for i in range(clips.shape[0]):
        rows += [(f"true #{i}", clips[i]), (f"predicted #{i}", frames[i])]
    return video_strip(rows, path, given=n_given, scale=max(1, 64 // clips.shape[-1]))
