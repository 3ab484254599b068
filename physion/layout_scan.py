"""What a layout scan finds, and the shared rules of a scan: label joins, split mapping, skipping bad input.

Used by ``physion.real_layouts``; a ``LayoutScan`` lists ``TrialSource``s (one per trial, not yet decoded),
the input it skipped (with ``skip_bad``) and the names it excluded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from physion.errors import MissingLabelError, PhysionDataError
from physion.scenario_names import scenario_from_stimulus_name
from physion.trial import SPLITS


@dataclass
class TrialSource:
    """One trial found in a layout, not yet decoded."""

    path: Path
    name: str
    scenario: str
    split: str
    label: bool | None
    first_contact_frame: int | None = None
    kind: str = "mp4"  # "mp4" or "hdf5"


@dataclass
class LayoutScan:
    root: Path
    layout: str
    sources: list[TrialSource] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path": str, "reason": str}
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Video:
    path: Path
    name: str
    scenario: str
    split: str


@dataclass
class ScanContext:
    """One scan's settings and results; ``bad`` raises, or records when ``skip_bad``."""

    scan: LayoutScan
    split_map: dict[str, str]
    exclude: set[str]
    skip_bad: bool

    def bad(self, path: Path, problem: str, error: type[PhysionDataError] = PhysionDataError) -> None:
        if not self.skip_bad:
            raise error(path, problem)
        self.scan.skipped.append({"path": str(path), "reason": problem})

    def split_for(self, source_split: str, where: Path) -> str:
        split = self.split_map.get(source_split) or (source_split if source_split in SPLITS else self.split_map.get("*"))
        if split not in SPLITS:
            raise PhysionDataError(
                where, f"cannot tell the split of {source_split!r}: map it with split_map / --split-map "
                f"{source_split}=<{'|'.join(SPLITS)}> (or '*=<split>'); got {split!r}"
            )
        return split

    def join(self, videos, labels, label_file: Path, scenarios: set[str], first_contact: dict | None = None) -> None:
        """Pair videos with label rows; rows of scenarios absent here are only counted in a note."""
        for video in videos:
            if video.name in self.exclude:
                self.scan.excluded.append(video.name)
                continue
            label = labels.get(video.name) if labels is not None else None
            if label is None and video.split != "training":  # readout and test trials must be labelled
                self.bad(video.path, f"no label for {video.name!r} in {label_file}", MissingLabelError)
                continue
            first = (first_contact or {}).get(video.name)
            self.scan.sources.append(
                TrialSource(video.path, video.name, video.scenario, video.split, label, None if first is None else int(first))
            )
        if labels is None:
            return
        have = {v.name for v in videos}
        unmatched = [n for n in labels if n not in have and n not in self.exclude]
        here = [n for n in unmatched if scenario_from_stimulus_name(n) in scenarios | {None}]
        for name in here if self.skip_bad else here[:1]:
            self.bad(label_file, f"row {name!r} names no video (looked for {name}_img.mp4 / {name}-redyellow.mp4 in "
                     f"the {', '.join(sorted(scenarios))} folders){'' if self.skip_bad else f'; {len(here)} such rows'}")
        if len(unmatched) > len(here):
            self.scan.notes.append(
                f"{label_file}: {len(unmatched) - len(here)} rows belong to scenarios without a folder here (ignored)"
            )

    def check_duplicates(self) -> None:
        seen: dict[tuple[str, str, str], Path] = {}
        kept = []
        for source in self.scan.sources:
            key = (source.split, source.scenario, source.name)
            if key in seen:
                self.bad(source.path, f"same split/scenario/name as {seen[key]}")
                continue
            seen[key] = source.path
            kept.append(source)
        self.scan.sources = kept


def optional_bool(value, path: Path) -> bool | None:
    """A metadata.json outcome (true/false/null, or the strings True/False) -> bool or None."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise PhysionDataError(path, f"does_target_contact_zone {value!r} is not true/false/null")
    return text == "true"
