"""``vdt-physion gen-train CONFIG``: train a VDT on a gen config's video folder with the project's one training
loop (pipelines.training.train_vdt), and record the final checkpoint for gen-bench in RUN/train/trained.json."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from physion.atomic import write_json_atomic
from pipelines.config.loading import add_overrides_argument, load_config, preflight
from pipelines.genbench.bench import TRAINED_MARKER
from pipelines.genbench.builtin import ensure_physion_demo
from pipelines.genbench.config import GenBenchConfig
from pipelines.genbench.video_folder import VideoFolder

NAME = "gen-train"
HELP = "train a VDT on a gen config's video dataset (configs/gen/*.yaml) for gen-bench"
log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path, help="a gen config, e.g. configs/gen/builtin_demo.yaml")
    p.add_argument("--out", type=Path, help="run folder (default: the config's out, else runs/gen/<name>)")
    add_overrides_argument(p, "pretrain.steps=100")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    overrides = list(args.overrides) + ([f"out={args.out}"] if args.out else [])
    cfg = load_config(args.config, GenBenchConfig, overrides)
    preflight(cfg, str(args.config), cfg.required_paths("train"))
    from pipelines.training import train_vdt  # the lead's loop; imported here so other commands never need it

    if cfg.data.builtin:
        ensure_physion_demo(cfg.data.path, progress=not args.no_progress)
    m = cfg.model
    dataset = VideoFolder(
        cfg.data.split_root(cfg.data.train_split),
        m.num_frames,
        m.frame_offset,
        m.resolution,
        cfg.data.crop,
        cfg.data.clips,
        skip_bad=cfg.data.skip_bad,
        group_pattern=cfg.data.group_pattern,
        seed=cfg.seed,
        progress=not args.no_progress,
    )
    log.info("training on %s", dataset.describe())
    train_dir = cfg.run_dir / "train"
    checkpoint = train_vdt(
        dataset,
        model=cfg.model,
        latent=cfg.latent,
        pretrain=cfg.pretrain,
        out_dir=train_dir,
        seed=cfg.seed,
        progress=not args.no_progress,
        preview_sampler=cfg.sampler,
    )
    write_json_atomic(
        train_dir / TRAINED_MARKER,
        {"checkpoint": str(checkpoint), "data": dataset.describe(), "split": cfg.data.train_split},
    )
    log.info("trained %s; gen-bench will use it (%s)", checkpoint, train_dir / TRAINED_MARKER)
    return 0
