"""Physion v1.5 (neuroailab/physion_evaluator's download): ``ROOT/physion_mp4s/{train,test}/*.mp4``.

Each split folder holds ``all_video_labels.json``: ``{video stem: {"label": ..., "contact_frame_label": frame}}``
(5608 train and 1035 test videos in the full set). The trial name is the video stem (the harness keys its labels
and feature files by it). The scenario is the one v1.5 substring the stem holds (``collision`` unless ``roll``,
``drop``, ``towers``, ``link``, ``roll``, ``contain``, ``dominoes``; no Drape). The harness's fixed list of buggy
test stimuli (``physion.real_data.physion_v15_buggy``) is left out of ``test`` and listed.

Splits: v1.5 fits its readout on the train set's features and scores it on the test set, so ``train`` maps to
our ``readout`` split and ``test`` to ``test`` by default; ``--split-map train=training`` imports the train set
for dynamics pretraining instead (import twice, into one store, to have both).

``contact_frame_label`` is the first contact frame of a positive trial, so it becomes ``first_contact_frame``;
for a negative trial the harness stores a stand-in (the middle frame, used to centre its OCD window), which is
kept as ``params["v15_contact_frame_label"]`` on every trial but is no contact.
"""

from __future__ import annotations

from pathlib import Path

from physion.errors import MissingLabelError
from physion.real_data.label_files import read_v15_labels
from physion.real_data.layout_scan import ScanContext, Video
from physion.real_data.physion_v15_buggy import BUGGY_TEST_STIMULI
from physion.real_data.scenario_names import v15_scenarios_in_name
from physion.trial import SCENARIOS

MP4_FOLDER = "physion_mp4s"
LABELS = "all_video_labels.json"
V15_SPLITS = ("train", "test")
DEFAULT_SPLIT_MAP = {"train": "readout", "test": "test"}


def v15_base(root: Path) -> Path | None:
    """The folder holding ``train/`` and ``test/`` (``ROOT/physion_mp4s`` or ``ROOT`` itself), or None."""
    for base in (root / MP4_FOLDER, root):
        if any((base / split / LABELS).is_file() for split in V15_SPLITS):
            return base
    return None


def video_stem(path: Path) -> str:
    """The harness's key for a video: the file name up to its first dot."""
    return path.name.split(".")[0]


def scan_v15(root: Path, ctx: ScanContext) -> None:
    base = v15_base(root)
    for source_split in V15_SPLITS:
        folder = base / source_split
        if not folder.is_dir():
            continue
        labels_path = folder / LABELS
        if not labels_path.is_file():
            raise MissingLabelError(
                labels_path,
                f'the {source_split} videos need this label file ({{video stem: {{"label", "contact_frame_label"}}}})',
            )
        table = read_v15_labels(labels_path)
        split = ctx.split_for(source_split, folder, defaults=DEFAULT_SPLIT_MAP)
        buggy = BUGGY_TEST_STIMULI if source_split == "test" else frozenset()
        videos, left_out = [], set()  # left_out: buggy or skipped videos, whose label rows are not orphans
        for path in sorted(folder.glob("*.mp4")):
            stem = video_stem(path)
            scenario = None if stem in buggy else ctx.scenario or _scenario(path, stem, ctx)
            if scenario:
                videos.append(Video(path, stem, scenario, split))
            else:
                left_out.add(stem)
        excluded = sorted(left_out & buggy)
        ctx.scan.excluded += excluded
        if buggy:
            ctx.scan.notes.append(
                f"{folder}: left out {len(excluded)} of physion_evaluator's {len(buggy)} buggy test "
                "stimuli (physion/real_data/physion_v15_buggy.py)"
            )
        rows = {stem: label for stem, (label, _) in table.items() if stem not in left_out | buggy}
        firsts = {stem: frame for stem, (label, frame) in table.items() if label}
        params = {stem: {"v15_contact_frame_label": frame} for stem, (_, frame) in table.items()}
        ctx.join(
            videos, rows, labels_path, set(SCENARIOS), firsts, looked_for=f"{{name}}.mp4 in {folder}", params=params
        )


def _scenario(path: Path, stem: str, ctx: ScanContext) -> str | None:
    found = v15_scenarios_in_name(stem)
    if len(found) == 1:
        return found[0]
    problem = (
        f"the name holds the substrings of {', '.join(found)}"
        if found
        else "the name holds none of collision, drop, towers, link, roll, contain, dominoes"
    )
    ctx.bad(path, f"cannot tell the Physion v1.5 scenario of {stem!r}: {problem}; pass it with --scenario NAME")
    return None
