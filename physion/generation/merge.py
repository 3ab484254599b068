"""Merge shard stores (``generate --shard I/N`` outputs) into one store, refusing conflicting content.

Each shard folder must hold a complete manifest; all must share settings, scenarios, counts and N. Trial files are
copied (or moved) atomically; a trial already present in the target must be byte-identical. The target's
metadata.json files and manifest are rebuilt; its manifest lists the merged shard indices and is "partial" until
all N are in, so merging can also be done incrementally as array jobs finish.
"""

from __future__ import annotations

import filecmp
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from tqdm import tqdm

from physion.atomic import atomic_path
from physion.errors import PhysionDataError
from physion.generation.manifest import build_manifest, manifest_path
from physion.generation.resume import load_manifest, settings_conflicts, store_lock
from physion.storage.store import TrialStore, write_json_atomic
from physion.trial import SPLITS

log = logging.getLogger(__name__)


def _shard_manifest(folder: Path) -> dict[str, Any]:
    manifest = load_manifest(folder)
    if manifest is None:
        raise PhysionDataError(manifest_path(folder), "missing: not the output of a `generate --shard I/N` run")
    if manifest.get("status") != "complete":
        raise PhysionDataError(
            manifest_path(folder), f"status is {manifest.get('status')!r}: rerun that shard (it resumes) before merging"
        )
    if manifest.get("shard") is None:
        raise PhysionDataError(manifest_path(folder), "is an unsharded generation, not a shard")
    return manifest


def _check_same_generation(reference: dict[str, Any], other: dict[str, Any], where: Path) -> None:
    problems = settings_conflicts(reference["settings"], other["settings"])
    # Names in order fix the plan and the seeds; specs may differ (a plugin path relative to another folder).
    names = [[s["name"] for s in m["scenarios"]] for m in (other, reference)]
    if names[0] != names[1]:
        problems.append(f"scenarios: {names[0]} vs {names[1]}")
    if reference.get("counts") != other.get("counts"):
        problems.append(f"counts: {other.get('counts')!r} vs {reference.get('counts')!r}")
    ref_n = (reference.get("shard") or {}).get("count", (reference.get("merged_shards") or {}).get("count"))
    other_n = (other.get("shard") or {}).get("count", (other.get("merged_shards") or {}).get("count"))
    if ref_n != other_n:
        problems.append(f"shard count N: {other_n} vs {ref_n}")
    if problems:
        raise PhysionDataError(manifest_path(where), "belongs to another generation: " + "; ".join(problems))


def _place(src: Path, dst: Path, move: bool) -> bool:
    """Copy/move ``src`` to ``dst`` atomically; True if it was placed, False if an identical file was already there."""
    if dst.exists():
        if not filecmp.cmp(src, dst, shallow=False):
            raise PhysionDataError(dst, f"conflicts with {src}: same trial name, different content")
        if move:
            src.unlink()
        return False
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    if move:
        os.remove(src)
    return True


def merge_shards(
    out: str | Path, shard_dirs: list[str | Path], *, move: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Merge the shard stores ``shard_dirs`` into ``out`` (created if needed); returns the merged manifest."""
    root = Path(out)
    folders = [Path(d) for d in shard_dirs]
    if not folders:
        raise ValueError("merge_shards needs at least one shard folder")
    manifests = [_shard_manifest(folder) for folder in folders]
    reference = manifests[0]
    for folder, manifest in zip(folders, manifests):
        _check_same_generation(reference, manifest, folder)
    indices = [m["shard"]["index"] for m in manifests]
    if len(set(indices)) != len(indices):
        raise ValueError(f"a shard index is given twice among {[str(f) for f in folders]}: {indices}")
    count = reference["shard"]["count"]
    store = TrialStore(root)

    with store_lock(root):
        existing = load_manifest(root)
        records: dict[str, dict[str, Any]] = {}
        merged = set()
        if existing is not None:
            if existing.get("merged_shards") is None:
                raise PhysionDataError(manifest_path(root), "is not a merged store; merge into a new folder")
            _check_same_generation(reference, existing, root)
            merged = set(existing["merged_shards"]["indices"])
            records = {name: {"name": name, **record} for name, record in existing["trials"].items()}
        placed = 0
        total = sum(len(m["trials"]) for m in manifests)
        with tqdm(total=total, desc="merge", unit="trial", disable=not progress) as bar:
            for folder, manifest in zip(folders, manifests):
                shard_store = TrialStore(folder)
                for name, record in manifest["trials"].items():
                    src = shard_store.trial_path(record["split"], record["scenario"], name)
                    if not src.exists():
                        raise PhysionDataError(src, f"listed in {manifest_path(folder)} but missing")
                    placed += _place(src, store.trial_path(record["split"], record["scenario"], name), move)
                    records[name] = {"name": name, **record}
                    bar.update()
                merged.add(manifest["shard"]["index"])

        pairs = sorted({(r["split"], r["scenario"]) for r in records.values()})
        for split, scenario in pairs:
            store.write_metadata(split, scenario)
        missing = sorted(set(range(count)) - merged)
        manifest = build_manifest(
            reference["settings"],
            reference["scenarios"],
            reference["counts"],
            None,
            _in_plan_order(records, reference),
            status="partial" if missing else "complete",
            merged_shards={"count": count, "indices": sorted(merged), "missing": missing},
        )
        write_json_atomic(manifest_path(root), manifest)
    if missing:
        log.warning("merged store %s lacks shards %s of %d", root, missing, count)
    log.info(
        "merged %d shard(s) into %s (%d trial files %s); manifest: %s",
        len(folders),
        root,
        placed,
        "moved" if move else "copied",
        manifest_path(root),
    )
    return manifest


def _in_plan_order(records: dict[str, dict[str, Any]], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Records sorted like an unsharded generation lists them: split, scenario (given order), index."""
    scenario_order = {s["name"]: i for i, s in enumerate(reference["scenarios"])}
    return sorted(
        records.values(),
        key=lambda r: (SPLITS.index(r["split"]), scenario_order.get(r["scenario"], len(scenario_order)), r["index"]),
    )
