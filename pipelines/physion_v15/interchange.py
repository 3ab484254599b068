"""The v1.5 harness's feature files, written from our features and read into our readouts.

What physion_evaluator's ``physion_feature_extract`` writes in ``DIR/<mode>/`` (and ``physion_train_readout``
reads), per phase ``train`` and ``test``:

    <phase>_features.hdf5      features [N, T, D] (any float), label [N] (float 0/1), filenames [N] (variable-
                               length str; the harness stores the video paths), frame_labels [N] (int: the
                               ``contact_frame_label``)
    <phase>_json.json          {scenario key: [row indices]} (keys collision, drop, towers, link, roll, contain,
                               dominoes)
    <phase>_scenario_map.json  {filename: row index}

The harness's readout flattens the features to [N, T * D] and casts them to float16 before fitting; our reader
keeps float32 and ``pipelines.physion_v15.readout`` applies the float16 cast where it mirrors the harness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from physion.atomic import atomic_path, write_json_atomic
from physion.errors import PhysionDataError
from pipelines.physion_v15.windows import OUR_TO_HARNESS

PHASES = ("train", "test")
DATASETS = ("features", "label", "filenames", "frame_labels")


def harness_files(folder: str | Path, phase: str) -> dict[str, Path]:
    folder = Path(folder)
    return {
        "features": folder / f"{phase}_features.hdf5",
        "json": folder / f"{phase}_json.json",
        "scenario_map": folder / f"{phase}_scenario_map.json",
    }


@dataclass
class HarnessSplit:
    """One phase of a harness feature folder."""

    features: np.ndarray  # (N, T, D) or (N, D)
    labels: np.ndarray  # (N,) int64 0/1
    filenames: list[str]
    frame_labels: np.ndarray  # (N,) int64 (-1: none known)
    scenarios: dict[str, list[int]]  # harness scenario key -> row indices

    def __post_init__(self) -> None:
        n = len(self.features)
        sizes = {"label": len(self.labels), "filenames": len(self.filenames), "frame_labels": len(self.frame_labels)}
        wrong = {k: v for k, v in sizes.items() if v != n}
        if wrong:
            raise ValueError(f"{n} feature rows but {wrong}")
        bad = sorted({i for rows in self.scenarios.values() for i in rows if not 0 <= i < n})
        if bad:
            raise ValueError(f"scenario indices outside the {n} rows: {bad[:5]}")

    @property
    def flat(self) -> np.ndarray:
        """(N, T * D) as the harness's readout sees the features."""
        return self.features.reshape(len(self.features), -1)

    def scenario_of_rows(self) -> dict[int, str]:
        return {i: key for key, rows in self.scenarios.items() for i in rows}


def scenario_key(scenario: str) -> str:
    """The harness's key for one of our scenario names (``Collide`` -> ``collision``); others lower-cased."""
    return OUR_TO_HARNESS.get(scenario, scenario.lower())


def group_rows(scenarios: list[str]) -> dict[str, list[int]]:
    """Per-row scenario names (ours) -> {harness key: row indices}, keys in first-seen order."""
    out: dict[str, list[int]] = {}
    for i, s in enumerate(scenarios):
        out.setdefault(scenario_key(s), []).append(i)
    return out


def write_harness_split(folder: str | Path, phase: str, split: HarnessSplit) -> dict[str, Path]:
    """Write one phase's three files atomically (each complete or absent)."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {list(PHASES)}, got {phase!r}")
    paths = harness_files(folder, phase)
    features = np.asarray(split.features, dtype=np.float32)
    if not np.isfinite(features).all():  # the harness stops on NaN features; refuse them before anyone reads them
        raise ValueError(f"{paths['features']}: features hold NaN or inf values")
    with atomic_path(paths["features"]) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("features", data=features)
            f.create_dataset("label", data=np.asarray(split.labels, dtype=np.float64))
            f.create_dataset("filenames", data=list(split.filenames), dtype=h5py.string_dtype())
            f.create_dataset("frame_labels", data=np.asarray(split.frame_labels, dtype=np.int64))
    write_json_atomic(paths["json"], {k: [int(i) for i in v] for k, v in split.scenarios.items()})
    rows = split.scenario_of_rows()
    write_json_atomic(paths["scenario_map"], {split.filenames[i]: int(i) for i in sorted(rows)})
    return paths


def _read_json(path: Path) -> object:
    if not path.is_file():
        raise PhysionDataError(path, "missing (a harness feature folder has <phase>_json.json and _scenario_map.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PhysionDataError(path, f"not valid JSON: {err}") from None


def read_harness_split(folder: str | Path, phase: str) -> HarnessSplit:
    """Read one phase of a harness feature folder (ours or the harness's own); each problem names its file."""
    paths = harness_files(folder, phase)
    path = paths["features"]
    if not path.is_file():
        raise PhysionDataError(path, f"missing: no {phase} features in {Path(folder)}")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in DATASETS if k not in f]
            if missing:
                raise PhysionDataError(path, f"lacks the dataset(s) {missing} (expected {list(DATASETS)})")
            features = f["features"][...].astype(np.float32)
            labels = f["label"][...]
            filenames = [n.decode() if isinstance(n, bytes) else str(n) for n in f["filenames"][...]]
            frame_labels = f["frame_labels"][...].astype(np.int64)
    except OSError as err:
        raise PhysionDataError(path, f"not a readable HDF5 file ({err})") from None
    if features.ndim not in (2, 3):
        raise PhysionDataError(path, f"features must be [N, T, D] or [N, D], got shape {features.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise PhysionDataError(path, f"label must hold 0/1, got values {np.unique(labels)[:5].tolist()}")
    scenarios = _read_json(paths["json"])
    if not isinstance(scenarios, dict) or not all(
        isinstance(v, list) and all(isinstance(i, int) for i in v) for v in scenarios.values()
    ):
        raise PhysionDataError(paths["json"], "must map scenario names to lists of row indices")
    try:
        split = HarnessSplit(features, labels.astype(np.int64), filenames, frame_labels, scenarios)
    except ValueError as err:
        raise PhysionDataError(path, f"does not match {paths['json'].name}: {err}") from None
    # The map is only the harness's index -> name lookup for its CSV; check it agrees when it is there.
    if paths["scenario_map"].is_file():
        mapping = _read_json(paths["scenario_map"])
        wrong = [k for k, i in mapping.items() if not (isinstance(i, int) and 0 <= i < len(filenames))]
        wrong += [k for k, i in mapping.items() if k not in wrong and filenames[i] != k]
        if wrong:
            raise PhysionDataError(
                paths["scenario_map"], f"names rows that do not hold them in {path.name}, e.g. {wrong[:3]}"
            )
    return split


def read_harness_folder(folder: str | Path) -> dict[str, HarnessSplit]:
    """{"train": ..., "test": ...} of ``DIR/<mode>``; the two must have the same feature width."""
    splits = {phase: read_harness_split(folder, phase) for phase in PHASES}
    widths = {phase: s.flat.shape[1] for phase, s in splits.items()}
    if len(set(widths.values())) != 1:
        raise PhysionDataError(Path(folder), f"train and test features differ in width: {widths}")
    return splits
