"""What a layout scan finds, and the shared rules of a scan: label joins, split mapping, skipping bad input.

Used by ``physion.real_data.layouts`` and the layout modules; a ``LayoutScan`` lists ``TrialSource``s (one per
trial, not yet decoded), the input it skipped (with ``skip_bad``), the names it excluded and the trials a
tdw_physics metadata.json marks invalid. Errors raised through ``ScanContext.bad`` carry ``skippable = True``:
``--skip-bad`` would have skipped them, so only they get that hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from physion.errors import MissingLabelError, PhysionDataError
from physion.real_data.scenario_names import scenario_from_stimulus_name
from physion.trial import SPLITS

SKIPPABLE = "skippable"  # attribute set on errors that skip_bad would have recorded instead of raising


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
    params: dict = field(default_factory=dict)  # extra facts for Trial.params (e.g. the tdw controller)


@dataclass
class LayoutScan:
    root: Path
    layout: str
    sources: list[TrialSource] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path": str, "reason": str}
    excluded: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # tdw_physics is_trial_valid=false, left out
    notes: list[str] = field(default_factory=list)


@dataclass
class Video:
    path: Path
    name: str
    scenario: str
    split: str


@dataclass
class ScanContext:
    """One scan's settings and results; ``bad`` raises, or records when ``skip_bad``.

    ``scenario`` forces every trial's scenario (layouts that tell it per trial); ``keep_invalid`` keeps trials a
    tdw_physics metadata.json marks ``is_trial_valid: false``.
    """

    scan: LayoutScan
    split_map: dict[str, str]
    exclude: set[str]
    skip_bad: bool
    scenario: str | None = None
    keep_invalid: bool = False

    def bad(self, path: Path, problem: str, error: type[PhysionDataError] = PhysionDataError) -> None:
        if not self.skip_bad:
            raise mark_skippable(error(path, problem))
        self.scan.skipped.append({"path": str(path), "reason": problem})

    def split_for(self, source_split: str, where: Path, defaults: dict[str, str] | None = None) -> str:
        """The split of a folder: the user's ``split_map`` entry, a layout's default, the name itself, or ``*``."""
        split = (
            self.split_map.get(source_split)
            or (defaults or {}).get(source_split)
            or (source_split if source_split in SPLITS else self.split_map.get("*"))
        )
        if split not in SPLITS:
            raise PhysionDataError(
                where,
                f"cannot tell the split of {source_split!r}: map it with split_map / --split-map "
                f"{source_split}=<{'|'.join(SPLITS)}> (or '*=<split>'); got {split!r}",
            )
        return split

    def add(
        self,
        video: Video,
        label: bool | None,
        label_file: Path,
        first_contact=None,
        *,
        kind: str = "mp4",
        path: Path | None = None,
        params: dict | None = None,
    ) -> None:
        """Record one trial unless it is on the exclude list; readout and test trials must be labelled.

        ``path`` is the file to decode when it is not the video (a tdw_physics HDF5 sibling).
        """
        if video.name in self.exclude:
            self.scan.excluded.append(video.name)
            return
        if label is None and video.split != "training":
            self.bad(video.path, f"no label for {video.name!r} in {label_file}", MissingLabelError)
            return
        self.scan.sources.append(
            TrialSource(
                path or video.path,
                video.name,
                video.scenario,
                video.split,
                label,
                None if first_contact is None else int(first_contact),
                kind=kind,
                params=dict(params or {}),
            )
        )

    def join(
        self,
        videos,
        labels,
        label_file: Path,
        scenarios: set[str],
        first_contact: dict | None = None,
        *,
        looked_for: str | None = None,
        params: dict[str, dict] | None = None,
    ) -> None:
        """Pair videos with label rows by name; rows of scenarios absent here are only counted in a note.

        ``looked_for`` says where a row's video was expected (``{name}`` is filled in), for the error message.
        """
        for video in videos:
            label = labels.get(video.name) if labels is not None else None
            self.add(
                video, label, label_file, (first_contact or {}).get(video.name), params=(params or {}).get(video.name)
            )
        if labels is None:
            return
        have = {v.name for v in videos}
        unmatched = [n for n in labels if n not in have and n not in self.exclude]
        here = [n for n in unmatched if scenario_from_stimulus_name(n) in scenarios | {None}]
        where = (
            looked_for or "{name}_img.mp4 / {name}-redyellow.mp4 in the " + ", ".join(sorted(scenarios)) + " folders"
        )
        for name in here if self.skip_bad else here[:1]:
            self.bad(
                label_file,
                f"row {name!r} names no video (looked for {where.replace('{name}', name)})"
                f"{'' if self.skip_bad else f'; {len(here)} such rows'}",
            )
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


def mark_skippable(err: PhysionDataError) -> PhysionDataError:
    """Flag ``err`` as one that ``skip_bad`` skips (so the CLI can suggest --skip-bad only for those)."""
    setattr(err, SKIPPABLE, True)
    return err


def is_skippable(err: BaseException) -> bool:
    return bool(getattr(err, SKIPPABLE, False))


def source_split_of(folder: Path) -> str:
    """The split a folder's name (or a parent's) gives, else the folder's own name for ``split_map`` to map."""
    return next((p.name for p in [folder, *folder.parents] if p.name in SPLITS), folder.name)


def optional_bool(value, path: Path) -> bool | None:
    """A metadata.json outcome (true/false/null, or the strings True/False) -> bool or None."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise PhysionDataError(path, f"does_target_contact_zone {value!r} is not true/false/null")
    return text == "true"
