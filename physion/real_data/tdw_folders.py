"""tdw_physics output folders: what a controller run with ``--save_movies --save_labels`` writes.

    FOLDER/0000_img.mp4, 0001_img.mp4, ...   the ``_img`` pass, one per trial (``_id``, ``_depth``, ... ignored)
    FOLDER/0000.hdf5, ...                    when the run kept HDF5; then read instead of the MP4 (per-frame labels,
                                             masks, object states), its label cross-checked against metadata.json
    FOLDER/metadata.json                     a list of per-trial dicts in trial order: entry i is trial i
    FOLDER/trial_stats.json, args.txt, commandline_args.txt   (run records; not needed)

The root may be one such folder or hold several (e.g. one per subset). Per trial: the name is the entry's
``stimulus_name`` (bytes reprs undone, ``/`` -> ``_``), else ``<folder>_<NNNN>`` as tdw_physics names it; the
label and first contact are ``does_target_contact_zone`` and ``first_target_contact_zone_frame``; trials with
``is_trial_valid: false`` are left out (and listed) unless ``keep_invalid``. The scenario is the forced one,
else the stimulus name's, else the controller's, else the folder's (or a parent's), else the Drape
``testNN`` inference; the name goes first because the benchmark's Roll subsets ran the Collision controller.
"""

from __future__ import annotations

import re
from pathlib import Path

from physion.errors import CorruptTrialError, MissingLabelError, PhysionDataError
from physion.real_data.label_files import decode_stimulus_name, read_metadata_list
from physion.real_data.layout_scan import ScanContext, Video, optional_bool, source_split_of
from physion.real_data.scenario_names import scenario_from_controller, scenario_from_stimulus_name
from physion.storage.hdf5_header import read_header
from physion.trial import SCENARIOS

IMG_VIDEO = re.compile(r"^(?P<index>\d+)_img\.mp4$")
METADATA = "metadata.json"
_TRAILING_INDEX = re.compile(r"_(\d+)$")


def find_tdw_folders(root: Path) -> list[Path]:
    """``root`` and the folders below it that hold numbered ``NNNN_img.mp4`` videos, sorted."""
    folders = {p.parent for p in root.rglob("*_img.mp4") if IMG_VIDEO.match(p.name)}
    return sorted(folders)


def scan_tdw_folders(root: Path, ctx: ScanContext) -> None:
    for folder in find_tdw_folders(root):
        _scan_folder(root, folder, ctx)


def _scan_folder(root: Path, folder: Path, ctx: ScanContext) -> None:
    meta_path = folder / METADATA
    if not meta_path.is_file():
        ctx.bad(
            meta_path,
            "a tdw_physics output folder needs its metadata.json for labels and first-contact frames "
            "(the controller writes it with --save_labels)",
            MissingLabelError,
        )
        return
    try:
        entries = read_metadata_list(meta_path)
    except PhysionDataError as err:
        ctx.bad(err.path, err.problem, type(err))
        return
    videos = {int(m["index"]): p for p in folder.iterdir() if (m := IMG_VIDEO.match(p.name))}
    _check_counts(meta_path, entries, videos, ctx)
    split = ctx.split_for(source_split_of(folder), folder)
    for index, entry in enumerate(entries):
        if index in videos:
            _add_trial(root, folder, meta_path, index, entry, videos[index], split, ctx)


def _check_counts(meta_path: Path, entries: list[dict], videos: dict[int, Path], ctx: ScanContext) -> None:
    """Entry i belongs to video i: any entry without its video, or video without its entry, is bad input."""
    no_video = [i for i in range(len(entries)) if i not in videos]
    no_entry = sorted(i for i in videos if i >= len(entries))
    if not no_video and not no_entry:
        return
    if not ctx.skip_bad:
        detail = "; ".join(
            part
            for part in (
                f"no video for entries {_first_few(no_video)}" if no_video else "",
                f"no entry for {_first_few([videos[i].name for i in no_entry])}" if no_entry else "",
            )
            if part
        )
        ctx.bad(
            meta_path, f"lists {len(entries)} trials but the folder has {len(videos)} NNNN_img.mp4 videos ({detail})"
        )
    for i in no_video:
        ctx.bad(
            meta_path,
            f"entry {i} ({decode_stimulus_name(entries[i].get('stimulus_name'))!r}) has no {i:04d}_img.mp4 beside it",
        )
    for i in no_entry:
        ctx.bad(videos[i], f"no entry {i} in {meta_path} (it lists {len(entries)} trials)")


