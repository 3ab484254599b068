"""Shared helpers for the benchmarks: the machine's reference matmul throughput, FLOP counting, peak memory,
round-robin timing of variants in one process."""

from __future__ import annotations

import contextlib
import platform
import resource
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from vdt.precision import autocast_dtype


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


def reference_peak(peaks: dict[str, float], variant: str) -> float:
    """The matmul FLOP/s a variant's utilisation is measured against: bf16's for bf16 variants, else fp32's."""
    return peaks["bf16" if "bf16" in variant else "fp32"]


def add_vdt_arguments(p) -> None:
    """The VDT and input of the throughput benchmarks (defaults: the quickstart's VDT-Ti/4 on 8x3x32x32, batch 12)."""
    from vdt.model import COMPILE_MODES

    p.add_argument("--size", default="VDT-Ti/4")
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--compile-mode", default="default", choices=[m for m in COMPILE_MODES if m != "no"])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")


def variant_names(text: str, known: dict) -> list[str]:
    """``--variants`` (comma-separated) as a list, refusing names ``known`` lacks."""
    names = text.split(",")
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit(f"unknown variant(s) {sorted(unknown)}; known: {', '.join(known)}")
    return names


def seeded_vdt(args) -> torch.nn.Module:
    """The VDT of ``add_vdt_arguments``, from seed 0, on ``args.device``."""
    from vdt.model import vdt_from_name

    torch.manual_seed(0)
    return vdt_from_name(
        args.size, input_size=args.input_size, in_channels=args.channels, num_frames=args.frames, num_classes=1
    ).to(args.device)


def machine(device: str) -> dict[str, object]:
    """What decides whether bf16 pays on this device: on CPU the processor and its native bf16 instructions
    (AVX512-BF16, AMX), without which bf16 matmuls are emulated and slower than fp32 (docs/design.md §6)."""
    auto = "bf16" if autocast_dtype("auto", device) is not None else "fp32"  # what the configs' default picks
    if device.startswith("cuda"):
        return {"device": torch.cuda.get_device_name(device), "bf16": torch.cuda.is_bf16_supported(), "auto": auto}
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    cpu = torch.cpu  # the probes are private in torch 2.x; absent ones read as unknown
    probe = {k: getattr(cpu, f"_is_{k}_supported", lambda: None)() for k in ("avx512_bf16", "amx_tile")}
    return {"device": name, **probe, "auto": auto}


def machine_line(device: str) -> str:
    m = machine(device)
    flags = ", ".join(
        f"{k} {'yes' if v else 'no' if v is not None else 'unknown'}"
        for k, v in m.items()
        if k not in ("device", "auto")
    )
    return f"# {m['device']}: {flags}; mixed_precision auto runs {m['auto']} here"


def print_header(title: str, args, timed: str, peaks: dict[str, float], model: str = "") -> None:
    """The two header lines: the shape, machine and timing of the run (``timed``: e.g. "10 round-robin calls";
    ``model``: e.g. "1.2M params, "), and the matmul reference."""
    print(
        f"# {title}: {args.size}, {args.frames}x{args.channels}x{args.input_size}x{args.input_size}, "
        f"batch {args.batch}, device {args.device}, {model}torch threads {torch.get_num_threads()}, "
        f"compile mode {args.compile_mode}; medians of {timed}; process peak memory "
        f"{peak_memory_mb(args.device):.0f} MB"
    )
    print(f"# large-matmul reference: fp32 {peaks['fp32'] / 1e9:.1f} GFLOP/s, bf16 {peaks['bf16'] / 1e9:.1f} GFLOP/s")
    print(machine_line(args.device))
