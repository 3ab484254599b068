"""Resuming into an existing store: check its manifest agrees with this run, hold a lock, and clear crash leftovers.

A trial is done iff its final ``.hdf5`` exists: ``write_trial`` writes a hidden temporary sibling
(``.<name>.<pid>-<id>.tmp``, see ``physion.atomic``) and renames it into place, so only complete files carry the name.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any, Iterator

from physion.errors import PhysionDataError
from physion.generation.manifest import SETTING_DEFAULTS, SETTING_KEYS, manifest_path
from physion.locking import folder_lock

log = logging.getLogger(__name__)
TEMP_GLOB = ".*.tmp"  # physion.atomic's temporary names
LOCK_NAME = ".generate.lock"


def load_manifest(root: str | Path) -> dict[str, Any] | None:
    """The store's manifest, or None when it has none; an unreadable one is an error naming the file."""
    path = manifest_path(root)
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PhysionDataError(path, f"not a valid JSON manifest ({err})") from err
    if not isinstance(manifest, dict) or "settings" not in manifest:
        raise PhysionDataError(path, "not a generation manifest (no 'settings')")
    return manifest


def settings_conflicts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences in the settings that must agree, e.g. ``resolution: 64 (store) vs 128 (this run)``."""

    def get(settings: dict[str, Any], key: str) -> Any:
        return settings.get(key, SETTING_DEFAULTS.get(key))

    return [
        f"{key}: {get(old, key)!r} (store) vs {get(new, key)!r} (this run)"
        for key in SETTING_KEYS
        if get(old, key) != get(new, key)
    ]


def check_resumable(
    root: Path, settings: dict[str, Any], shard: tuple[int, int] | None, counts: dict[str, int]
) -> None:
    """Refuse to add trials to a store generated with other settings (its trials would silently mix)."""
    existing = load_manifest(root)
    path = manifest_path(root)
    if existing is None:
        if any(root.glob("*/*/*.hdf5")):
            raise PhysionDataError(root, "holds trial files but no manifest.json; generate into a new folder")
        return
    problems = settings_conflicts(existing["settings"], settings)
    old_shard = existing.get("shard")
    new_shard = None if shard is None else {"index": shard[0], "count": shard[1]}
    if old_shard != new_shard:
        problems.append(f"shard: {old_shard!r} (store) vs {new_shard!r} (this run)")
    elif shard is not None and existing.get("counts") != counts:
        # The shard partition depends on the counts, so a shard folder keeps them.
        problems.append(f"counts of a shard folder: {existing.get('counts')!r} (store) vs {counts!r} (this run)")
    if problems:
        raise PhysionDataError(
            path,
            "was generated with other settings; use a new --out folder or the same settings: " + "; ".join(problems),
        )


def remove_temp_leftovers(folder: Path) -> int:
    """Delete temporary files a crashed run left in ``folder``; returns how many."""
    removed = 0
    for tmp in sorted(folder.glob(TEMP_GLOB)):
        tmp.unlink()
        removed += 1
    if removed:
        log.info("removed %d temporary leftover(s) of an interrupted run in %s", removed, folder)
    return removed


@contextlib.contextmanager
def store_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``root`` so two runs never write (or clean temporaries) in one store at once."""
    with folder_lock(
        root,
        LOCK_NAME,
        "another generate or merge run holds this store's lock",
        hint="wait for it to finish; a rerun then resumes",
    ):
        yield