def _add_trial(
    root: Path, folder: Path, meta_path: Path, index: int, entry: dict, video_path: Path, split: str, ctx: ScanContext
) -> None:
    name = decode_stimulus_name(entry.get("stimulus_name")) or f"{folder.name}_{index:04d}"
    numbered = _TRAILING_INDEX.search(name)
    if numbered and int(numbered[1]) != index:  # a metadata.json out of step with the videos would mislabel them all
        ctx.bad(meta_path, f"entry {index} is named {name!r}, which is trial {int(numbered[1])}, not {index:04d}")
        return
    if entry.get("is_trial_valid") is False and not ctx.keep_invalid:
        ctx.scan.invalid.append(name)
        return
    scenario = ctx.scenario or _scenario(root, folder, name, entry.get("controller_name"))
    if scenario is None:
        ctx.bad(
            video_path,
            f"cannot tell the scenario of {name!r}: neither the stimulus name, nor the "
            f"controller_name {entry.get('controller_name')!r} in {meta_path}, nor the folder name "
            f"{folder.name!r} names one; pass it with --scenario NAME (one of {', '.join(SCENARIOS)})",
        )
        return
    label = optional_bool(entry.get("does_target_contact_zone"), meta_path)
    first = entry.get("first_target_contact_zone_frame")
    if first is not None and (isinstance(first, bool) or not isinstance(first, int) or first < 0):
        ctx.bad(meta_path, f"entry {index} ({name}): first_target_contact_zone_frame {first!r} is not a frame index")
        return
    params = {
        "tdw_index": index,
        "controller_name": entry.get("controller_name"),
        "metadata_num_frames": entry.get("num_frames"),
    }
    video = Video(video_path, name, scenario, split)
    hdf5 = folder / f"{video_path.name.split('_')[0]}.hdf5"
    use = _hdf5_use(hdf5, label, meta_path, ctx) if hdf5.is_file() else "mp4"
    if use != "bad":
        ctx.add(video, label, meta_path, first, kind=use, path=hdf5 if use == "hdf5" else None, params=params)


def _hdf5_use(hdf5: Path, label: bool | None, meta_path: Path, ctx: ScanContext) -> str:
    """How to read a trial with an HDF5 sibling: "hdf5", "mp4" (the HDF5 is readable but not usable), or "bad"."""
    try:
        header = read_header(hdf5)
    except CorruptTrialError as err:
        ctx.bad(err.path, err.problem, type(err))
        return "bad"
    except PhysionDataError as err:  # the header alone cannot tell the scenario, which we know: the MP4 serves
        ctx.scan.notes.append(f"{hdf5}: not used ({err.problem}); imported the MP4 beside it")
        return "mp4"
    if label is not None and header.label is not None and header.label != label:
        ctx.bad(hdf5, f"label {header.label} disagrees with {meta_path} ({label})")
        return "bad"
    return "hdf5"


def _scenario(root: Path, folder: Path, name: str, controller) -> str | None:
    scenario = scenario_from_stimulus_name(name, infer_drape=False) or scenario_from_controller(controller)
    if scenario:
        return scenario
    for place in [folder, *(p for p in folder.parents if p == root or p.is_relative_to(root))]:
        hint = place.name if place.name in SCENARIOS else scenario_from_stimulus_name(place.name, infer_drape=False)
        if hint:
            return hint
    return scenario_from_stimulus_name(name)  # last resort: the Drape "testNN_NNNN" naming


def _first_few(items: list, count: int = 5) -> str:
    shown = ", ".join(str(i) for i in items[:count])
    return shown + (f" and {len(items) - count} more" if len(items) > count else "")
