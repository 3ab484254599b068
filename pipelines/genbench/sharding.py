"""Which clips this process generates: ``--shard I/N`` (e.g. one Slurm array task) times the processes that
``accelerate launch`` / ``torchrun`` started (they set RANK, WORLD_SIZE and LOCAL_RANK), so multi-GPU sampling
needs no code change: every process takes its own contiguous block of clip indices and its own GPU.

Outputs are named by global clip index, so shards write disjoint files into one folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


def parse_shard(text: str) -> tuple[int, int]:
    """ "I/N" -> (I, N) with 0 <= I < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects I/N (e.g. 0/4), got {text!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"--shard {text}: need 0 <= I < N")
    return index, count


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
        """This shard's contiguous block of range(total); the first total % count shards get one more."""
        base, extra = divmod(total, self.count)
        start = self.index * base + min(self.index, extra)
        return range(start, start + base + (1 if self.index < extra else 0))


def placement(shard: tuple[int, int] | None = None, device: str | None = None) -> Placement:
    """Combine ``--shard`` with the launcher's processes: process p of P in shard I of N is shard I * P + p of N * P.
    The device: ``device`` if given, else cuda:LOCAL_RANK when CUDA is available, else cpu."""
    shard_index, shard_count = shard or (0, 1)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if not 0 <= rank < world:
        raise ValueError(f"RANK={rank} is not below WORLD_SIZE={world}")
    if device is None:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    return Placement(shard_index * world + rank, shard_count * world, torch.device(device))
