"""``vdt-physion gen-bench CONFIG``: generate clips per configured task with a trained VDT and report FVD (or the
configured network's Fréchet distance) and PSNR / SSIM / MSE, in OUT/results.json and OUT/results.md."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipelines.config.loading import add_overrides_argument, load_config
from pipelines.genbench.bench import run_bench
from pipelines.genbench.config import GenBenchConfig

NAME = "gen-bench"
HELP = "generation benchmark of a trained VDT on a video-folder dataset: FVD, PSNR, SSIM (configs/gen/*.yaml)"
log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path, help="a gen config, e.g. configs/gen/builtin_demo.yaml")
    p.add_argument("--checkpoint", type=Path, help="VDT checkpoint (default: the config's, else gen-train's)")
    p.add_argument("--out", type=Path, help="results folder (default: RUN/bench, RUN = the config's out)")
    add_overrides_argument(p, "bench.n_fake=256")
    p.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    cfg = load_config(args.config, GenBenchConfig, args.overrides)
    run_bench(
        cfg,
        str(args.config),
        checkpoint=args.checkpoint,
        out=args.out,
        device=args.device,
        progress=not args.no_progress,
    )
    return 0
