"""One VDT block: the block as it was before the einops/fusion rewrite (``legacy_forward``, kept here verbatim as
the baseline) against today's ``VDTBlock.forward``, timed interleaved in one process (forward without grad, and
forward + backward), medians over repeats; with ``--profile``, where a block's CPU time goes by op family
(matmuls, attention, LayerNorm, GELU, elementwise modulate/gate, copies), from torch.profiler self times.

    python benchmarks/block.py                                  # VDT-Ti/4 quickstart block: batch 12, 8 frames, 8x8
    python benchmarks/block.py --size VDT-S/2 --batch 4 --frames 16 --grid 8 --profile --json block.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vdt.model import SIZES, VDTBlock  # noqa: E402


def legacy_forward(block: VDTBlock, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The block's forward before the rewrite: explicit transpose/reshape regroupings, unfused modulate and gates."""
    b, t, n, d = x.shape
    if block.temporal:
        xt = x.transpose(1, 2).reshape(b * n, t, d)
        res = block.temporal_fc(legacy_attention(block.temporal_attn, block.temporal_norm1(xt)))
        x = x + res.view(b, n, t, d).transpose(1, 2)
    shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = block.adaLN_modulation(c).chunk(6, dim=1)
    flat = x.reshape(b, t * n, d)
    h = legacy_attention(block.attn, legacy_modulate(block.norm1(flat), shift_msa, scale_msa).view(b * t, n, d))
    flat = flat + gate_msa.unsqueeze(1) * h.view(b, t * n, d)
    flat = flat + gate_mlp.unsqueeze(1) * block.mlp(legacy_modulate(block.norm2(flat), shift_mlp, scale_mlp))
    return flat.view(b, t, n, d)


def legacy_modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def legacy_attention(attn, x: torch.Tensor) -> torch.Tensor:
    n, length, dim = x.shape
    qkv = attn.qkv(x).view(n, length, 3, attn.num_heads, dim // attn.num_heads).permute(2, 0, 3, 1, 4)
    out = torch.nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
    return attn.proj(out.transpose(1, 2).reshape(n, length, dim))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="VDT-Ti/4", choices=list(SIZES))
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--grid", type=int, default=8, help="tokens per frame = grid x grid")
    p.add_argument("--iters", type=int, default=5, help="calls per timing")
    p.add_argument("--repeats", type=int, default=7, help="interleaved timings per variant (the median is reported)")
    p.add_argument("--profile", action="store_true", help="also break the block's time down by op family")
    p.add_argument("--json", type=Path, help="write the figures to this file")
    return p.parse_args()


def build(args) -> tuple[VDTBlock, torch.Tensor, torch.Tensor]:
    spec = SIZES[args.size]
    torch.manual_seed(0)
    block = VDTBlock(spec["hidden_size"], spec["num_heads"], 4.0, temporal=True)
    with torch.no_grad():  # adaLN-Zero starts closed: open it so the gated branches do their real work
        for p in block.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    x = torch.randn(args.batch, args.frames, args.grid**2, spec["hidden_size"], requires_grad=True)
    c = torch.randn(args.batch, spec["hidden_size"])
    return block, x, c


def timed(fn, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters


# Op families by aten name; anything else counts as "other" (views are free and cost only dispatch).
FAMILIES = {
    "matmul": ("addmm", "aten::mm", "bmm", "matmul", "linear"),
    "attention": ("scaled_dot_product", "flash_attention"),
    "layernorm": ("layer_norm",),
    "gelu": ("gelu",),
    "elementwise (modulate, gates, residuals)": ("aten::mul", "aten::add", "addcmul", "silu", "aten::sum"),
    "copies (regroupings)": ("copy_", "clone", "contiguous", "empty_like"),
}


def family(name: str) -> str:
    for fam, keys in FAMILIES.items():
        if any(k in name for k in keys):
            return fam
    return "other"


def profile(fn, iters: int) -> dict:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    fn()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(iters):
            fn()
    by_family: dict[str, float] = {}
    top = []
    for ev in prof.key_averages():
        us = ev.self_cpu_time_total
        by_family[family(ev.key)] = by_family.get(family(ev.key), 0.0) + us
        top.append((us, ev.key, ev.count // iters))
    total = sum(by_family.values())
    top.sort(reverse=True)
    return {
        "share": {k: v / total for k, v in sorted(by_family.items(), key=lambda kv: -kv[1])},
        "top_ops": [{"op": k, "ms_per_call": us / iters / 1e3, "calls": n} for us, k, n in top[:12]],
    }


def main() -> None:
    args = parse()
    block, x, c = build(args)
    variants = {"legacy": lambda z: legacy_forward(block, z, c), "new": lambda z: block(z, c)}

    with torch.no_grad():
        diff = (variants["new"](x) - variants["legacy"](x)).abs().max().item()

    def fwd(f):
        with torch.no_grad():
            f(x)

    def fwd_bwd(f):
        f(x).square().mean().backward()

    results: dict[str, dict] = {}
    for kind, run in (("forward", fwd), ("forward+backward", fwd_bwd)):
        times: dict[str, list[float]] = {name: [] for name in variants}
        for f in variants.values():
            run(f)  # warm-up
        for _ in range(args.repeats):
            for name, f in variants.items():  # interleaved, so that load from other jobs hits both alike
                times[name].append(timed(lambda: run(f), args.iters))
        results[kind] = {
            name: {"median_ms": statistics.median(v) * 1e3, "min_ms": min(v) * 1e3, "max_ms": max(v) * 1e3}
            for name, v in times.items()
        }
    out = {
        "size": args.size,
        "shape": [args.batch, args.frames, args.grid**2, SIZES[args.size]["hidden_size"]],
        "threads": torch.get_num_threads(),
        "max_abs_diff_new_vs_legacy": diff,
        "timings": results,
    }
    print(
        f"# VDT block of {args.size}: x {tuple(out['shape'])}, torch threads {out['threads']}, "
        f"medians of {args.repeats} interleaved timings x {args.iters} calls; max |new - legacy| = {diff:.2e}"
    )
    print(f"{'pass':<17} {'legacy ms':>10} {'new ms':>9} {'new/legacy speed':>16}   spread (min-max ms)")
    for kind, r in results.items():
        lg, nw = r["legacy"], r["new"]
        print(
            f"{kind:<17} {lg['median_ms']:10.2f} {nw['median_ms']:9.2f} {lg['median_ms'] / nw['median_ms']:16.3f}"
            f"   legacy {lg['min_ms']:.1f}-{lg['max_ms']:.1f}, new {nw['min_ms']:.1f}-{nw['max_ms']:.1f}"
        )
    if args.profile:
        out["profile"] = {}
        for name, f in variants.items():
            for kind, run in (("forward", fwd), ("forward+backward", fwd_bwd)):
                p = profile(lambda: run(f), args.iters)
                out["profile"][f"{name} {kind}"] = p
                shares = ", ".join(f"{k} {v:.1%}" for k, v in p["share"].items())
                print(f"# profile {name} {kind}: {shares}")
        for entry in out["profile"]["new forward+backward"]["top_ops"]:
            print(f"#   new fwd+bwd  {entry['op']:<48} {entry['ms_per_call']:8.2f} ms  x{entry['calls']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
