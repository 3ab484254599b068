"""The GPU check: does the project's GPU path work, and how fast is it? Meant to finish within 8 minutes on one GPU.

1. VDT-S/2 and VDT-L/2 (16 frames of 16x16x4 latents, the official Physion shape): train step (fwd + bwd + AdamW)
   and sampling NFE/s in bf16, eager and torch.compile'd (compile time reported apart), with peak
   ``torch.cuda.max_memory_allocated``; ratios to eager in the same run.
2. The real stages: generate Collide at 64 px, pretrain for ``--pretrain-seconds`` worth of steps (measured speed),
   roll out, and the rollout pixel MSE against copy-last.
Fails loudly (exit 1) when no GPU is visible.

    python benchmarks/gpu_check.py --json gpu.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import sync  # noqa: E402
from vdt.diffusion import GaussianDiffusion  # noqa: E402
from vdt.loss_and_ema import masked_loss  # noqa: E402
from vdt.masks import MaskGenerator  # noqa: E402
from vdt.model import vdt_from_name  # noqa: E402
from vdt.samplers import sample  # noqa: E402

RELEASE_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "release" / "vdt_ti4_physion32.yaml"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="*", default=["VDT-S/2", "VDT-L/2"])
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=5, help="timed train steps / sampler calls per measurement")
    p.add_argument("--pretrain-seconds", type=float, default=120.0)
    p.add_argument("--out", type=Path, default=Path("runs/gpu_check"))
    p.add_argument("--json", type=Path)
    return p.parse_args()


def throughput(size: str, batch: int, steps: int, compiled: bool) -> dict:
    torch.manual_seed(0)
    torch.cuda.reset_peak_memory_stats()
    model = vdt_from_name(size, input_size=16, in_channels=4, num_frames=16, num_classes=1).cuda().train()
    net = torch.compile(model) if compiled else model
    diffusion = GaussianDiffusion.linear(1000)
    masks = MaskGenerator(16, 16, 16, n_given=8)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x0 = torch.randn(batch, 16, 4, 16, 16, device="cuda")

    def train_step():
        loss = masked_loss(net, diffusion, x0, masks, amp_dtype=torch.bfloat16).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    tick = time.perf_counter()
    train_step()  # warm-up, and the compilation when compiled
    sync("cuda")
    first = time.perf_counter() - tick
    tick = time.perf_counter()
    for _ in range(steps):
        train_step()
    sync("cuda")
    step_s = (time.perf_counter() - tick) / steps

    net.eval()

    def fn(x, t):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return net(x, t)

    d = diffusion.respace("ddim8")
    sample(fn, d, tuple(x0.shape), device="cuda")  # warm-up (and compile for eval)
    sync("cuda")
    tick = time.perf_counter()
    for _ in range(max(1, steps // 2)):
        sample(fn, d, tuple(x0.shape), device="cuda")
    sync("cuda")
    nfe_s = 8 * max(1, steps // 2) * batch / (time.perf_counter() - tick)
    return {
        "size": size,
        "compiled": compiled,
        "train_step_s": step_s,
        "first_step_s": first,
        "sampling_nfe_per_s": nfe_s,
        "peak_mem_gb": torch.cuda.max_memory_allocated() / 2**30,
    }


def stage_config(pretrain_steps: int):
    """The 2-minute run through the real stages: generated Collide at 64 px, VDT-S/2, the released recipe."""
    from pipelines.config.loading import load_config, validate_config
    from pipelines.config.physion_run import PhysionRunConfig

    release = load_config(RELEASE_CONFIG, PhysionRunConfig).pretrain
    recipe = release.model_dump(mode="json", include={"prediction", "n_given_range", "mask_weights", "ema_decay"})
    raw = {
        "name": "gpu_check",
        "data": {"scenarios": ["Collide"], "counts": {"training": 64, "readout": 16, "test": 16}, "num_frames": 120},
        "model": {"size": "VDT-S/2", "resolution": 64, "num_frames": 8, "n_given": 4, "frame_offset": 4},
        "pretrain": {
            "steps": pretrain_steps,
            "batch_size": 32,
            "lr": 1e-3,
            "warmup_steps": 50,
            "schedule": "cosine",
            **recipe,
            "mixed_precision": "bf16",
            "checkpoint_every": 500,
        },
        "rollout": {"sampler": {"method": "dpmpp2m", "steps": 2, "mixed_precision": "bf16"}, "context": 3},
    }
    return validate_config(raw, PhysionRunConfig, source="gpu_check")


def stages(args) -> dict:
    from pipelines.stages.context import RunContext
    from pipelines.stages.runner import run_pipeline

    probe = throughput("VDT-S/2", 32, 3, compiled=False)
    config = stage_config(max(50, min(2000, int(args.pretrain_seconds / probe["train_step_s"]))))  # cap: 2000
    ctx = RunContext(config, args.out, progress=False)
    tick = time.perf_counter()
    run_pipeline(ctx, last="rollout")
    errors = ctx.manifest("rollout")["pixel_mse"]["Collide"]
    return {
        "pretrain_steps": config.pretrain.steps,
        "seconds": time.perf_counter() - tick,
        "rollout_mse": errors["model"],
        "copy_last_mse": errors["copy_last"],
        "ratio": errors["model"] / errors["copy_last"],
    }


def main() -> int:
    args = parse()
    if not torch.cuda.is_available():
        print(
            "gpu_check: no GPU is visible (torch.cuda.is_available() is False): nothing was measured", file=sys.stderr
        )
        return 1
    results = {"device": torch.cuda.get_device_name(), "throughput": []}
    for size in args.sizes:
        eager = throughput(size, args.batch, args.steps, compiled=False)
        comp = throughput(size, args.batch, args.steps, compiled=True)
        results["throughput"] += [eager, comp]
        print(
            f"{size}: train step {eager['train_step_s'] * 1e3:.0f} ms eager, compiled "
            f"{eager['train_step_s'] / comp['train_step_s']:.2f}x (compile {comp['first_step_s']:.0f} s); "
            f"sampling {eager['sampling_nfe_per_s']:.0f} NFE/s eager, compiled "
            f"{comp['sampling_nfe_per_s'] / eager['sampling_nfe_per_s']:.2f}x; peak {eager['peak_mem_gb']:.1f} GB",
            flush=True,
        )
    results["stages"] = stages(args)
    s = results["stages"]
    print(
        f"stages: {s['pretrain_steps']} pretrain steps + rollout in {s['seconds']:.0f} s; rollout MSE "
        f"{s['ratio']:.2f}x copy-last ({s['rollout_mse']:.5f} vs {s['copy_last_mse']:.5f})"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
