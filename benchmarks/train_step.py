"""Training-step throughput of a VDT: samples/s and tokens/s in fp32, bf16 autocast and fp32 with gradient
checkpointing; achieved FLOP/s as a fraction of this machine's large-matmul FLOP/s measured in the same run
("utilisation"); peak memory. Each variant runs in its own process so its peak memory is its own.

    python benchmarks/train_step.py                      # CPU default: VDT-Ti/4, 32x32x3, 16 frames, batch 8
    python benchmarks/train_step.py --device cuda --size VDT-S/2 --input-size 16 --channels 4 --batch 16
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import count_flops, matmul_peaks, peak_memory_mb, run_variants, sync  # noqa: E402
from vdt.diffusion import GaussianDiffusion  # noqa: E402
from vdt.masks import MaskGenerator  # noqa: E402
from vdt.model import vdt_from_name  # noqa: E402
from vdt.training import masked_loss  # noqa: E402

VARIANTS = {"fp32": (None, False), "bf16": (torch.bfloat16, False), "fp32+ckpt": (None, True)}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="VDT-Ti/4")
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)  # internal: one isolated run
    return p.parse_args()


def measure(args: argparse.Namespace) -> dict:
    amp, ckpt = VARIANTS[args.variant]
    torch.manual_seed(0)
    model = (
        vdt_from_name(
            args.size,
            input_size=args.input_size,
            in_channels=args.channels,
            num_frames=args.frames,
            num_classes=1,
            grad_checkpointing=ckpt,
        )
        .to(args.device)
        .train()
    )
    diffusion = GaussianDiffusion.linear(1000)
    masks = MaskGenerator(args.frames, args.input_size, args.input_size, n_given=args.frames // 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x0 = torch.randn(args.batch, args.frames, args.channels, args.input_size, args.input_size, device=args.device)
    g = torch.Generator().manual_seed(0)

    def step():
        result = masked_loss(model, diffusion, x0, masks, generator=g, amp_dtype=amp)
        opt.zero_grad(set_to_none=True)
        result.loss.backward()
        opt.step()

    flops = count_flops(step)  # also the warm-up step
    sync(args.device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync(args.device)
    seconds = (time.perf_counter() - start) / args.steps
    tokens = args.frames * (args.input_size // model.patch_size) ** 2
    return {
        "variant": args.variant,
        "s_per_step": seconds,
        "samples_per_s": args.batch / seconds,
        "tokens_per_s": args.batch * tokens / seconds,
        "flops_per_s": flops / seconds,
        "peak_mem_mb": peak_memory_mb(args.device),
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
    }


def main() -> None:
    args = parse()
    if args.variant:
        print(json.dumps(measure(args)))
        return
    peaks = matmul_peaks(args.device)
    rows = run_variants(__file__, args, "variant", VARIANTS)
    print(
        f"# VDT train step: {args.size}, {args.frames}x{args.channels}x{args.input_size}x{args.input_size}, "
        f"batch {args.batch}, device {args.device}, {rows[0]['params_m']:.2f}M params, torch threads "
        f"{torch.get_num_threads()}"
    )
    print(f"# large-matmul reference: fp32 {peaks['fp32'] / 1e9:.1f} GFLOP/s, bf16 {peaks['bf16'] / 1e9:.1f} GFLOP/s")
    print(
        f"{'variant':<10} {'s/step':>8} {'samples/s':>10} {'tokens/s':>10} {'GFLOP/s':>8} {'util':>6} "
        f"{'peak MB':>8} {'speed vs fp32':>13} {'mem vs fp32':>11}"
    )
    base = rows[0]
    for r in rows:
        ref = peaks["bf16" if r["variant"] == "bf16" else "fp32"]
        print(
            f"{r['variant']:<10} {r['s_per_step']:8.3f} {r['samples_per_s']:10.2f} {r['tokens_per_s']:10.0f} "
            f"{r['flops_per_s'] / 1e9:8.1f} {r['flops_per_s'] / ref:6.1%} {r['peak_mem_mb']:8.0f} "
            f"{r['samples_per_s'] / base['samples_per_s']:13.2f} {r['peak_mem_mb'] / base['peak_mem_mb']:11.2f}"
        )


if __name__ == "__main__":
    main()
