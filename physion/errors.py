"""Errors that name the file and the problem, so a user can find and fix bad input."""
from __future__ import annotations

from pathlib import Path


class PhysionDataError(Exception):
    """Bad input data: ``path`` is the offending file, ``problem`` says what is wrong with it."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class CorruptTrialError(PhysionDataError):
    """A trial file (HDF5 or MP4) that cannot be read: truncated, not the format, missing keys."""


class MissingLabelError(PhysionDataError):
    """A trial whose label cannot be found (no CSV row, no metadata entry, no per-frame labels)."""


class RejectedTrial(Exception):
    """Raised by a scenario when a sampled trial is invalid (interpenetrating start, agent or patient hidden,
    contact inside the observation window...). The generator then tries the next seed; never user-facing."""
