"""Convert a real Physion layout (or any folder ``physion.real_data.layouts`` reads) into our trial store.

Writes ``OUT/<split>/<Scenario>/<name>.hdf5`` per trial, rebuilds the touched ``metadata.json`` files and
writes ``OUT/import_log.json``: what was imported, skipped (with reasons), excluded (glitchy lists) and left out
as invalid (tdw_physics ``is_trial_valid: false``). Errors that ``skip_bad`` would have skipped are marked
(``physion.real_data.layout_scan.is_skippable``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from physion.atomic import write_json_atomic
from physion.errors import PhysionDataError
from physion.real_data.label_files import read_name_list
from physion.real_data.layout_scan import mark_skippable
from physion.real_data.layouts import LayoutScan, TrialSource, load_trial, scan_layout
from physion.storage.store import TrialStore, write_trial
from physion.storage.summary import IMPORT_LOG

log = logging.getLogger(__name__)


def import_layout(
    src: str | Path,
    out: str | Path,
    *,
    split_map: dict[str, str] | None = None,
    exclude_list: str | Path | None = None,
    skip_bad: bool = False,
    max_trials: int | None = None,
    overwrite: bool = False,
    test_videos: str = "mp4s-redyellow",
    scenario: str | None = None,
    keep_invalid: bool = False,
    progress: bool = True,
) -> dict:
    """Import ``src`` into the store at ``out``; returns the import log (also written to ``out/import_log.json``).

    ``max_trials`` keeps at most that many trials per split and scenario (the first by name). Trials already
    in the store are kept unless ``overwrite``. Bad input raises PhysionDataError naming the file unless
    ``skip_bad``, in which case it is listed in the log. Even a failed import rebuilds the metadata of what it wrote.
    ``scenario`` and ``keep_invalid`` are as for ``physion.real_data.layouts.scan_layout``.
    """
    src, out = Path(src), Path(out)
    exclude = read_name_list(exclude_list) if exclude_list else set()
    scan = scan_layout(
        src,
        split_map=split_map,
        exclude=exclude,
        skip_bad=skip_bad,
        test_videos=test_videos,
        scenario=scenario,
        keep_invalid=keep_invalid,
    )
    sources, dropped = _limit_per_group(scan.sources, max_trials)
    log.info(
        "%s: %s layout, %d trials to import (%d skipped, %d excluded, %d invalid left out while scanning)",
        src,
        scan.layout,
        len(sources),
        len(scan.skipped),
        len(scan.excluded),
        len(scan.invalid),
    )
    store = TrialStore(out)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"trials": 0, "positives": 0, "already_present": 0})
    status, error = "complete", None
    try:
        for source in tqdm(sources, desc=f"import {src.name}", unit="trial", disable=not progress):
            group = counts[f"{source.split}/{source.scenario}"]
            try:
                dst = _destination(store, source)
                if dst.exists() and not overwrite:
                    group["already_present"] += 1
                    continue
                trial = load_trial(source)
            except PhysionDataError as err:
                if not skip_bad:
                    raise mark_skippable(err)
                scan.skipped.append({"path": str(err.path), "reason": err.problem})
                continue
            write_trial(dst, trial)
            group["trials"] += 1
            group["positives"] += int(bool(trial.label))
    except BaseException as err:
        status, error = "failed", str(err) or type(err).__name__
        raise
    finally:
        for key in sorted(counts):
            store.write_metadata(*key.split("/"))
        report = _report(scan, src, exclude, exclude_list, counts, dropped, max_trials, status, error, scenario)
        write_json_atomic(out / IMPORT_LOG, report)
        log.info(
            "import %s: %d trials written to %s; %d skipped, %d excluded; log in %s",
            status,
            report["imported"],
            out,
            len(scan.skipped),
            len(scan.excluded),
            out / IMPORT_LOG,
        )
    return report


def _destination(store: TrialStore, source: TrialSource) -> Path:
    try:
        return store.trial_path(source.split, source.scenario, source.name)
    except ValueError as err:  # e.g. a stimulus name that is not a plain file name
        raise PhysionDataError(source.path, f"cannot be stored: {err}") from err


def parse_split_map(items: list[str] | None) -> dict[str, str]:
    """["readout=test", "*=training"] -> {"readout": "test", "*": "training"}."""
    mapping: dict[str, str] = {}
    for item in items or []:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValueError(f"--split-map expects SOURCE=SPLIT, got {item!r}")
        mapping[source.strip()] = target.strip()
    return mapping


def _limit_per_group(sources: list[TrialSource], max_trials: int | None) -> tuple[list[TrialSource], int]:
    if max_trials is None:
        return sources, 0
    by_group: dict[tuple[str, str], list[TrialSource]] = defaultdict(list)
    for source in sources:
        by_group[(source.split, source.scenario)].append(source)
    kept = [s for group in by_group.values() for s in sorted(group, key=lambda s: s.name)[:max_trials]]
    return kept, len(sources) - len(kept)


def _report(
    scan: LayoutScan,
    src: Path,
    exclude: set[str],
    exclude_list,
    counts,
    dropped: int,
    max_trials: int | None,
    status: str,
    error: str | None,
    scenario: str | None,
) -> dict:
    return {
        "source": str(src),
        "layout": scan.layout,
        "scenario_forced": scenario,
        "status": status,
        "error": error,
        "imported": sum(c["trials"] for c in counts.values()),
        "groups": dict(sorted(counts.items())),
        "max_trials_per_group": max_trials,
        "left_out_by_max_trials": dropped,
        "skipped": scan.skipped,
        "excluded": sorted(set(scan.excluded)),
        "exclude_list": None if exclude_list is None else str(exclude_list),
        "exclude_names_not_found": sorted(exclude - set(scan.excluded)),
        "invalid_left_out": sorted(set(scan.invalid)),
        "notes": scan.notes,
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
