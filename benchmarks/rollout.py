"""Rollout throughput of the Physion pipeline and what the sampler costs in readout accuracy.

On one small generated set and one pretrained VDT, the rollout stage runs twice: with the fast sampler (default
DDIM 25) and with the paper's 500-step ancestral DDPM sampler. Printed: trials rolled out per second for each,
the fast/slow speed ratio measured in the same run, the rollouts' pixel MSE against copying the last observed
frame, and the test accuracy of the *simulated* readouts (which read the rollouts) at both.

    python benchmarks/rollout.py                           # CPU: Collide, 12 readout + 12 test trials (~12 min)
    python benchmarks/rollout.py --slow ddpm:100 --trials 16 # a quicker look
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipelines.config.loading import validate_config  # noqa: E402
from pipelines.config.physion_run import PhysionRunConfig  # noqa: E402
from pipelines.stages.context import RunContext  # noqa: E402
from pipelines.stages.runner import run_pipeline  # noqa: E402


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/bench_rollout"))
    p.add_argument("--scenario", default="Collide")
    p.add_argument("--trials", type=int, default=12, help="readout and test trials each")
    p.add_argument("--pretrain-steps", type=int, default=300)
    p.add_argument("--fast", default="ddim:25", help="METHOD:STEPS of the fast sampler")
    p.add_argument("--slow", default="ddpm:500", help="METHOD:STEPS of the reference sampler (the paper: ddpm:500)")
    p.add_argument("--batch", type=int, default=64, help="rollout batch size")
    p.add_argument("--json", type=Path, help="write the figures here (default: OUT/figures.json)")
    return p.parse_args()


def config(args, sampler: str) -> PhysionRunConfig:
    method, steps = sampler.split(":")
    return validate_config(
        {
            "name": "bench_rollout",
            "data": {
                "scenarios": [args.scenario],
                "counts": {"training": 16, "readout": args.trials, "test": args.trials},
                "render_resolution": 64,
                "num_frames": 120,
            },
            "model": {"size": "VDT-Ti/4", "resolution": 32, "num_frames": 8, "n_given": 4, "frame_offset": 4},
            "pretrain": {
                "steps": args.pretrain_steps,
                "batch_size": 16,
                "checkpoint_every": 100,
                "preview_every": 10_000,
            },
            "rollout": {"sampler": {"method": method, "steps": int(steps), "batch_size": args.batch}},
            "extract": {"slots": {"steps": 100, "train_clips": 16}},
            "readout": {"cv_folds": 3, "relational": {"epochs": 20}},
            "report": {"strips": 1},
        },
        PhysionRunConfig,
        source="benchmarks/rollout.py",
    )


def main() -> None:
    args = parse()
    shared = args.out / "fast"
    figures = {}
    for label, sampler in (("fast", args.fast), ("slow", args.slow)):
        ctx = RunContext(config(args, sampler), args.out / label, progress=True)
        if label == "slow":  # same data and model: borrow the fast run's generate and pretrain stages
            for stage in ("generate", "pretrain"):
                if not (ctx.root / stage).exists():
                    shutil.copytree(shared / stage, ctx.root / stage)
        run_pipeline(ctx, last="readout")
        seconds = ctx.manifest("rollout")["seconds"]
        mse = ctx.manifest("rollout")["pixel_mse"][args.scenario]
        n = 2 * args.trials
        scores = json.loads((ctx.stage_dir("readout") / "results.json").read_text())["scenarios"][args.scenario]
        figures[label] = {
            "sampler": sampler,
            "seconds": seconds,
            "trials_per_s": n / seconds,
            "mse_model": mse["model"],
            "mse_copy_last": mse["copy_last"],
            **{
                k: scores["readouts"][k]["accuracy"]
                for k in ("vdt/linear/simulated", "slots/relational/simulated", "vdt/linear/full")
            },
        }
    fast, slow = figures["fast"], figures["slow"]
    print(
        f"\n{'sampler':<12} {'trials/s':>9} {'rollout s':>10} {'MSE model':>10} {'MSE copy':>9} {'acc vdt sim':>12} "
        f"{'acc slots sim':>14} {'acc vdt full':>13}"
    )
    for f in (fast, slow):
        print(
            f"{f['sampler']:<12} {f['trials_per_s']:>9.3f} {f['seconds']:>10.1f} {f['mse_model']:>10.4f} "
            f"{f['mse_copy_last']:>9.4f} {f['vdt/linear/simulated']:>12.3f} {f['slots/relational/simulated']:>14.3f} "
            f"{f['vdt/linear/full']:>13.3f}"
        )
    print(
        f"\nfast sampler is {fast['trials_per_s'] / slow['trials_per_s']:.1f}x the trials/s of {slow['sampler']} "
        f"(same data, model and machine, {time.strftime('%Y-%m-%d')})"
    )
    path = args.json or args.out / "figures.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=1))
    print(f"figures: {path}")


if __name__ == "__main__":
    main()
