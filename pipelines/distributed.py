"""The process group the pipeline runs in (one process, or several under `accelerate launch` / `torchrun`), and the
one way work is split over ``--shard I/N`` (array jobs, parsed by ``physion.generation.plan.parse_shard``) times
the processes of one launch: every process is one worker of N * P and takes a contiguous block of the work items.

On a machine without CUDA, ``cpu=True`` lets accelerate form a gloo group of CPU processes (it otherwise ignores
the launcher's WORLD_SIZE there), so the multi-process code paths run, and are tested, without a GPU."""

from __future__ import annotations

import argparse

import torch
from accelerate import PartialState

from physion.generation.plan import parse_shard


def process_state() -> PartialState:
    return PartialState(cpu=not torch.cuda.is_available())


def force_cpu() -> bool:
    """What to pass as ``Accelerator(cpu=...)``: CPU only where there is no GPU."""
    return not torch.cuda.is_available()


def worker_shard(shard: tuple[int, int] | None, process_index: int, num_processes: int) -> tuple[int, int]:
    """(index, count) of this process among all workers: process p of P in shard I of N is worker I * P + p of
    N * P, so array jobs and the processes inside each job partition the work together."""
    shard_index, shard_count = shard or (0, 1)
    if not 0 <= process_index < num_processes:
        raise ValueError(f"process {process_index} is not below the {num_processes} processes")
    return shard_index * num_processes + process_index, shard_count * num_processes


def shard_block(total: int, index: int, count: int) -> range:
    """Worker ``index`` of ``count``'s contiguous block of range(total); the first total % count get one more."""
    base, extra = divmod(total, count)
    start = index * base + min(index, extra)
    return range(start, start + base + (1 if index < extra else 0))


def shard_argument(text: str) -> tuple[int, int]:
    """``--shard I/N`` as an argparse type: argparse would hide the message of parse_shard's plain ValueError."""
    try:
        return parse_shard(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
