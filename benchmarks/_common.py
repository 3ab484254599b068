"""Shared helpers for the benchmarks: the machine's reference matmul throughput, FLOP counting, peak memory,
round-robin timing of variants in one process."""

from __future__ import annotations

import contextlib
import resource
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def matmul_flops_per_s(dtype: torch.dtype, device: str, n: int = 2048, repeats: int = 5) -> float:
    """Achieved FLOP/s of a large square matmul: the 'achievable peak' that utilisation is measured against."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def count_flops(fn) -> int:
    """FLOPs of one call of ``fn`` (matmuls, convolutions, attention), as torch's FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def autocast(device: str, dtype: torch.dtype | None):
    return torch.autocast(device.split(":")[0], dtype=dtype) if dtype is not None else contextlib.nullcontext()


def peak_memory_mb(device: str) -> float:
    """Peak allocated GPU memory, or on CPU the process's peak resident set size."""
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved(calls: dict, repeats: int) -> dict[str, list[float]]:
    """Time every call (each returns its own seconds) round-robin, ``repeats`` times: on a shared machine the load
    of other jobs then falls on all variants alike, which separate runs one after another do not give."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            times[name].append(call())
    return times


def spread(times: list[float]) -> dict[str, float]:
    """Median and range of repeated timings (seconds)."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def matmul_peaks(device: str) -> dict[str, float]:
    return {"fp32": matmul_flops_per_s(torch.float32, device), "bf16": matmul_flops_per_s(torch.bfloat16, device)}
