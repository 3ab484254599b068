"""The quickstart command end to end at a tiny size: artifacts, resume, and the strip picture."""

import json

import numpy as np
import torch
from PIL import Image

from pipelines.cli import build_parser, main
from pipelines.reporting.strips import video_strip
from vdt.checkpoint import read_checkpoint


def test_cli_lists_every_subcommand():
    names = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"demo", "generate", "inspect", "import-physion"} <= names


def test_demo_writes_artifacts_and_resumes(tmp_path):
    args = [
        "demo",
        "--out",
        str(tmp_path),
        "--steps",
        "6",
        "--batch",
        "4",
        "--eval-videos",
        "4",
        "--sampling-steps",
        "3",
    ]
    assert main(args) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["mse_copy_last"] > 0 and np.isfinite(metrics["mse_model"])
    assert read_checkpoint(tmp_path / "checkpoint.pt")["step"] == 6
    strip = Image.open(tmp_path / "prediction_strip.png")
    assert strip.size[0] > 6 * 8 * 8 and strip.size[1] > 8 * 8 * 8  # 6 frames x 8 rows at scale 8
    # a longer run resumes from the checkpoint instead of starting over
    assert main(args[:3] + ["--steps", "9"] + args[5:]) == 0
    assert read_checkpoint(tmp_path / "checkpoint.pt")["step"] == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "metrics.json", "prediction_strip.png"]


def test_video_strip_pixels(tmp_path):
    red = torch.full((2, 3, 4, 4), -1.0)
    red[:, 0] = 1.0
    path = video_strip([("a", red), ("b", -red)], tmp_path / "s.png", given=1, scale=2, label_width=10)
    img = np.asarray(Image.open(path).convert("RGB"))
    # first frame of row "a": border 2 px, then a 8x8 pure red image
    assert tuple(img[4, 10 + 4]) == (255, 0, 0)
    assert tuple(img[0, 10]) == (40, 170, 60)  # given column: green frame
    assert tuple(img[0, 10 + 14]) == (200, 60, 60)  # generated column: red frame
