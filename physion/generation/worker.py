"""Produce one trial: rejection-sample seeds until the scenario yields a valid trial with the wanted label; write it.

Runs inside pool workers ("spawn" context), so everything here is a top-level, picklable function of plain data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from physion.errors import OutOfSpaceError, RejectedTrial
from physion.generation import GENERATOR_VERSION
from physion.generation.plan import TrialJob
from physion.generation.seeds import trial_seed, wanted_label
from physion.generation.space import is_disk_full
from physion.scenarios import load_scenario
from physion.storage.store import write_trial
from physion.trial import Trial, stored_count


@dataclass(frozen=True)
class SimulationSettings:
    """What every trial of one generation shares."""

    resolution: int
    num_frames: int
    fps: int
    base_seed: int
    max_tries: int
    frame_stride: int = 1  # store video frames 0, s, 2s, ... (physics and labels still cover every frame)


class TrialGenerationError(RuntimeError):
    """A trial that found no valid seed with the wanted label within ``max_tries`` attempts (or a broken scenario)."""

    def __init__(self, split: str, scenario: str, index: int, problem: str):
        self.split, self.scenario, self.index, self.problem = split, scenario, index, problem
        super().__init__(f"scenario {scenario!r}, split {split!r}, trial index {index}: {problem}")

    def __reduce__(self):  # keep the fields when the error crosses from a worker process to the parent
        return (type(self), (self.split, self.scenario, self.index, self.problem))


_CLASSES: dict[str, type] = {}  # per-process cache: plugin files are imported once per worker, not once per trial


def _scenario_class(spec: str) -> type:
    if spec not in _CLASSES:
        _CLASSES[spec] = load_scenario(spec)
    return _CLASSES[spec]


def _check_shape(trial: Trial, job: TrialJob, settings: SimulationSettings) -> None:
    expected = (stored_count(settings.num_frames, settings.frame_stride), settings.resolution, settings.resolution, 3)
    if (
        trial.frames.shape != expected
        or trial.label is None
        or trial.frame_stride != settings.frame_stride
        or trial.num_frames != settings.num_frames
    ):
        raise TrialGenerationError(
            job.split,
            job.scenario,
            job.index,
            f"scenario {job.spec!r} returned frames of shape {trial.frames.shape} at frame_stride "
            f"{trial.frame_stride} over {trial.num_frames} frames and label {trial.label!r}; expected shape "
            f"{expected} at frame_stride {settings.frame_stride} over {settings.num_frames} frames and a bool label",
        )


def simulate_wanted(job: TrialJob, settings: SimulationSettings) -> tuple[Trial, int]:
    """Try attempts 0, 1, ... until a valid trial with label ``wanted_label(job.index)``; returns (trial, attempt)."""
    cls = _scenario_class(job.spec)
    want = wanted_label(job.index)
    reasons: Counter[str] = Counter()
    for attempt in range(settings.max_tries):
        seed = trial_seed(settings.base_seed, job.split, job.scenario, job.index, attempt)
        try:
            # A fresh instance per attempt: nothing can leak between trials, so a trial's bytes depend only on its seed.
            # frame_stride only when striding, so plugins overriding simulate() without it still generate unstrided.
            strided = {"frame_stride": settings.frame_stride} if settings.frame_stride != 1 else {}
            trial = cls().simulate(
                seed,
                resolution=settings.resolution,
                num_frames=settings.num_frames,
                fps=settings.fps,
                want_label=want,
                **strided,
            )
        except RejectedTrial as rejection:
            reasons[f"rejected: {rejection}"] += 1
            continue
        _check_shape(trial, job, settings)
        if bool(trial.label) == want:
            return trial, attempt
        reasons[f"label {bool(trial.label)} instead of {want}"] += 1
    seen = "; ".join(f"{reason} (x{n})" for reason, n in reasons.most_common(6))
    raise TrialGenerationError(
        job.split,
        job.scenario,
        job.index,
        f"no valid trial with label {want} in {settings.max_tries} tries (rerun with a larger max_tries to "
        f"resume); reasons seen: {seen}",
    )


def trial_record(trial: Trial) -> dict[str, Any]:
    """The manifest entry of a generated trial (from the trial itself, so it is the same for fresh and resumed ones)."""
    generation = trial.params.get("generation", {})
    return {
        "name": trial.name,
        "split": trial.split,
        "scenario": trial.scenario,
        "index": generation.get("index"),
        "seed": trial.seed,
        "attempt": generation.get("attempt"),
        "tries": generation.get("tries"),
        "label": None if trial.label is None else bool(trial.label),
        "first_contact_frame": trial.first_contact_frame,
    }


def generate_trial(job: TrialJob, settings: SimulationSettings, path: str) -> dict[str, Any]:
    """Simulate ``job`` and write it atomically to ``path``; returns its manifest record. Pool entry point."""
    # One BLAS / OpenMP thread while simulating: with numpy's OpenBLAS on several threads, a trial could come out
    # differently (the physics diverges mid-trial), so its bytes depended on the machine (docs/design.md §3).
    with threadpool_limits(limits=1):
        trial, attempt = simulate_wanted(job, settings)
    trial.name, trial.split, trial.scenario = job.name, job.split, job.scenario
    trial.params = {
        **trial.params,
        "generation": {
            "generator_version": GENERATOR_VERSION,
            "index": job.index,
            "wanted_label": wanted_label(job.index),
            "attempt": attempt,
            "tries": attempt + 1,
            "base_seed": settings.base_seed,
        },
    }
    try:
        write_trial(Path(path), trial)
    except OSError as err:
        if is_disk_full(err):  # one line naming the folder, not h5py's stack of errors
            raise OutOfSpaceError(
                Path(path).parent,
                f"disk full while writing {Path(path).name}",
                hint="free some space; trials already written are kept and a rerun resumes",
            ) from None
        raise
    return trial_record(trial)


def generate_trial_star(args: tuple[TrialJob, SimulationSettings, str]) -> dict[str, Any]:
    """``generate_trial`` taking one tuple, for ``Pool.imap_unordered``."""
    return generate_trial(*args)
