"""``vdt-physion generate``: generate a Physion-style store (or one shard of it), merge shards, write previews."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from physion.storage.preview import contact_sheet, write_preview_mp4s
from physion.trial import FPS, SPLITS
from pipelines.config.loading import validate_config
from pipelines.config.physion_run import STORE_ONLY, DataConfig
from pipelines.config.sections import ModelConfig
from pipelines.distributed import shard_argument

# The generator itself (pybullet) is imported in run(), so other subcommands start without loading the engine.

NAME = "generate"
HELP = "generate label-balanced pybullet Physion trials (resumable, shardable), or merge shard folders"
log = logging.getLogger(__name__)
# The settings are a run's `data` section (DataConfig): its defaults and checks, so a store made here is the store
# a run with the same settings would make. Flags left out keep the section's defaults, shown in --help.
DATA = DataConfig()
# A run renders at model.resolution (render_resolution 'model'); a store alone, at the default model's.
RESOLUTION = DATA.rendering(ModelConfig())[0]
FLAGS = {  # DataConfig field -> (flag, help)
    "num_frames": ("--frames", "video frames per trial (physics and labels)"),
    "workers": ("--workers", "worker processes"),
    "seed": ("--seed", "base seed of every trial seed"),
    "max_tries": ("--max-tries", "seeds tried per trial for a valid trial with the wanted label"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        f"{HELP}. The settings are a run's `data` section, validated as one (errors name its keys); every default "
        "is that section's, except --frame-stride (1: every frame, so the store serves any model and --preview)."
    )
    parser.add_argument("--out", required=True, type=Path, help="store folder (created; a rerun resumes)")
    parser.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        metavar="NAME",
        help="built-in name, module:Class or path/file.py:Class; repeatable (data.scenarios; default: all 8 built-ins)",
    )
    for split in SPLITS:
        parser.add_argument(
            f"--{split}",
            type=int,
            default=None,
            metavar="N",
            help=f"trials per scenario in the {split} split (data.counts.{split}; default {DATA.counts[split]})",
        )
    parser.add_argument(
        "--resolution",
        type=int,
        default=None,
        metavar="PX",
        help=f"square frame size in pixels (data.render_resolution; default {RESOLUTION}: model.resolution)",
    )
    parser.add_argument(
        "--frame-stride",
        type=int,
        default=1,
        metavar="K",
        help="render and store only every K-th video frame (data.frame_stride, e.g. the model's frame offset; "
        "default 1); labels and first contacts still come from every frame",
    )
    parser.add_argument("--fps", type=int, default=FPS, help=f"frames per second (default {FPS}, as in a run)")
    for field, (flag, text) in FLAGS.items():
        default = getattr(DATA, field)
        parser.add_argument(
            flag, dest=field, type=int, default=None, metavar="N", help=f"{text} (data.{field}; default {default})"
        )
    parser.add_argument(
        "--shard",
        type=shard_argument,
        metavar="I/N",
        help="only this shard of the work, e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
    )
    parser.add_argument("--preview", action="store_true", help="also write OUT/preview/contact_sheet.png and MP4s")
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="merge these shard folders into --out instead of generating",
    )
    parser.add_argument("--move", action="store_true", help="with --merge: move trial files instead of copying")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in batch logs)")


def data_settings(args: argparse.Namespace) -> DataConfig:
    """The flags as a validated `data` section: flags left out keep its defaults; a bad value is a ConfigError."""
    flags = {
        "scenarios": args.scenarios,
        "render_resolution": args.resolution,
        "frame_stride": args.frame_stride,
        **{field: getattr(args, field) for field in FLAGS},
    }
    raw = {"source": "generate", **{key: value for key, value in flags.items() if value is not None}}
    raw["counts"] = {
        split: DATA.counts[split] if getattr(args, split) is None else getattr(args, split) for split in SPLITS
    }
    return validate_config(raw, DataConfig, source="vdt-physion generate", context={STORE_ONLY: True})


def preview_frames(num_frames: int, count: int = 5) -> tuple[int, ...]:
    """``count`` frames one-fifth of the trial apart: (0, 30, 60, 90, 120) for 150 frames."""
    step = max(1, num_frames // count)
    return tuple(range(0, num_frames, step))[:count]


def run(args: argparse.Namespace) -> int:
    # A bad folder, a settings mismatch, an unknown scenario, an unreachable label, a full disk: pipelines.cli
    # prints each as one line with its exit code.
    manifest = _generate_or_merge(args)
    _log_summary(manifest)
    if args.preview:
        preview = args.out / "preview"
        frames = preview_frames(manifest["settings"]["num_frames"])
        contact_sheet(args.out, preview / "contact_sheet.png", frames=frames)
        write_preview_mp4s(args.out, preview)
        log.info("previews written to %s", preview)
    return 0


def _generate_or_merge(args: argparse.Namespace) -> dict:
    from physion.generation.generate_store import generate, merge_shards

    if args.preview and args.frame_stride != 1:
        # physion.storage.preview indexes frames by video frame; on a strided store it would show the wrong ones.
        raise SystemExit("--preview needs every frame stored: it does not go with --frame-stride > 1")
    if args.merge:
        if args.shard is not None:
            raise SystemExit("--merge and --shard do not go together: merge writes one unsharded store")
        return merge_shards(args.out, args.merge, move=args.move, progress=not args.no_progress)
    data = data_settings(args)
    resolution, stride = data.rendering(ModelConfig())
    return generate(
        args.out,
        data.scenarios,
        data.counts,
        resolution=resolution,
        num_frames=data.num_frames,
        fps=args.fps,
        workers=data.workers,
        shard=args.shard,
        seed=data.seed,
        max_tries=data.max_tries,
        progress=not args.no_progress,
        frame_stride=stride,
    )


def _log_summary(manifest: dict) -> None:
    for split, scenarios in manifest["summary"].items():
        for scenario, s in scenarios.items():
            log.info(
                "%s/%s: %d trials, %.1f%% positive, %.2f tries per trial, first contact median %s",
                split,
                scenario,
                s["trials"],
                100 * s["positive_fraction"],
                s["tries_mean"] or 0,
                s["first_contact"].get("median", "-"),
            )
