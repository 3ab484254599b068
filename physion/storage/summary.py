"""Summary of a trial store: trials per split and scenario, label balance, frame counts, resolution, and
when the first agent-patient contact happens (relative to the 45 observed frames)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from physion.storage.hdf5_header import read_header
from physion.storage.hdf5_read import verify_trial
from physion.storage.store import TrialStore, read_json
from physion.trial import OBSERVED_FRAMES

IMPORT_LOG = "import_log.json"
SKIPPED_SHOWN = 5  # skipped inputs printed by format_summary; the log has them all


def summarize_store(root: str | Path, deep: bool = False) -> dict:
    """JSON-able summary: {"root", "trials", "groups": [one dict per split/scenario], "import_log": {...} | None}.
    ``deep``: read every dataset of every trial (``verify_trial``), not just the headers, so damage anywhere in
    a file is found now (CorruptTrialError naming the file and the key)."""
    read = verify_trial if deep else read_header
    store = TrialStore(root)
    groups = []
    for split, scenario in store.groups():
        paths = store.trials(split, scenario)
        headers = [read(p) for p in tqdm(paths, desc=f"inspect {split}/{scenario}", unit="trial", leave=False)]
        groups.append(_group_summary(split, scenario, headers))
    return {
        "root": str(store.root),
        "trials": sum(g["trials"] for g in groups),
        "groups": groups,
        "import_log": _import_log_summary(store.root / IMPORT_LOG),
    }


def _group_summary(split: str, scenario: str, headers) -> dict:
    labels = [h.label for h in headers]
    positives = [h for h in headers if h.label]
    firsts = np.array([h.first_contact_frame for h in positives if h.first_contact_frame is not None])
    frames = np.array([h.num_frames for h in headers])
    return {
        "split": split,
        "scenario": scenario,
        "trials": len(headers),
        "positives": sum(1 for lab in labels if lab),
        "negatives": sum(1 for lab in labels if lab is False),
        "unlabelled": sum(1 for lab in labels if lab is None),
        "frames": _min_median_max(frames),
        "resolutions": dict(Counter(f"{h.height}x{h.width}" for h in headers)),
        "first_contact": _min_median_max(firsts),
        "positives_with_first_contact": int(len(firsts)),
        "late_contact_fraction": float(np.mean(firsts >= OBSERVED_FRAMES)) if len(firsts) else None,
    }


def _min_median_max(values: np.ndarray) -> list[float] | None:
    if not len(values):
        return None
    return [float(values.min()), float(np.median(values)), float(values.max())]


def _import_log_summary(path: Path) -> dict | None:
    if not path.is_file():
        return None
    log = read_json(path)
    return {
        "source": log.get("source"),
        "layout": log.get("layout"),
        "status": log.get("status"),
        "imported": log.get("imported"),
        "skipped": len(log.get("skipped", [])),
        "excluded": len(log.get("excluded", [])),
        "invalid_left_out": len(log.get("invalid_left_out", [])),
        "skipped_first": log.get("skipped", [])[:SKIPPED_SHOWN],
    }


def format_summary(summary: dict) -> str:
    """A plain-text table of ``summarize_store``'s result."""

    def triple(values, fmt="{:.0f}") -> str:
        return "-" if values is None else "/".join(fmt.format(v) for v in values)

    lines = [f"store {summary['root']}: {summary['trials']} trials"]
    header = (
        f"{'split':<9} {'scenario':<9} {'trials':>6} {'pos':>5} {'neg':>5} {'unlab':>5} {'pos%':>6}  "
        f"{'frames min/med/max':<19} {'resolution':<11} {'1st contact min/med/max':<24} late>={OBSERVED_FRAMES}"
    )
    lines += [header, "-" * len(header)]
    for g in summary["groups"]:
        labelled = g["positives"] + g["negatives"]
        pos = f"{100 * g['positives'] / labelled:5.1f}%" if labelled else "    -"
        late = (
            "-"
            if g["late_contact_fraction"] is None
            else f"{100 * g['late_contact_fraction']:.0f}% of {g['positives_with_first_contact']}"
        )
        resolution = ",".join(sorted(g["resolutions"]))
        lines.append(
            f"{g['split']:<9} {g['scenario']:<9} {g['trials']:>6} {g['positives']:>5} {g['negatives']:>5} "
            f"{g['unlabelled']:>5} {pos:>6}  {triple(g['frames']):<19} {resolution:<11} "
            f"{triple(g['first_contact']):<24} {late}"
        )
    log = summary.get("import_log")
    if log:
        layout = f" ({log['layout']} layout)" if log.get("layout") else ""
        status = "" if log.get("status") in (None, "complete") else f" [import {log['status']}]"
        lines.append(
            f"{IMPORT_LOG}: imported {log['imported']} from {log['source']}{layout}{status}; "
            f"{log['skipped']} skipped, {log['excluded']} excluded, {log.get('invalid_left_out', 0)} "
            "invalid left out (see the file for names and reasons)"
        )
        for entry in log.get("skipped_first", []):
            lines.append(f"  skipped {entry.get('path')}: {entry.get('reason')}")
        if log["skipped"] > len(log.get("skipped_first", [])):
            lines.append(f"  ... and {log['skipped'] - len(log['skipped_first'])} more skipped")
    return "\n".join(lines)
