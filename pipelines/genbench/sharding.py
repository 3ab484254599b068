"""Which clips this process generates: ``--shard I/N`` (e.g. one Slurm array task) times the processes that
``accelerate launch`` / ``torchrun`` started (they set RANK, WORLD_SIZE and LOCAL_RANK), so multi-GPU sampling
needs no code change: every process takes its own contiguous block of clip indices (``pipelines.distributed``)
and its own GPU. Read from the environment, not from accelerate: sampling needs no process group.

Outputs are named by global clip index, so shards write disjoint files into one folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from pipelines.distributed import shard_block, worker_shard


@dataclass(frozen=True)
class Placement:
    """This process's shard among ``count`` and the device it samples on."""

    index: int
    count: int
    device: torch.device

    @property
    def tag(self) -> str:
        """File-name suffix for per-shard outputs ('' when unsharded)."""
        return "" if self.count == 1 else f"_shard{self.index:03d}-of-{self.count:03d}"

    def indices(self, total: int) -> range:
        """This shard's contiguous block of range(total)."""
        return shard_block(total, self.index, self.count)


def placement(shard: tuple[int, int] | None = None, device: str | None = None) -> Placement:
    """``--shard`` combined with the launcher's processes (``worker_shard``). The device: ``device`` if given, else
    cuda:LOCAL_RANK when CUDA is available, else cpu."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if not 0 <= rank < world:
        raise ValueError(f"RANK={rank} is not below WORLD_SIZE={world}")
    if device is None:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    return Placement(*worker_shard(shard, rank, world), torch.device(device))
