"""The raw-pixel baseline: what a readout gets from frames alone, so the report shows what the VDT adds."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange


def downsample(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(B, L, 3, H, W) in [-1, 1] -> (B, L, 3, size, size), antialiased area-like resize."""
    x = F.interpolate(
        rearrange(frames, "b l c h w -> (b l) c h w").float(),
        size=(size, size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return rearrange(x, "(b l) c h w -> b l c h w", b=frames.shape[0])


def pixel_vectors(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(B, L, 3, H, W) -> (B, L, 3 * size * size): per-frame downsampled pixels, flattened."""
    return downsample(frames, size).flatten(2)


def pixel_entities(frames: torch.Tensor, size: int, cells: int) -> torch.Tensor:
    """(B, L, 3, H, W) -> (B, L, cells * cells, 3 * (size // cells)**2 + 2): the downsampled frame cut into a
    cells x cells grid, each cell's pixels plus its centre (x, y) in [0, 1]: entities for the relational readout,
    the pixel counterpart of slots."""
    if size % cells:
        raise ValueError(f"pixel size {size} is not divisible by {cells} cells")
    x = downsample(frames, size)
    b, length = x.shape[:2]
    # cell (row gy, column gx) of the grid -> one entity: its pixels, channel-major as a frame's are
    patches = rearrange(x, "b l c (gy ky) (gx kx) -> b l (gy gx) (c ky kx)", gy=cells, gx=cells)
    centre = (torch.arange(cells, dtype=torch.float32) + 0.5) / cells
    ys, xs = torch.meshgrid(centre, centre, indexing="ij")
    pos = torch.stack([xs.flatten(), ys.flatten()], dim=-1).expand(b, length, cells * cells, 2)
    return torch.cat([patches, pos], dim=-1)
