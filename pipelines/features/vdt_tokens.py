"""Per-frame VDT features that keep where things are: the token grid of chosen blocks, pooled to a small grid.

DESIGN.md §4: contact is local, so a global mean over tokens throws away the signal a readout needs; a
g x g pooled grid (and slots, features/slots.py) keeps it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange

from vdt.model import VDT


def window_starts(length: int, window: int) -> list[int]:
    """Starts of non-overlapping windows covering ``length`` frames; the last one is right-aligned."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, window))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


@torch.no_grad()
def frame_tokens(
    model: VDT,
    latents: torch.Tensor,
    blocks: list[int],
    timestep: int = 0,
    batch_size: int = 32,
    amp_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """latents (B, L, C, h, w) -> tokens (B, L, gh, gw, D * len(blocks)) after ``blocks``.

    The VDT sees clean latents (nothing masked, diffusion step ``timestep``) in windows of its own length; a
    sequence shorter than the window is padded by repeating its last frame and the padding is dropped."""
    model.eval()
    device = next(model.parameters()).device
    b, length = latents.shape[:2]
    window = model.num_frames
    if length < window:
        pad = latents[:, -1:].expand(b, window - length, *latents.shape[2:])
        latents = torch.cat([latents, pad], dim=1)
    grid = latents.shape[-1] // model.patch_size
    out = None
    filled = 0
    for start in window_starts(latents.shape[1], window):
        parts = []
        for i in range(0, b, batch_size):
            x = latents[i : i + batch_size, start : start + window].to(device).float()
            t = torch.full((x.shape[0],), timestep, device=device, dtype=torch.long)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                kept = model.token_features(x, t, blocks)
            parts.append(torch.cat([kept[k] for k in blocks], dim=-1).float().cpu())
        tokens = torch.cat(parts)  # (B, window, N, D')
        if out is None:
            out = torch.empty(b, max(length, window), grid, grid, tokens.shape[-1])
        new = slice(filled - start, window)  # frames of this window not yet covered by an earlier one
        out[:, filled : start + window] = tokens[:, new].reshape(b, -1, grid, grid, tokens.shape[-1])
        filled = start + window
    return out[:, :length]


def pool_grid(tokens: torch.Tensor, cells: int) -> torch.Tensor:
    """(B, L, gh, gw, D) -> (B, L, cells * cells * D): average pooling to a cells x cells grid per frame."""
    pooled = F.adaptive_avg_pool2d(rearrange(tokens, "b l h w d -> (b l) d h w"), cells)
    return rearrange(pooled, "(b l) d h w -> b l (h w d)", b=tokens.shape[0])


def time_bins(per_frame: torch.Tensor, bins: int) -> torch.Tensor:
    """(B, L, F) -> (B, bins * F): frames averaged within ``bins`` consecutive, nearly equal groups (fixed-size
    features whatever the trial length, still ordered in time). With fewer frames than bins, every frame is a bin
    and the vector is padded with the last one."""
    length = per_frame.shape[1]
    groups = np.array_split(np.arange(length), min(bins, length))
    means = [per_frame[:, idx].mean(dim=1) for idx in groups]
    means += [means[-1]] * (bins - len(means))
    return torch.cat(means, dim=-1)
