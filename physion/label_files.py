"""Real Physion's side files: label CSVs, metadata.json label lists, lists of names to exclude, video names.

Label CSV (``readout_labels.csv``, ``labels.csv``): the first column is the stimulus name (its header may be
empty), a column ``ground truth outcome`` holds True/False. Video files are named ``<name>_img.mp4``
(``mp4s`` and the training set) or ``<name>-redyellow.mp4`` (``mp4s-redyellow``).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from physion.errors import MissingLabelError, PhysionDataError

OUTCOME_COLUMN = "ground truth outcome"
VIDEO_SUFFIXES = ("-redyellow", "_img")  # stripped in this order: "<name>_img-redyellow" also maps to <name>


def stimulus_name_from_file(path: str | Path) -> str:
    """``.../<name>_img.mp4`` or ``<name>-redyellow.mp4`` -> ``<name>``."""
    name = Path(path).name
    if name.lower().endswith((".mp4", ".hdf5")):
        name = name.rsplit(".", 1)[0]
    for suffix in VIDEO_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def read_label_csv(path: str | Path) -> dict[str, bool]:
    """Label CSV -> {stimulus name: outcome}. Raises MissingLabelError/PhysionDataError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise MissingLabelError(path, "label CSV not found")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise PhysionDataError(path, "empty label CSV")
    header = [h.strip().lower() for h in rows[0]]
    if OUTCOME_COLUMN not in header:
        raise PhysionDataError(path, f"no {OUTCOME_COLUMN!r} column in the header {rows[0]}")
    column = header.index(OUTCOME_COLUMN)
    if column == 0:
        raise PhysionDataError(path, "the first column must be the stimulus name, not the outcome")
    labels: dict[str, bool] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= column:
            raise PhysionDataError(path, f"line {line} has {len(row)} cells, the outcome is column {column + 1}")
        name, value = row[0].strip(), row[column].strip().lower()
        if not name:
            raise PhysionDataError(path, f"line {line} has no stimulus name")
        if value not in ("true", "false"):
            raise PhysionDataError(path, f"line {line} ({name}): outcome {row[column]!r} is not True/False")
        if name in labels:
            raise PhysionDataError(path, f"line {line}: stimulus {name!r} is listed twice")
        labels[name] = value == "true"
    return labels


def read_metadata_labels(path: str | Path) -> dict[str, dict]:
    """A tdw_physics / our ``metadata.json`` (list of per-trial dicts) -> {stimulus_name: entry}."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise PhysionDataError(path, f"not valid JSON: {err}") from err
    if not isinstance(entries, list):
        raise PhysionDataError(path, "expected a JSON list of per-trial objects")
    by_name: dict[str, dict] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("stimulus_name"):
            raise PhysionDataError(path, f"entry {i} has no stimulus_name")
        name = str(entry["stimulus_name"])
        if name in by_name:
            raise PhysionDataError(path, f"stimulus {name!r} is listed twice")
        by_name[name] = entry
    return by_name


def read_name_list(path: str | Path) -> set[str]:
    """A list of stimuli (e.g. the benchmark's glitchy test stimuli): one name or file name per line.

    Blank lines and ``#`` comments are ignored; file names are reduced to stimulus names; if the file is a
    CSV, its first column is used.
    """
    path = Path(path)
    if not path.is_file():
        raise PhysionDataError(path, "name list not found")
    names: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].split(",", 1)[0].strip()
        if entry:
            names.add(stimulus_name_from_file(entry))
    return names
