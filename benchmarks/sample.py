"""Sampling throughput of a VDT: network evaluations per second (NFE/s) in eager fp32, eager bf16 autocast,
compiled fp32 and compiled bf16 (torch.compile of the whole forward in place, as the rollout stage does with
``vdt.model.compile_vdt(..., scope="forward")``; ``compiled-bf16-blocks`` compiles each block instead, as training
does), each as a ratio to eager fp32, with the compile time (first call over a steady one) apart; utilisation against the
machine's large-matmul FLOP/s measured in the same run; peak memory (per variant on CUDA); and the wall time of a
"predict" completion with a fast DDIM sampler against the ancestral DDPM sampler (``--ddpm-steps``; the paper's
500). All variants share one process (an eager model and a compiled copy) and are timed round-robin, one call
each, ``--nfe`` times, so that other jobs' load on a shared machine hits them alike; figures are medians with
their range ("best vs best": the ratio of the fastest calls, which other jobs disturb least), and each variant's
output is compared with eager's in the same dtype.

    python benchmarks/sample.py                          # the quickstart's shape: VDT-Ti/4, 8x3x32x32, batch 12
    python benchmarks/sample.py --size VDT-S/2 --input-size 16 --channels 4 --frames 16 --batch 4   # 8x8 tokens
    python benchmarks/sample.py --device cuda --size VDT-L/2 --input-size 16 --channels 4 --batch 8 --ddpm-steps 500
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _common as bench  # noqa: E402
from vdt.diffusion import GaussianDiffusion  # noqa: E402
from vdt.model import compile_vdt  # noqa: E402
from vdt.video_tasks import complete  # noqa: E402

# name: (autocast dtype, compile scope or None for eager)
VARIANTS = {
    "fp32": (None, None),
    "bf16": (torch.bfloat16, None),
    "compiled-fp32": (None, "forward"),
    "compiled-bf16": (torch.bfloat16, "forward"),
    "compiled-bf16-blocks": (torch.bfloat16, "blocks"),
}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_vdt_arguments(p)
    p.add_argument("--nfe", type=int, default=10, help="network evaluations timed per variant")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    p.add_argument("--ddim-steps", type=int, default=25)
    p.add_argument("--ddpm-steps", type=int, default=100, help="the paper samples with 500; lower keeps CPU runs short")
    p.add_argument("--no-sampler-times", action="store_true", help="skip the DDIM/DDPM completion timing")
    p.add_argument("--json", type=Path, help="write the rows and the matmul reference to this file")
    return p.parse_args()


def build(args):
    model = bench.seeded_vdt(args).eval()
    with torch.no_grad():  # past adaLN-Zero, so the work is representative
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.02)
    return model


@torch.no_grad()
def measure(args, names: list[str]) -> list[dict]:
    """All variants in one process (an eager model and a compiled copy of it), timed round-robin."""
    eager = build(args)
    compiled = {
        scope: compile_vdt(copy.deepcopy(eager), args.compile_mode, scope)
        for scope in sorted({VARIANTS[name][1] for name in names} - {None})
    }
    x = torch.randn(args.batch, args.frames, args.channels, args.input_size, args.input_size, device=args.device)
    t = torch.full((args.batch,), 500, device=args.device)
    outputs: dict[str, torch.Tensor] = {}
    peaks: dict[str, float | None] = {}

    def nfe(name: str) -> float:
        amp, scope = VARIANTS[name]
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        bench.sync(args.device)
        start = time.perf_counter()
        with bench.autocast(args.device, amp):
            outputs[name] = (compiled[scope] if scope else eager)(x, t)
        bench.sync(args.device)
        seconds = time.perf_counter() - start
        peaks[name] = torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") else None
        return seconds

    flops = bench.count_flops(lambda: nfe(names[0]))  # eager: the counter sees aten ops
    compile_s = {}
    for name in names:
        first = nfe(name)
        compile_s[name] = first - min(nfe(name), nfe(name)) if VARIANTS[name][1] else 0.0
    times = bench.interleaved({name: (lambda n=name: nfe(n)) for name in names}, args.nfe)
    rows = []
    for name in names:
        s = bench.spread(times[name])
        eager_twin = "bf16" if VARIANTS[name][0] is not None else "fp32"  # the same dtype, uncompiled
        if eager_twin not in outputs:
            nfe(eager_twin)
        rows.append(
            {
                "variant": name,
                "s_per_nfe": s["median"],
                "s_min": s["min"],
                "s_max": s["max"],
                "compile_s": compile_s[name],
                "max_abs_diff_vs_eager": (outputs[name].float() - outputs[eager_twin].float()).abs().max().item(),
                "nfe_per_s": 1 / s["median"],
                "samples_nfe_per_s": args.batch / s["median"],
                "flops_per_s": flops / s["median"],
                "peak_mem_mb": peaks[name],
            }
        )
    return rows


@torch.no_grad()
def sampler_times(args) -> dict:
    model = build(args)
    full = GaussianDiffusion.linear(1000)
    video = torch.randn(args.batch, args.frames, args.channels, args.input_size, args.input_size)
    out = {}
    for name, diffusion, method in (
        ("ddim", full.respace(f"ddim{args.ddim_steps}"), "ddim"),
        ("ddpm", full.respace(args.ddpm_steps), "ddpm"),
    ):
        start = time.perf_counter()
        complete(
            model,
            diffusion,
            video,
            "predict",
            n_given=args.frames // 2,
            method=method,
            generator=torch.Generator().manual_seed(0),
            amp_dtype=torch.bfloat16,
        )
        bench.sync(args.device)
        out[name] = time.perf_counter() - start
    return out


def main() -> None:
    args = parse()
    names = bench.variant_names(args.variants, VARIANTS)
    peaks = bench.matmul_peaks(args.device)
    rows = measure(args, names)
    bench.print_header("VDT sampling", args, f"{args.nfe} round-robin calls", peaks)
    print(
        f"{'variant':<14} {'NFE/s':>7} {'s/NFE (min-max)':>22} {'video-NFE/s':>11} {'GFLOP/s':>8} {'util':>6} "
        f"{'compile s':>9} {f'speed vs {names[0]}':>14} {'best vs best':>12} {'|out - eager|':>13}"
    )
    for r in rows:
        ref = bench.reference_peak(peaks, r["variant"])
        print(
            f"{r['variant']:<14} {r['nfe_per_s']:7.2f} {r['s_per_nfe']:7.3f} ({r['s_min']:.3f}-{r['s_max']:.3f}) "
            f"{r['samples_nfe_per_s']:11.2f} {r['flops_per_s'] / 1e9:8.1f} {r['flops_per_s'] / ref:6.1%} "
            f"{r['compile_s']:9.1f} {r['nfe_per_s'] / rows[0]['nfe_per_s']:14.2f} "
            f"{rows[0]['s_min'] / r['s_min']:12.2f} {r['max_abs_diff_vs_eager']:13.1e}"
            + ("" if r["peak_mem_mb"] is None else f"  peak {r['peak_mem_mb']:.0f} MB")
        )
    out = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "peaks": peaks,
        "machine": bench.machine(args.device),
        "rows": rows,
    }
    if not args.no_sampler_times:
        times = sampler_times(args)
        out["sampler_s"] = times
        print(
            f"# predict completion of {args.batch} videos (bf16): DDIM-{args.ddim_steps} {times['ddim']:.2f} s, "
            f"DDPM-{args.ddpm_steps} {times['ddpm']:.2f} s, speed-up {times['ddpm'] / times['ddim']:.1f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
