"""Training-step throughput of a VDT (fwd + bwd + AdamW): eager fp32, eager bf16 autocast, compiled fp32 and
compiled bf16 (torch.compile of the blocks in place, as ``vdt.model.compile_vdt``), optionally fp32 with gradient
checkpointing; s/step, samples/s, tokens/s, achieved FLOP/s as a fraction of this machine's large-matmul FLOP/s
measured in the same run ("utilisation"), and each variant's speed as a ratio to the first (eager fp32). Compile
time (the first steps' extra time over a steady step) is reported apart. All variants live in one process, each
with its own model and optimizer from the same initial weights, and are timed round-robin (one step each, then
again, ``--repeats`` times): on a shared machine other jobs' load then hits them alike. Figures are medians with
their range; "best vs best" is the ratio of the fastest steps, which other jobs disturb least. Peak memory is per variant on CUDA; on CPU only the process's peak resident set is known.

    python benchmarks/train_step.py                      # the quickstart's shape: VDT-Ti/4, 8x3x32x32, batch 12
    python benchmarks/train_step.py --size VDT-S/2 --input-size 16 --channels 4 --frames 16 --batch 4  # 8x8 tokens
    python benchmarks/train_step.py --device cuda --size VDT-S/2 --input-size 16 --channels 4 --batch 16 --json t.json
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
from vdt.loss_and_ema import masked_loss  # noqa: E402
from vdt.masks import MaskGenerator  # noqa: E402
from vdt.model import compile_vdt  # noqa: E402

# name: (autocast dtype, compiled, gradient checkpointing)
VARIANTS = {
    "fp32": (None, False, False),
    "bf16": (torch.bfloat16, False, False),
    "compiled-fp32": (None, True, False),
    "compiled-bf16": (torch.bfloat16, True, False),
    "fp32+ckpt": (None, False, True),
}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_vdt_arguments(p)
    p.add_argument("--repeats", type=int, default=5, help="timed steps per variant, round-robin")
    p.add_argument(
        "--variants",
        default="fp32,bf16,compiled-fp32,compiled-bf16",
        help=f"comma-separated, of: {', '.join(VARIANTS)} (the first is the baseline of the ratios)",
    )
    p.add_argument("--json", type=Path, help="write the figures to this file")
    return p.parse_args()


class Variant:
    """One model + optimizer trained in one configuration; ``step()`` runs one step and returns its seconds."""

    def __init__(self, name: str, base: torch.nn.Module, args: argparse.Namespace):
        self.name = name
        self.amp, self.compiled, ckpt = VARIANTS[name]
        self.model = copy.deepcopy(base)
        self.model.grad_checkpointing = ckpt
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        self.diffusion = GaussianDiffusion.linear(1000)
        self.masks = MaskGenerator(args.frames, args.input_size, args.input_size, n_given=args.frames // 2)
        self.x0 = torch.randn(
            args.batch, args.frames, args.channels, args.input_size, args.input_size, device=args.device
        )
        self.g = torch.Generator().manual_seed(0)
        self.device = args.device
        self.compile_s = 0.0
        self.peak_mb = None  # CUDA only: the peak of this variant's latest step

    def step(self) -> float:
        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        bench.sync(self.device)
        start = time.perf_counter()
        result = masked_loss(self.model, self.diffusion, self.x0, self.masks, generator=self.g, amp_dtype=self.amp)
        self.opt.zero_grad(set_to_none=True)
        result.loss.backward()
        self.opt.step()
        bench.sync(self.device)
        seconds = time.perf_counter() - start
        if self.device.startswith("cuda"):
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        return seconds

    def warm_up(self, compile_mode: str) -> None:
        self.step()  # eager: allocator and AdamW state
        if self.compiled:
            compile_vdt(self.model, compile_mode)
            first, second = self.step(), self.step()  # forward graph, then the backward graph settles
            steady = min(self.step(), self.step())
            self.compile_s = first + second - 2 * steady


def main() -> None:
    args = parse()
    names = bench.variant_names(args.variants, VARIANTS)
    peaks = bench.matmul_peaks(args.device)
    base = bench.seeded_vdt(args)
    base.train()
    variants = [Variant(name, base, args) for name in names]
    flops = bench.count_flops(variants[0].step)  # eager; the counter sees aten ops (also a warm-up step)
    for v in variants:
        v.warm_up(args.compile_mode)
    times = bench.interleaved({v.name: v.step for v in variants}, args.repeats)
    tokens = args.frames * (args.input_size // base.patch_size) ** 2
    rows = []
    for v in variants:
        s = bench.spread(times[v.name])
        rows.append(
            {
                "variant": v.name,
                "s_per_step": s["median"],
                "s_min": s["min"],
                "s_max": s["max"],
                "compile_s": v.compile_s,
                "samples_per_s": args.batch / s["median"],
                "tokens_per_s": args.batch * tokens / s["median"],
                "flops_per_s": flops / s["median"],
                "peak_mem_mb": v.peak_mb,
            }
        )
    params_m = sum(p.numel() for p in base.parameters()) / 1e6
    bench.print_header(
        "VDT train step", args, f"{args.repeats} round-robin steps", peaks, model=f"{params_m:.2f}M params, "
    )
    print(
        f"{'variant':<14} {'s/step':>7} {'(min-max)':>13} {'samples/s':>9} {'tokens/s':>9} {'GFLOP/s':>7} "
        f"{'util':>6} {'compile s':>9} {f'speed vs {names[0]}':>14} {'best vs best':>12}"
    )
    for r in rows:
        ref = bench.reference_peak(peaks, r["variant"])
        print(
            f"{r['variant']:<14} {r['s_per_step']:7.3f} {r['s_min']:6.3f}-{r['s_max']:<6.3f} "
            f"{r['samples_per_s']:9.2f} {r['tokens_per_s']:9.0f} {r['flops_per_s'] / 1e9:7.1f} "
            f"{r['flops_per_s'] / ref:6.1%} {r['compile_s']:9.1f} "
            f"{r['samples_per_s'] / rows[0]['samples_per_s']:14.2f} {rows[0]['s_min'] / r['s_min']:12.2f}"
            + ("" if r["peak_mem_mb"] is None else f"  peak {r['peak_mem_mb']:.0f} MB")
        )
    if args.json:
        out = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "peaks": peaks,
            "machine": bench.machine(args.device),
            "flops_per_step": flops,
        }
        args.json.write_text(json.dumps({**out, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
