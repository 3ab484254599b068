"""Sampling throughput of a VDT: network evaluations per second (NFE/s) in fp32 and bf16 autocast, utilisation
against the machine's large-matmul FLOP/s measured in the same run, peak memory, and the wall time of a
"predict" completion with a fast DDIM sampler against the ancestral DDPM sampler at the paper's step count.

    python benchmarks/sample.py                          # CPU default: VDT-Ti/4, 32x32x3, 16 frames, batch 4
    python benchmarks/sample.py --device cuda --size VDT-L/2 --input-size 16 --channels 4 --batch 8 --ddpm-steps 500
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import autocast, count_flops, matmul_peaks, peak_memory_mb, run_variants, sync  # noqa: E402
from vdt.diffusion import GaussianDiffusion  # noqa: E402
from vdt.model import vdt_from_name  # noqa: E402
from vdt.sampling import complete  # noqa: E402

DTYPES = {"fp32": None, "bf16": torch.bfloat16}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="VDT-Ti/4")
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--nfe", type=int, default=10, help="network evaluations timed per dtype")
    p.add_argument("--ddim-steps", type=int, default=25)
    p.add_argument("--ddpm-steps", type=int, default=100, help="the paper samples with 500; lower keeps CPU runs short")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=list(DTYPES), help=argparse.SUPPRESS)  # internal: one isolated run
    return p.parse_args()


def build(args):
    torch.manual_seed(0)
    model = (
        vdt_from_name(
            args.size, input_size=args.input_size, in_channels=args.channels, num_frames=args.frames, num_classes=1
        )
        .to(args.device)
        .eval()
    )
    with torch.no_grad():  # past adaLN-Zero, so the work is representative
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.02)
    return model


@torch.no_grad()
def measure(args) -> dict:
    model = build(args)
    amp = DTYPES[args.dtype]
    x = torch.randn(args.batch, args.frames, args.channels, args.input_size, args.input_size, device=args.device)
    t = torch.full((args.batch,), 500, device=args.device)

    def nfe():
        with autocast(args.device, amp):
            model(x, t)

    flops = count_flops(nfe)
    sync(args.device)
    start = time.perf_counter()
    for _ in range(args.nfe):
        nfe()
    sync(args.device)
    seconds = (time.perf_counter() - start) / args.nfe
    return {
        "dtype": args.dtype,
        "nfe_per_s": 1 / seconds,
        "samples_nfe_per_s": args.batch / seconds,
        "flops_per_s": flops / seconds,
        "peak_mem_mb": peak_memory_mb(args.device),
    }


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
        sync(args.device)
        out[name] = time.perf_counter() - start
    return out


def main() -> None:
    args = parse()
    if args.dtype:
        print(json.dumps(measure(args)))
        return
    peaks = matmul_peaks(args.device)
    rows = run_variants(__file__, args, "dtype", DTYPES)
    print(
        f"# VDT sampling: {args.size}, {args.frames}x{args.channels}x{args.input_size}x{args.input_size}, "
        f"batch {args.batch}, device {args.device}"
    )
    print(f"# large-matmul reference: fp32 {peaks['fp32'] / 1e9:.1f} GFLOP/s, bf16 {peaks['bf16'] / 1e9:.1f} GFLOP/s")
    print(
        f"{'dtype':<6} {'NFE/s':>7} {'video-NFE/s':>11} {'GFLOP/s':>8} {'util':>6} {'peak MB':>8} {'speed vs fp32':>13}"
    )
    for r in rows:
        print(
            f"{r['dtype']:<6} {r['nfe_per_s']:7.2f} {r['samples_nfe_per_s']:11.2f} {r['flops_per_s'] / 1e9:8.1f} "
            f"{r['flops_per_s'] / peaks[r['dtype']]:6.1%} {r['peak_mem_mb']:8.0f} "
            f"{r['nfe_per_s'] / rows[0]['nfe_per_s']:13.2f}"
        )
    times = sampler_times(args)
    print(
        f"# predict completion of {args.batch} videos (bf16): DDIM-{args.ddim_steps} {times['ddim']:.2f} s, "
        f"DDPM-{args.ddpm_steps} {times['ddpm']:.2f} s, speed-up {times['ddpm'] / times['ddim']:.1f}x"
    )


if __name__ == "__main__":
    main()
