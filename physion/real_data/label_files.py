"""Real Physion's side files: label CSVs, metadata.json label lists, Physion v1.5 ``all_video_labels.json``,
lists of names to exclude, video names.

Label CSV (``readout_labels.csv``, ``labels.csv``): the first column is the stimulus name (its header may be
empty), a column ``ground truth outcome`` holds True/False. Video files are named ``<name>_img.mp4``
(``mp4s`` and the training set) or ``<name>-redyellow.mp4`` (``mp4s-redyellow``).
"""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

from physion.errors import MissingLabelError, PhysionDataError
from physion.storage.store import read_json

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


_BYTES_REPR = re.compile(r"""^b(['"]).*\1$""", re.DOTALL)


def decode_stimulus_name(value) -> str | None:
    """A metadata.json ``stimulus_name`` -> a plain trial name, or None when empty.

    tdw_physics sometimes writes ``str()`` of the HDF5 bytes, e.g. ``"b'example_dominoes/0000'"``: the repr is
    undone, and path separators (``<subset>/<NNNN>``) become ``_`` so the name is the usual ``<subset>_<NNNN>``.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip()
    if _BYTES_REPR.match(text):
        try:
            text = ast.literal_eval(text).decode("utf-8", errors="replace").strip()
        except (ValueError, SyntaxError):
            pass  # not a valid bytes literal after all: keep the text as written
    text = text.replace("/", "_").replace("\\", "_")
    return text or None


def read_metadata_list(path: str | Path) -> list[dict]:
    """A tdw_physics / our ``metadata.json``: a JSON list of per-trial dicts (tdw_physics: in trial index order)."""
    path = Path(path)
    entries = read_json(path)
    if not isinstance(entries, list):
        raise PhysionDataError(path, "expected a JSON list of per-trial objects")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise PhysionDataError(path, f"entry {i} is a {type(entry).__name__}, not an object")
    return entries


def read_metadata_labels(path: str | Path) -> dict[str, dict]:
    """A tdw_physics / our ``metadata.json`` -> {stimulus name (as ``decode_stimulus_name`` gives it): entry}."""
    path = Path(path)
    by_name: dict[str, dict] = {}
    for i, entry in enumerate(read_metadata_list(path)):
        name = decode_stimulus_name(entry.get("stimulus_name"))
        if not name:
            raise PhysionDataError(path, f"entry {i} has no stimulus_name")
        if name in by_name:
            raise PhysionDataError(path, f"stimulus {name!r} is listed twice")
        by_name[name] = entry
    return by_name


def read_v15_labels(path: str | Path) -> dict[str, tuple[bool, int | None]]:
    """Physion v1.5 ``all_video_labels.json`` -> {video stem: (label, contact_frame_label)}.

    The file is ``{stem: {"label": ..., "contact_frame_label": frame}}``; labels may be JSON booleans or 0/1.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingLabelError(path, "label file not found (Physion v1.5 keeps one all_video_labels.json per split)")
    table = read_json(path)
    if not isinstance(table, dict):
        raise PhysionDataError(path, 'expected a JSON object {video stem: {"label", "contact_frame_label"}}')
    labels: dict[str, tuple[bool, int | None]] = {}
    for stem, entry in table.items():
        if not isinstance(entry, dict) or "label" not in entry:
            raise PhysionDataError(path, f"{stem!r}: expected an object with a 'label', got {entry!r}")
        label = entry["label"]
        if isinstance(label, str) or label not in (True, False):  # 0/1 pass: True == 1 in Python
            raise PhysionDataError(path, f"{stem!r}: label {label!r} is not true/false/0/1")
        frame = entry.get("contact_frame_label")
        if frame is not None and (
            isinstance(frame, bool) or not isinstance(frame, (int, float)) or not float(frame).is_integer() or frame < 0
        ):
            raise PhysionDataError(path, f"{stem!r}: contact_frame_label {frame!r} is not a frame index")
        labels[str(stem)] = (bool(label), None if frame is None else int(frame))
    return labels


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
