"""Preview strips during training: a few fixed clips, given | predicted | true, from the EMA model."""

from __future__ import annotations

from pathlib import Path

import torch

from pipelines.reporting.strips import video_strip
from vdt.autoencoders import LatentSpace
from vdt.diffusion import GaussianDiffusion
from vdt.model import VDT
from vdt.video_tasks import complete


def write_preview(
    ema: VDT,
    space: LatentSpace,
    diffusion: GaussianDiffusion,
    clips: torch.Tensor,
    n_given: int,
    path: Path,
    sampling_steps: int = 10,
    seed: int = 0,
) -> Path:
    """clips: (B, T, 3, H, W) in [-1, 1]. Predicts frames n_given.. with DDIM and writes one PNG."""
    device = next(ema.parameters()).device
    latents = space.encode(clips.to(device))
    pred = complete(
        ema,
        diffusion.respace(sampling_steps),
        latents,
        "predict",
        n_given=n_given,
        generator=torch.Generator(device=device).manual_seed(seed),
        clip_range=space.value_range,
    )
    frames = space.decode(pred).cpu()
    rows = []
    for i in range(clips.shape[0]):
        rows += [(f"true #{i}", clips[i]), (f"predicted #{i}", frames[i])]
    return video_strip(rows, path, given=n_given, scale=max(1, 64 // clips.shape[-1]))
