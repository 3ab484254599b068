"""The trial store: one tdw_physics-compatible HDF5 file per trial, plus a metadata.json per split and scenario.

Layout::

    ROOT/manifest.json                          written by the generator
    ROOT/<split>/<Scenario>/<name>.hdf5         one trial (<Scenario>: one of SCENARIOS, or a plug-in's name)
    ROOT/<split>/<Scenario>/metadata.json       list of Trial.metadata() dicts, as real Physion has (plus each
                                                trial's frame_stride and stored resolution [H, W])

HDF5 keys shared with tdw_physics (so one reader serves our files and real Physion's):

    static/stimulus_name                 str
    static/object_ids                    (O,) int64 engine ids; segmentation value k + 1 = object_ids[k]
    static/model_names                   (O,) bytes; for our trials the object's role name (Trial.object_names)
    static/object_segmentation_colors    (O, 3) uint8, one distinct non-black colour per object
    frames/%04d/images/_img              PNG bytes (1-D uint8) of the (H, W, 3) RGB frame
    frames/%04d/images/_id               PNG bytes of the segmentation drawn in those colours, black background
    frames/%04d/labels/target_contacting_zone   bool: agent touches patient in this frame (only if known)
    frames/%04d/objects/positions        (O, 3) float32 world positions
    frames/%04d/objects/velocities       (O, 3) float32 world velocities

Ours (a file without ``static/scenario`` is read as a real tdw_physics file):

    static/scenario, static/fps, static/params_json (json of Trial.params)
    static/frame_stride, static/video_frames   s and T: the trial lasts T video frames, the frame groups
                                         0000, 0001, ... hold video frames 0, s, 2s, ... (ceil(T / s) groups);
                                         absent = 1 and the number of groups (real Physion, older stores)
    static/first_contact_frame           int, -1 = no contact / unknown
    static/seed, static/agent_index, static/patient_index, static/label, static/split
                                         each present only when known
    static/contacts                      (T,) bool, every video frame's target_contacting_zone (only if known);
                                         a frame group's labels/ entry is its own video frame's
    frames/%04d/masks_rle/<k>            COCO RLE counts (1-D uint8 bytes) of the mask of object k (= object_ids[k],
                                         k from 0), every object every frame; group attr ``size`` = [H, W]
    root attrs writer="vdt-physion", format_version

Files are written with HDF5 1.8 object formats (``libver="v108"``: compact headers, half the size).
Differences from real tdw_physics files, all handled by the reader: they have no ``static/label`` (the label
is any over the per-frame ``target_contacting_zone``; the first contact is the first such frame's position),
name the agent and patient by ``static/target_id`` / ``static/zone_id``, may store ``_img`` as JPEG, gzip
their datasets, carry more passes (``_depth``, ``_normals``, ``_flow``, ``_category``, ``_albedo``: ignored),
and newer multi-view versions write ``_img_cam0`` / ``_id_cam0`` and number frames from 0001.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tqdm import tqdm

from physion.atomic import write_json_atomic
from physion.errors import PhysionDataError
from physion.storage.hdf5_header import read_header
from physion.storage.hdf5_read import read_trial
from physion.storage.hdf5_write import write_trial
from physion.trial import SCENARIOS, SPLITS

__all__ = ["write_trial", "read_trial", "read_header", "TrialStore", "write_json_atomic"]

log = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"


def read_json(path: Path) -> Any:
    """The JSON document at ``path`` (an existing file); PhysionDataError naming it when it is not UTF-8 JSON.
    The one reader of the store's JSON files (metadata.json, label tables, import logs)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise PhysionDataError(path, f"not valid JSON: {err}") from err
    except UnicodeDecodeError as err:
        raise PhysionDataError(path, f"not UTF-8 text: {err}") from err


class TrialStore:
    """A folder laid out as above. Only complete ``*.hdf5`` files count as trials (temporary names are hidden)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def trial_path(self, split: str, scenario: str, name: str) -> Path:
        _check_group(split, scenario)
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"trial name {name!r} must be a plain, non-hidden file name")
        return self.root / split / scenario / f"{name}.hdf5"

    def trials(self, split: str | None = None, scenario: str | None = None) -> list[Path]:
        """Sorted trial files, optionally of one split and/or scenario."""
        found: list[Path] = []
        for sp in [split] if split is not None else list(SPLITS):
            for sc in [scenario] if scenario is not None else self.scenarios(sp):
                _check_group(sp, sc)
                folder = self.root / sp / sc
                if folder.is_dir():
                    found.extend(p for p in folder.glob("*.hdf5") if not p.name.startswith(".") and p.is_file())
        return sorted(found)

    def scenarios(self, split: str) -> list[str]:
        """Scenario folders of ``split`` on disk: the built-in ones in SCENARIOS order, then plug-ins by name."""
        _check_group(split, SCENARIOS[0])
        folder = self.root / split
        names = (
            {d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")}
            if folder.is_dir()
            else set()
        )
        return [s for s in SCENARIOS if s in names] + sorted(names - set(SCENARIOS))

    def groups(self) -> list[tuple[str, str]]:
        """(split, scenario) pairs that hold at least one trial, in ``SPLITS`` x ``scenarios()`` order."""
        return [(sp, sc) for sp in SPLITS for sc in self.scenarios(sp) if self.trials(sp, sc)]

    def metadata_path(self, split: str, scenario: str) -> Path:
        _check_group(split, scenario)
        return self.root / split / scenario / METADATA_FILE

    def write_metadata(self, split: str, scenario: str) -> Path:
        """Rebuild ``metadata.json`` of one split and scenario from its trial files (headers only, no pixels)."""
        paths = self.trials(split, scenario)
        entries = []
        for path in tqdm(
            paths, desc=f"metadata {split}/{scenario}", unit="trial", leave=False, disable=len(paths) < 50
        ):
            # Trial.metadata() keeps the fields in one place; the header gives them without decoding pixels.
            entries.append({**read_header(path).to_trial().metadata(), "file": path.name})
        out = write_json_atomic(self.metadata_path(split, scenario), entries)
        log.info("wrote %s (%d trials)", out, len(entries))
        return out

    def read_metadata(self, split: str, scenario: str) -> list[dict]:
        path = self.metadata_path(split, scenario)
        if not path.is_file():
            raise PhysionDataError(path, "no metadata.json here; rebuild it with TrialStore.write_metadata")
        entries = read_json(path)
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise PhysionDataError(path, "expected a JSON list of per-trial objects")
        return entries


def _check_group(split: str, scenario: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    # Plug-in scenarios (beyond SCENARIOS) are allowed; the name only has to be a plain folder name.
    if not scenario or not scenario.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"scenario {scenario!r} must be a plain name (letters, digits, '_' or '-')")
