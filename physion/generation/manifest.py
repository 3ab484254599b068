"""``ROOT/manifest.json``: the settings a store was generated with, every trial's seed and tries, and per
scenario/split the label balance and first-contact distribution."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np

from physion.generation import GENERATOR_VERSION
from physion.generation.seeds import SEED_SCHEME
from physion.trial import OBSERVED_FRAMES, SPLITS

MANIFEST_NAME = "manifest.json"
# Settings that must agree between a store and any run or shard that adds trials to it. Not max_tries: a larger one
# only lets a rerun finish trials that ran out of tries, the trials already written stay the same.
SETTING_KEYS = ("generator_version", "resolution", "num_frames", "fps", "seed", "frame_stride")
# What a manifest written before a setting existed meant by it.
SETTING_DEFAULTS = {"frame_stride": 1}
FIRST_CONTACT_BIN = 15  # frames (0.5 s at 30 fps) per histogram bin


def settings_dict(
    resolution: int, num_frames: int, fps: int, seed: int, max_tries: int, frame_stride: int = 1
) -> dict[str, Any]:
    """``num_frames`` counts video frames; the trial files store every ``frame_stride``-th, at ``resolution`` px."""
    return {
        "generator_version": GENERATOR_VERSION,
        "resolution": resolution,
        "num_frames": num_frames,
        "frame_stride": frame_stride,
        "fps": fps,
        "seed": seed,
        "max_tries": max_tries,
        "seed_scheme": SEED_SCHEME,
        "wanted_label_rule": "trial index i wants label (i % 2 == 0)",
    }


def first_contact_summary(frames: list[int], num_frames: int) -> dict[str, Any]:
    """min/median/mean/max of positives' first-contact frames and a histogram in FIRST_CONTACT_BIN-frame bins."""
    if not frames:
        return {"count": 0}
    values = np.asarray(frames)
    edges = list(range(0, num_frames + FIRST_CONTACT_BIN, FIRST_CONTACT_BIN))
    counts, _ = np.histogram(values, bins=edges)
    return {
        "count": int(values.size),
        "min": int(values.min()),
        "median": float(np.median(values)),
        "mean": round(float(values.mean()), 2),
        "max": int(values.max()),
        "fraction_at_or_after_observed": round(float((values >= OBSERVED_FRAMES).mean()), 4),
        "histogram": {"bin_edges": edges, "counts": counts.tolist()},
    }


def summarise(records: list[dict[str, Any]], num_frames: int) -> dict[str, dict[str, Any]]:
    """Per split, per scenario: trials, positives, positive fraction, whether that is within 45-55%, tries per trial
    and the first-contact distribution of the positives."""
    summary: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        by_scenario: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            if record["split"] == split:
                by_scenario.setdefault(record["scenario"], []).append(record)
        if not by_scenario:
            continue
        summary[split] = {}
        for scenario, group in by_scenario.items():
            positives = sum(1 for r in group if r["label"])
            tries = [r["tries"] for r in group if r["tries"] is not None]
            fraction = positives / len(group)
            summary[split][scenario] = {
                "trials": len(group),
                "positives": positives,
                "positive_fraction": round(fraction, 4),
                "balanced_45_55": 0.45 <= fraction <= 0.55,
                "tries_mean": round(float(np.mean(tries)), 3) if tries else None,
                "tries_max": max(tries) if tries else None,
                "first_contact": first_contact_summary(
                    [r["first_contact_frame"] for r in group if r["label"] and r["first_contact_frame"] is not None],
                    num_frames,
                ),
            }
    return summary


def build_manifest(
    settings: dict[str, Any],
    scenarios: list[dict[str, str]],
    counts: dict[str, int],
    shard: tuple[int, int] | None,
    records: list[dict[str, Any]],
    status: str,
    **extra: Any,
) -> dict[str, Any]:
    """The manifest document. ``records`` are ``worker.trial_record`` dicts; ``status`` is
    "in_progress" (written before any trial), "complete", or "partial" (a merge missing some shards)."""
    return {
        "generator": "physion.generation.generate_store",
        "status": status,
        "written_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "scenarios": scenarios,
        "counts": counts,
        "shard": None if shard is None else {"index": shard[0], "count": shard[1]},
        **extra,
        "summary": summarise(records, settings["num_frames"]),
        "trials": {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in records},
    }


def manifest_path(root: str | Path) -> Path:
    return Path(root) / MANIFEST_NAME
