"""Training checkpoints: ``checkpoints/step-NNNNNNN.pt`` (model, EMA, optimizer, schedule, step), newest wins."""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^step-(\d{7})\.pt$")


def checkpoint_path(folder: Path, step: int) -> Path:
    return folder / "checkpoints" / f"step-{step:07d}.pt"


def spatial_phase_dir(folder: Path) -> Path:
    """Where the image-mode phase of a decoupled training (``pretrain.image_steps``) keeps its own training folder."""
    return folder / "spatial"


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of the complete checkpoints, oldest first (temporary files of a crashed write are ignored)."""
    found = []
    for path in (folder / "checkpoints").glob("step-*.pt"):
        m = _NAME.match(path.name)
        if m:
            found.append((int(m.group(1)), path))
    return sorted(found)


def latest_checkpoint(folder: Path) -> tuple[int, Path] | None:
    found = list_checkpoints(folder)
    return found[-1] if found else None


def prune_checkpoints(folder: Path, keep: int) -> None:
    for _, path in list_checkpoints(folder)[:-keep]:
        path.unlink(missing_ok=True)
