"""Shared helpers for the benchmarks: the machine's reference matmul throughput, FLOP counting, peak memory."""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
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


def run_isolated(script: str, args: list[str]) -> dict:
    """Run one measurement in a fresh process (so peak memory belongs to it alone); it prints one JSON line."""
    out = subprocess.run([sys.executable, script, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def matmul_peaks(device: str) -> dict[str, float]:
    return {"fp32": matmul_flops_per_s(torch.float32, device), "bf16": matmul_flops_per_s(torch.bfloat16, device)}


def run_variants(script: str, args, flag: str, names) -> list[dict]:
    """Re-run ``script`` once per variant name, with the same options and ``--flag=name``, each in its own process."""
    common = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k != flag]
    return [run_isolated(script, [*common, f"--{flag}={name}"]) for name in names]
