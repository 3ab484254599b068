"""Errors that name the file and the problem, so a user can find and fix bad input.

The CLI prints any ``ProjectError`` as one line ``vdt-physion: <path>: <problem>`` (with ``(<hint>)`` when the
error carries one) and exits with its ``exit_code``: 2 for bad input the user can fix, 1 for a failure of the run.
"""

from __future__ import annotations

from pathlib import Path


class ProjectError(Exception):
    """``path`` is the file or folder concerned, ``problem`` says what is wrong; ``hint`` (optional) how to fix it."""

    exit_code = 1

    def __init__(self, path: str | Path, problem: str, hint: str | None = None):
        self.path = Path(path)
        self.problem = problem
        self.hint = hint
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # keep the fields when the error crosses from a worker process to the parent
        return (type(self), (self.path, self.problem, self.hint))


class PhysionDataError(ProjectError):
    """Bad input data: ``path`` is the offending file, ``problem`` says what is wrong with it."""

    exit_code = 2


class CorruptTrialError(PhysionDataError):
    """A trial file (HDF5 or MP4) that cannot be read: truncated, not the format, missing keys."""


class MissingLabelError(PhysionDataError):
    """A trial whose label cannot be found (no CSV row, no metadata entry, no per-frame labels)."""


class FolderLockedError(PhysionDataError):
    """Another live process holds the folder's lock (``physion.locking``); the problem says who. A failure to
    wait out, not bad input (a PhysionDataError only because callers of ``store_lock`` catch that)."""

    exit_code = 1


class OutOfSpaceError(ProjectError):
    """The disk holding ``path`` is (or would become) full."""


class RejectedTrial(Exception):
    """Raised by a scenario when a sampled trial is invalid (interpenetrating start, agent or patient hidden,
    contact inside the observation window...). The generator then tries the next seed; never user-facing."""
