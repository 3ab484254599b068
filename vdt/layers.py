"""The small transformer layers VDT is built from (timm-compatible parameter names, no timm dependency)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x (B, L, D) with per-sample shift/scale (B, D). One fused pass over x (addcmul) instead of a
    multiply and an add: such elementwise passes are a fifth of the block's CPU forward (benchmarks/block.py)."""
    return torch.addcmul(shift.unsqueeze(1), x, 1 + scale.unsqueeze(1))


def gated_residual(x: torch.Tensor, gate: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
    """adaLN-Zero residual x + gate * branch, x and branch (B, L, D), gate (B, D); fused like ``modulate``."""
    return torch.addcmul(x, gate.unsqueeze(1), branch)


class PatchEmbed(nn.Module):
    """(N, C, H, W) -> (N, (H/p)(W/p), D) with a conv of kernel = stride = p."""

    def __init__(self, patch_size: int, in_channels: int, hidden_size: int):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, hidden_size, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(self.proj(x), "n d gh gw -> n (gh gw) d")


class Attention(nn.Module):
    """Multi-head self-attention over the second axis of (N, L, D), via scaled_dot_product_attention."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"hidden size {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Views, no copies: SDPA reads the strided q, k, v (a 4-D layout keeps its fused CPU kernel).
        q, k, v = rearrange(self.qkv(x), "n l (three h e) -> three n h l e", three=3, h=self.num_heads)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(rearrange(out, "n h l e -> n l (h e)"))


class Mlp(nn.Module):
    """Linear -> GELU(tanh) -> Linear, as DiT."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))
