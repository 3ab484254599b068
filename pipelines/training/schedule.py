"""The one learning-rate schedule of the project's training loops (VDT pretraining and gen-train, the slot module,
the demo): a linear warm-up to the peak rate, then constant or a cosine decay to 0 at the last step.

Torch's LambdaLR carries it (its state is saved in checkpoints and resumes); the factor is ours because
diffusers' warm-up schedules start at a rate of 0 (step / warmup) where ours start at 1 / warmup, and the trained
models and the quickstart's figures were made with ours."""

from __future__ import annotations

import math
from typing import Literal

import torch

Decay = Literal["constant", "cosine"]


def lr_factor(step: int, warmup: int, total: int, decay: Decay) -> float:
    """The multiplier of the peak rate at optimiser step ``step`` (0-based): (step + 1) / warmup during the
    warm-up, then 1 (constant) or a cosine from 1 to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    if decay == "cosine":
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return 1.0


def warmup_schedule(
    optimizer: torch.optim.Optimizer, warmup: int, total: int, decay: Decay = "constant"
) -> torch.optim.lr_scheduler.LambdaLR:
    """``lr_factor`` as a torch scheduler of ``optimizer``; call ``step()`` once per optimiser step."""
    if decay not in ("constant", "cosine"):
        raise ValueError(f"unknown learning-rate decay {decay!r}; choose constant or cosine")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, warmup, total, decay))
