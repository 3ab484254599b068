"""``vdt-physion generate``: generate a Physion-style store (or one shard of it), merge shards, write previews."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from physion.storage.preview import contact_sheet, write_preview_mp4s
from physion.trial import SPLIT_SIZES as DEFAULT_COUNTS
from pipelines.distributed import shard_argument

# The generator itself (pybullet) is imported in run(), so other subcommands start without loading the engine.

NAME = "generate"
HELP = "generate label-balanced pybullet Physion trials (resumable, shardable), or merge shard folders"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="store folder (created; a rerun resumes)")
    parser.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        metavar="NAME",
        help="built-in name, module:Class or path/file.py:Class; repeatable (default: all 8 built-ins)",
    )
    parser.add_argument(
        "--training", type=_count, default=DEFAULT_COUNTS["training"], help="trials per scenario in the training split"
    )
    parser.add_argument(
        "--readout", type=_count, default=DEFAULT_COUNTS["readout"], help="trials per scenario in the readout split"
    )
    parser.add_argument(
        "--test", type=_count, default=DEFAULT_COUNTS["test"], help="trials per scenario in the test split"
    )
    parser.add_argument("--resolution", type=_positive, default=128, help="square frame size in pixels")
    parser.add_argument("--frames", type=_positive, default=150, help="video frames per trial (physics and labels)")
    parser.add_argument(
        "--frame-stride",
        type=_positive,
        default=1,
        metavar="K",
        help="render and store only every K-th video frame (e.g. the model's frame offset); "
        "labels and first contacts still come from every frame",
    )
    parser.add_argument("--fps", type=_positive, default=30)
    parser.add_argument("--workers", type=_positive, default=2, help="worker processes")
    parser.add_argument(
        "--shard",
        type=shard_argument,
        metavar="I/N",
        help="only this shard of the work, e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
    )
    parser.add_argument("--seed", type=_count, default=0, help="base seed of every trial seed")
    parser.add_argument(
        "--max-tries", type=_positive, default=50, help="seeds tried per trial for a valid trial with the wanted label"
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


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


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
    return generate(
        args.out,
        args.scenarios,
        {"training": args.training, "readout": args.readout, "test": args.test},
        resolution=args.resolution,
        num_frames=args.frames,
        fps=args.fps,
        workers=args.workers,
        shard=args.shard,
        seed=args.seed,
        max_tries=args.max_tries,
        progress=not args.no_progress,
        frame_stride=args.frame_stride,
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
