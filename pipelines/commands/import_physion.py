"""``vdt-physion import-physion``: convert a real Physion download (MP4 or tdw HDF5 layouts) into a trial store."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from physion.errors import PhysionDataError
from physion.real_data.import_store import import_layout, parse_split_map
from physion.real_data.layout_scan import is_skippable
from physion.real_data.layouts import SCENARIO_PER_TRIAL, TEST_VIDEO_FOLDERS
from physion.trial import SCENARIOS

NAME = "import-physion"
HELP = (
    "convert PhysionTrainMP4s / PhysionTestMP4s / Physion v1.5 (physion_mp4s) / tdw_physics output folders / "
    "a folder of MP4s + metadata.json / tdw HDF5 folders into a trial store (docs/real_data.md)"
)
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="the layout's root folder (e.g. .../PhysionTrainMP4s)")
    parser.add_argument("--out", required=True, type=Path, help="store folder (created; existing trials are kept)")
    parser.add_argument(
        "--split-map",
        action="append",
        metavar="SOURCE=SPLIT",
        default=[],
        help="send a source split or folder name to training/readout/test, e.g. readout=test; "
        "'*=readout' for any folder not named after a split; repeatable. Physion v1.5 "
        "defaults to train=readout test=test (train=training imports it for pretraining)",
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        help=f"force every trial's scenario ({', '.join(SCENARIO_PER_TRIAL)} layouts), e.g. for "
        "tdw_physics output whose names, controller and folder name none",
    )
    parser.add_argument(
        "--keep-invalid",
        action="store_true",
        help="also import trials a tdw_physics metadata.json marks is_trial_valid: false "
        "(left out and listed in import_log.json by default)",
    )
    parser.add_argument(
        "--exclude-list",
        type=Path,
        metavar="FILE",
        help="stimulus names to leave out (one per line, e.g. the benchmark's glitchy test stimuli); "
        "they are listed in import_log.json",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip unreadable files, unlabelled videos and label rows without a video, "
        "recording each in import_log.json, instead of stopping at the first",
    )
    parser.add_argument("--max-trials", type=int, metavar="N", help="at most N trials per split and scenario")
    parser.add_argument("--overwrite", action="store_true", help="rewrite trials already in the store")
    parser.add_argument(
        "--test-videos",
        choices=TEST_VIDEO_FOLDERS,
        default="mp4s-redyellow",
        help="which PhysionTestMP4s video folder to import (models use mp4s-redyellow)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in batch logs)")


def run(args: argparse.Namespace) -> int:
    try:
        split_map = parse_split_map(args.split_map)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    if args.max_trials is not None and args.max_trials < 1:
        raise SystemExit("--max-trials must be at least 1")
    try:
        report = import_layout(
            args.src,
            args.out,
            split_map=split_map,
            exclude_list=args.exclude_list,
            skip_bad=args.skip_bad,
            max_trials=args.max_trials,
            overwrite=args.overwrite,
            test_videos=args.test_videos,
            scenario=args.scenario,
            keep_invalid=args.keep_invalid,
            progress=not args.no_progress,
        )
    except PhysionDataError as err:
        # Only input that --skip-bad would skip gets the hint; a wrong option or a folder without labels does not.
        if is_skippable(err) and err.hint is None:
            err.hint = "--skip-bad skips such input and records it"
        raise
    except ValueError as err:  # an option that does not fit the layout (e.g. --scenario for scenario folders)
        logging.getLogger("vdt-physion").error("%s", err)  # pipelines.cli's one-line error shape
        return 2
    for group, counts in report["groups"].items():
        log.info(
            "%-20s %5d imported (%d positive), %d already present",
            group,
            counts["trials"],
            counts["positives"],
            counts["already_present"],
        )
    return 0
