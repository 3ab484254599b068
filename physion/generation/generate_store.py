"""Generate a Physion-style store: every (split, scenario) gets its trials, label-balanced, in parallel, resumably.

Store layout: ``OUT/manifest.json``, ``OUT/<split>/<Scenario>/<name>.hdf5``, ``OUT/<split>/<Scenario>/metadata.json``.
Trial names are deterministic (``{scenario}_{split}_{index:05d}``) and each trial's seed is a pure function of
(base seed, split, scenario, index, attempt) (``generation.seeds``), so any subset of the work (a shard, a rerun after
a crash) produces byte-identical files, and a rerun only does what is missing.
"""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path
from typing import Any, Iterator

from tqdm import tqdm

from physion.generation.manifest import build_manifest, manifest_path, settings_dict
from physion.generation.merge import merge_shards
from physion.generation.plan import TrialJob, check_counts, check_shard, plan_trials
from physion.generation.resume import check_resumable, remove_temp_leftovers, store_lock
from physion.generation.scenario_specs import resolve_scenarios
from physion.generation.space import check_free_space, trial_bytes
from physion.generation.worker import SimulationSettings, generate_trial_star, trial_record
from physion.storage.store import TrialStore, read_header, write_json_atomic
from physion.trial import FPS, OBSERVED_FRAMES, SPLIT_SIZES, stored_count

__all__ = ["generate", "merge_shards", "DEFAULT_COUNTS"]

log = logging.getLogger(__name__)
DEFAULT_COUNTS = SPLIT_SIZES


def _check_args(
    resolution: int, num_frames: int, fps: int, workers: int, seed: int, max_tries: int, frame_stride: int
) -> None:
    if resolution < 8:
        raise ValueError(f"resolution must be >= 8 pixels, got {resolution}")
    if not isinstance(frame_stride, int) or not 1 <= frame_stride < num_frames:
        raise ValueError(
            f"frame_stride must be an int in [1, num_frames), got {frame_stride!r} for {num_frames} frames"
        )
    if num_frames <= OBSERVED_FRAMES:
        raise ValueError(
            f"num_frames must exceed the {OBSERVED_FRAMES} observed frames (positives first touch after them), "
            f"got {num_frames}"
        )
    if fps < 1 or workers < 1 or max_tries < 1 or seed < 0:
        raise ValueError(
            f"need fps >= 1, workers >= 1, max_tries >= 1, seed >= 0; got {fps}, {workers}, {max_tries}, {seed}"
        )


def _run_jobs(
    todo: list[tuple[TrialJob, SimulationSettings, str]], workers: int, bar: tqdm
) -> Iterator[dict[str, Any]]:
    """Yield each new trial's record as it finishes. One worker runs in this process; more use a "spawn" pool, so
    no pybullet state is ever inherited by a child."""
    if workers == 1 or len(todo) <= 1:
        for args in todo:
            yield generate_trial_star(args)
            bar.update()
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(todo))) as pool:
        for record in pool.imap_unordered(generate_trial_star, todo, chunksize=1):
            bar.update()
            yield record


def generate(
    out: str | Path,
    scenarios: list[str] | tuple[str, ...] | None = None,
    counts: dict[str, int] | None = None,
    resolution: int = 128,
    num_frames: int = 150,
    fps: int = FPS,
    workers: int = 2,
    shard: tuple[int, int] | None = None,
    seed: int = 0,
    max_tries: int = 50,
    progress: bool = True,
    frame_stride: int = 1,
) -> dict[str, Any]:
    """Generate (or complete) the store at ``out``; returns the manifest written to ``out/manifest.json``.

    scenarios: built-in names or plugin specs (``module:Class``, ``path/file.py:Class``); default all 8 built-ins.
    counts:    trials per scenario per split, e.g. ``{"training": 2000, "readout": 1000, "test": 150}``.
    shard:     ``(I, N)``: only the trials at positions I mod N of the global order (split, scenario, index).
    max_tries: attempts per trial to get a valid trial with the wanted label before TrialGenerationError.
    frame_stride: render and store only video frames 0, s, 2s, ... of the ``num_frames`` (e.g. a run's frame
               offset); physics, labels, per-frame contacts and first contacts still cover every frame, so each
               trial equals the unstrided one (same seed) with every s-th frame kept.
    """
    root = Path(out)
    counts = check_counts(DEFAULT_COUNTS if counts is None else counts)
    check_shard(shard)
    _check_args(resolution, num_frames, fps, workers, seed, max_tries, frame_stride)
    specs, described = resolve_scenarios(scenarios)
    settings = settings_dict(resolution, num_frames, fps, seed, max_tries, frame_stride)
    simulation = SimulationSettings(resolution, num_frames, fps, seed, max_tries, frame_stride)
    store = TrialStore(root)

    with store_lock(root):
        check_resumable(root, settings, shard, counts)
        jobs = plan_trials(specs, counts, shard)
        paths = {job: store.trial_path(job.split, job.scenario, job.name) for job in jobs}
        for folder in sorted({path.parent for path in paths.values()}):
            if folder.is_dir():
                remove_temp_leftovers(folder)
        done = [job for job in jobs if paths[job].exists()]
        todo = [(job, simulation, str(paths[job])) for job in jobs if not paths[job].exists()]
        # Recorded before any trial is written, so a later resume can check it continues the same generation.
        write_json_atomic(
            manifest_path(root), build_manifest(settings, described, counts, shard, [], status="in_progress")
        )
        log.info(
            "%d trials planned in %s: %d already done, %d to generate with %d worker(s)",
            len(jobs),
            root,
            len(done),
            len(todo),
            workers,
        )
        per_trial = trial_bytes(resolution, stored_count(num_frames, frame_stride), [paths[j] for j in done[:50]])
        check_free_space(root, per_trial, len(todo))

        records = {job.name: trial_record(read_header(paths[job]).to_trial()) for job in done}
        with tqdm(total=len(jobs), initial=len(done), desc="generate", unit="trial", disable=not progress) as bar:
            for record in _run_jobs(todo, workers, bar):
                records[record["name"]] = record
                check_free_space(root, per_trial, min(workers, len(jobs) - len(records)))  # those in flight

        pairs = list(dict.fromkeys((job.split, job.scenario) for job in jobs))
        for split, scenario in pairs:
            store.write_metadata(split, scenario)
        manifest = build_manifest(
            settings, described, counts, shard, [records[job.name] for job in jobs], status="complete"
        )
        write_json_atomic(manifest_path(root), manifest)
    log.info(
        "generated %d new trials; %s now holds all %d planned (metadata.json in %d split/scenario folders); "
        "manifest: %s",
        len(todo),
        root,
        len(jobs),
        len(pairs),
        manifest_path(root),
    )
    return manifest
