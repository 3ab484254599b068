"""Fixed sin-cos position tables and the learned timestep / class embedders (DiT conventions, so that
official checkpoints and freshly built models agree)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

# --------------------------------------------------------------------------------------------------
# Fixed sin-cos tables (stored in the state dict as frozen parameters, as the official code does)
# --------------------------------------------------------------------------------------------------


def sincos_1d(dim: int, positions: np.ndarray) -> np.ndarray:
    """(M,) positions -> (M, dim) table: first half sin, second half cos."""
    if dim % 2:
        raise ValueError(f"sin-cos embedding width must be even, got {dim}")
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
    angles = np.outer(positions.reshape(-1).astype(np.float64), omega)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def sincos_2d(dim: int, grid_size: int) -> np.ndarray:
    """(grid_size**2, dim) table for a square token grid, row-major; half the width encodes each axis."""
    coords = np.arange(grid_size, dtype=np.float64)
    # DiT's ordering: meshgrid(w, h) so the first half of the channels encodes the column index.
    grid_w, grid_h = np.meshgrid(coords, coords)
    return np.concatenate([sincos_1d(dim // 2, grid_w), sincos_1d(dim // 2, grid_h)], axis=1)


def sincos_time(dim: int, num_frames: int) -> np.ndarray:
    """(num_frames, dim) table added along time to every spatial token."""
    return sincos_1d(dim, np.arange(num_frames))


# --------------------------------------------------------------------------------------------------
# Conditioning embedders
# --------------------------------------------------------------------------------------------------


class TimestepEmbedder(nn.Module):
    """Diffusion step t (B,) -> (B, D): sinusoid of width 256, then Linear-SiLU-Linear."""

    def __init__(self, hidden_size: int, frequency_size: int = 256):
        super().__init__()
        self.frequency_size = frequency_size
        self.mlp = nn.Sequential(nn.Linear(frequency_size, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size))

    @staticmethod
    def sinusoid(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = t.float()[:, None] * freqs[None]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # cos first, as DiT
        if dim % 2:
            emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
        return emb

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        freq = self.sinusoid(t, self.frequency_size)
        return self.mlp(freq.to(self.mlp[0].weight.dtype))


class LabelEmbedder(nn.Module):
    """Class id (B,) -> (B, D). With dropout > 0 the table has one extra row, the "no class" token that
    classifier-free guidance uses; in training, labels are replaced by it with probability ``dropout``."""

    def __init__(self, num_classes: int, hidden_size: int, dropout: float):
        super().__init__()
        self.num_classes = num_classes
        self.dropout = dropout
        self.embedding_table = nn.Embedding(num_classes + int(dropout > 0), hidden_size)

    def forward(self, labels: torch.Tensor, force_drop: torch.Tensor | None = None) -> torch.Tensor:
        if force_drop is not None:
            drop = force_drop.bool()
        elif self.training and self.dropout > 0:
            drop = torch.rand(labels.shape[0], device=labels.device) < self.dropout
        else:
            drop = None
        if drop is not None:
            labels = torch.where(drop, torch.full_like(labels, self.num_classes), labels)
        return self.embedding_table(labels)
