"""Find the trials of a real Physion download (or any folder of trials) and read each one as a ``Trial``.

Layouts (``detect_layout``):
  physion-train-mp4s  ROOT/{Scenario}_{training,readout}_MP4s/<name>_img.mp4 + ROOT/readout_labels.csv
                      (a ROOT/training_labels.csv is used when present; training videos may be unlabelled)
  physion-test-mp4s   ROOT/{Scenario}/{maps,mp4s,mp4s-redyellow}/ + ROOT/{Scenario}/labels.csv or ROOT/labels.csv;
                      models see ``mp4s-redyellow`` (agent red, patient yellow)
  physion-v1.5        ROOT[/physion_mp4s]/{train,test}/*.mp4 + all_video_labels.json per folder
                      (``physion.real_data.physion_v15``: train -> readout, test -> test by default; buggy test stimuli left out)
  tdw-output          ROOT[/**]/NNNN_img.mp4 + metadata.json: tdw_physics controller output, ``0000.hdf5`` siblings
                      read when present (``physion.real_data.tdw_folders``)
  mp4-folder          ROOT/*.mp4 + ROOT/metadata.json (or ROOT/labels.csv)
  hdf5                ROOT/**/*.hdf5 (tdw_physics or ours), labels inside each file, metadata.json beside them
                      cross-checked when present

The scenario comes from the folder (label CSVs mix scenarios; see ``physion.real_data.scenario_names`` for how names
encode it); ``scenario`` forces one where a layout tells it per trial (physion-v1.5, tdw-output, mp4-folder). The split comes from the layout (training / readout / test), else from a parent folder named
after a split, else from the ``split_map`` entry for the folder's name (``"*"`` = any). A label row naming no
video, a video of a readout/test split with no label, or an unreadable file is an error naming the file,
or, with ``skip_bad``, an entry of ``LayoutScan.skipped``. Names on the ``exclude`` list (the benchmark's
glitchy stimuli) are dropped and listed in ``LayoutScan.excluded``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Iterable, Iterator

from tqdm import tqdm

from physion.errors import MissingLabelError, PhysionDataError
from physion.real_data.label_files import (
    decode_stimulus_name,
    read_label_csv,
    read_metadata_labels,
    stimulus_name_from_file,
)
from physion.real_data.layout_scan import LayoutScan, ScanContext, TrialSource, Video, optional_bool, source_split_of
from physion.real_data.physion_v15 import scan_v15, v15_base
from physion.real_data.scenario_names import scenario_from_stimulus_name
from physion.real_data.tdw_folders import find_tdw_folders, scan_tdw_folders
from physion.storage.hdf5_header import read_header
from physion.storage.hdf5_read import read_trial
from physion.storage.hdf5_write import validate_trial
from physion.trial import SCENARIOS, Trial
from physion.video_io import read_video

LAYOUTS = ("physion-train-mp4s", "physion-test-mp4s", "physion-v1.5", "tdw-output", "mp4-folder", "hdf5")
SCENARIO_PER_TRIAL = ("physion-v1.5", "tdw-output", "mp4-folder")  # layouts where a forced scenario applies
TRAIN_FOLDER = re.compile(r"^(?P<scenario>[A-Za-z]+)_(?P<split>training|readout)_MP4s$")
TEST_VIDEO_FOLDERS = ("mp4s-redyellow", "mp4s")


def detect_layout(root: str | Path) -> str:
    root = Path(root)
    if not root.is_dir():
        raise PhysionDataError(root, "not a folder")
    subdirs = [d for d in root.iterdir() if d.is_dir()]
    if any(TRAIN_FOLDER.match(d.name) for d in subdirs):
        return "physion-train-mp4s"
    if any(d.name in SCENARIOS and any((d / v).is_dir() for v in TEST_VIDEO_FOLDERS) for d in subdirs):
        return "physion-test-mp4s"
    if v15_base(root) is not None:
        return "physion-v1.5"
    if find_tdw_folders(root):
        return "tdw-output"
    if any(root.glob("*.mp4")):
        return "mp4-folder"
    if any(p for p in root.rglob("*.hdf5") if not p.name.startswith(".")):
        return "hdf5"
    raise PhysionDataError(root, f"not a known Physion layout ({', '.join(LAYOUTS)}); see physion.real_data.layouts")


def scan_layout(
    root: str | Path,
    *,
    split_map: dict[str, str] | None = None,
    exclude: Iterable[str] = (),
    skip_bad: bool = False,
    test_videos: str = "mp4s-redyellow",
    scenario: str | None = None,
    keep_invalid: bool = False,
) -> LayoutScan:
    """List the trials of ``root`` with their labels, scenario and split (no pixels decoded except HDF5 headers).

    ``scenario`` forces every trial's scenario (layouts in ``SCENARIO_PER_TRIAL``); ``keep_invalid`` keeps the
    trials a tdw_physics metadata.json marks ``is_trial_valid: false`` (left out and listed by default).
    """
    root = Path(root)
    scan = LayoutScan(root=root, layout=detect_layout(root))
    if scenario is not None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; expected one of {SCENARIOS}")
        if scan.layout not in SCENARIO_PER_TRIAL:
            raise ValueError(
                f"a forced scenario applies to the {', '.join(SCENARIO_PER_TRIAL)} layouts; "
                f"{root} is {scan.layout}, which takes the scenario from its folders or files"
            )
    ctx = ScanContext(scan, dict(split_map or {}), set(exclude), skip_bad, scenario, keep_invalid)
    if scan.layout == "physion-v1.5":
        scan_v15(root, ctx)
    elif scan.layout == "tdw-output":
        scan_tdw_folders(root, ctx)
    elif scan.layout == "physion-train-mp4s":
        _scan_train(root, ctx)
    elif scan.layout == "physion-test-mp4s":
        if test_videos not in TEST_VIDEO_FOLDERS:
            raise ValueError(f"test_videos must be one of {TEST_VIDEO_FOLDERS}, got {test_videos!r}")
        _scan_test(root, test_videos, ctx)
    elif scan.layout == "mp4-folder":
        _scan_mp4_folder(root, ctx)
    else:
        _scan_hdf5(root, ctx)
    ctx.check_duplicates()
    return scan


def load_trial(source: TrialSource) -> Trial:
    """Decode one source into a ``Trial``; any problem raises PhysionDataError (or CorruptTrialError) naming the file."""
    if source.kind == "hdf5":
        trial = read_trial(source.path)
        if trial.label is not None and source.label is not None and trial.label != source.label:
            raise PhysionDataError(source.path, f"label {trial.label} disagrees with its label file ({source.label})")
        trial = dataclasses.replace(
            trial,
            name=source.name,
            scenario=source.scenario,
            split=source.split,
            label=trial.label if trial.label is not None else source.label,
            params={**trial.params, **source.params, "imported_from": str(source.path)},
        )
    else:
        frames, fps = read_video(source.path)
        trial = Trial(
            name=source.name,
            scenario=source.scenario,
            frames=frames,
            fps=int(round(fps)),
            label=source.label,
            first_contact_frame=source.first_contact_frame,
            split=source.split,
            params={**source.params, "imported_from": str(source.path)},
        )
    try:
        validate_trial(trial)  # e.g. a metadata.json first contact past the video's end, or on a negative trial
    except ValueError as err:
        raise PhysionDataError(source.path, str(err)) from err
    return trial


def iter_trials(root: str | Path, **scan_options) -> Iterator[Trial]:
    """Every trial of ``root`` as a ``Trial`` (``scan_options`` as for ``scan_layout``)."""
    for source in scan_layout(root, **scan_options).sources:
        yield load_trial(source)


# ---------------------------------------------------------------------------------------------------- layouts


def _scan_train(root: Path, ctx: ScanContext) -> None:
    by_split: dict[str, list[Video]] = {"training": [], "readout": []}
    scenarios: dict[str, set[str]] = {"training": set(), "readout": set()}
    for folder in sorted(d for d in root.iterdir() if d.is_dir()):
        match = TRAIN_FOLDER.match(folder.name)
        if not match:
            continue
        scenario, source_split = match["scenario"], match["split"]
        if scenario not in SCENARIOS:
            raise PhysionDataError(folder, f"unknown scenario {scenario!r}; expected one of {SCENARIOS}")
        scenarios[source_split].add(scenario)
        split = ctx.split_for(source_split, folder)
        by_split[source_split] += [
            Video(p, stimulus_name_from_file(p), scenario, split) for p in sorted(folder.glob("*.mp4"))
        ]
    for source_split, videos in by_split.items():
        csv_path = root / f"{source_split}_labels.csv"
        if not scenarios[source_split]:
            continue
        if not csv_path.is_file() and source_split == "readout":
            raise MissingLabelError(
                csv_path, "the readout videos need this label CSV (stimulus name, ground truth outcome)"
            )
        labels = read_label_csv(csv_path) if csv_path.is_file() else None
        ctx.join(videos, labels, csv_path, scenarios[source_split])


def _scan_test(root: Path, test_videos: str, ctx: ScanContext) -> None:
    groups: dict[Path, tuple[list[Video], set[str]]] = {}
    for folder in sorted(d for d in root.iterdir() if d.is_dir() and d.name in SCENARIOS):
        video_dir = folder / test_videos
        if not video_dir.is_dir():
            raise PhysionDataError(folder, f"no {test_videos}/ folder of videos")
        csv_path = folder / "labels.csv" if (folder / "labels.csv").is_file() else root / "labels.csv"
        if not csv_path.is_file():
            raise MissingLabelError(
                folder / "labels.csv", f"no label CSV for {folder.name} (nor a shared {root / 'labels.csv'})"
            )
        split = ctx.split_for("test", folder)
        videos, scenarios = groups.setdefault(csv_path, ([], set()))
        videos += [Video(p, stimulus_name_from_file(p), folder.name, split) for p in sorted(video_dir.glob("*.mp4"))]
        scenarios.add(folder.name)
    for csv_path, (videos, scenarios) in groups.items():
        ctx.join(videos, read_label_csv(csv_path), csv_path, scenarios)


def _scan_mp4_folder(root: Path, ctx: ScanContext) -> None:
    meta_path = root / "metadata.json"
    entries = read_metadata_labels(meta_path) if meta_path.is_file() else {}
    csv_path = next((root / n for n in ("labels.csv", "readout_labels.csv") if (root / n).is_file()), None)
    if entries:
        labels = {name: optional_bool(e.get("does_target_contact_zone"), meta_path) for name, e in entries.items()}
        label_file = meta_path
    elif csv_path is not None:
        labels, label_file = read_label_csv(csv_path), csv_path
    else:
        raise MissingLabelError(
            meta_path, "a folder of MP4s needs a metadata.json (or labels.csv) giving each video's outcome"
        )
    source_split = source_split_of(root)
    videos, scenarios = [], set()
    for path in sorted(root.glob("*.mp4")):
        name = stimulus_name_from_file(path)
        entry = entries.get(name, {})
        scenario = (
            ctx.scenario
            or entry.get("scenario")
            or (root.name if root.name in SCENARIOS else scenario_from_stimulus_name(name))
        )
        if scenario not in SCENARIOS:
            ctx.bad(
                path,
                f"cannot tell the scenario of {name!r} (no 'scenario' in metadata.json, folder not a "
                "scenario); pass it with --scenario NAME",
            )
            continue
        videos.append(Video(path, name, scenario, ctx.split_for(entry.get("split") or source_split, root)))
        scenarios.add(scenario)
    firsts = {name: e.get("first_target_contact_zone_frame") for name, e in entries.items()}
    ctx.join(videos, labels, label_file, scenarios, first_contact=firsts)


def _scan_hdf5(root: Path, ctx: ScanContext) -> None:
    files = sorted(p for p in root.rglob("*.hdf5") if not p.name.startswith("."))
    beside: dict[Path, dict[str, dict]] = {}
    for path in tqdm(files, desc=f"scan {root.name}", unit="file", leave=False):
        try:
            header = read_header(path)
        except PhysionDataError as err:
            ctx.bad(err.path, err.problem)
            continue
        name = decode_stimulus_name(header.name) or header.name  # a tdw "<subset>/<NNNN>" name -> "<subset>_<NNNN>"
        if name in ctx.exclude:
            ctx.scan.excluded.append(name)
            continue
        split = ctx.split_for(header.split or path.parent.name, path.parent)
        meta_path = path.parent / "metadata.json"
        if meta_path.is_file() and path.parent not in beside:
            beside[path.parent] = read_metadata_labels(meta_path)
        entry = beside.get(path.parent, {}).get(name, {})
        listed = optional_bool(entry.get("does_target_contact_zone"), meta_path)
        if listed is not None and header.label is not None and listed != header.label:
            ctx.bad(path, f"label {header.label} disagrees with {meta_path} ({listed})")
            continue
        label = header.label if header.label is not None else listed
        if label is None and split != "training":
            ctx.bad(
                path,
                "no label: no per-frame target_contacting_zone, no static/label, no metadata.json entry",
                MissingLabelError,
            )
            continue
        ctx.scan.sources.append(
            TrialSource(path, name, header.scenario, split, label, header.first_contact_frame, kind="hdf5")
        )
