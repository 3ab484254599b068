"""The process group the pipeline runs in: one process, or several under `accelerate launch` / `torchrun`.

On a machine without CUDA, ``cpu=True`` lets accelerate form a gloo group of CPU processes (it otherwise ignores
the launcher's WORLD_SIZE there), so the multi-process code paths run, and are tested, without a GPU."""

from __future__ import annotations

import torch
from accelerate import PartialState


def process_state() -> PartialState:
    return PartialState(cpu=not torch.cuda.is_available())


def force_cpu() -> bool:
    """What to pass as ``Accelerator(cpu=...)``: CPU only where there is no GPU."""
    return not torch.cuda.is_available()
