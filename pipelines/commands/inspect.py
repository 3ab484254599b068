"""``vdt-physion inspect``: print what a trial store holds (per split and scenario)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from physion.storage.summary import format_summary, summarize_store

NAME = "inspect"
HELP = (
    "print trials per split and scenario, label balance, frame counts, resolution and the first-contact "
    "frame distribution of a trial store"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="store folder (ROOT/<split>/<Scenario>/*.hdf5)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    parser.add_argument(
        "--deep",
        action="store_true",
        help="read every dataset of every trial (slow), so damage anywhere in a file is found now rather than in a run",
    )


def run(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        raise SystemExit(f"{args.dir}: not a folder")
    summary = summarize_store(args.dir, deep=args.deep)
    if not summary["groups"]:
        raise SystemExit(f"{args.dir}: no trials (expected <split>/<Scenario>/*.hdf5 below it)")
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
