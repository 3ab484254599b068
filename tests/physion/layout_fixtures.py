"""Small builders of real-format Physion files for the layout tests: flat-grey MP4s and tdw_physics HDF5 trials.
(A unique module name, so it imports plainly from the test files beside it.)"""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from physion.video_io import write_video

FRAMES = 4


def video(path: Path, value: int, frames: int = FRAMES) -> Path:
    """A tiny 16x16 MP4 whose every pixel is ``value`` (grey), so tests can tell videos apart after decoding."""
    return write_video(path, np.full((frames, 16, 16, 3), value, dtype=np.uint8), fps=30)


def grey_levels(trials) -> list[int]:
    """Each trial's grey level, to the nearest 10 (H.264 in yuv420p shifts flat greys by a unit or two)."""
    return [int(round(float(t.frames.astype(np.float64).mean()) / 10) * 10) for t in trials]


def write_tdw(
    path: Path, contact_frame: int | None, value: int, *, frames: int = 5, name: str | bytes | None = None
) -> Path:
    """A tdw_physics-style trial HDF5: PNG ``_img`` frames, per-frame ``target_contacting_zone``, no ``static/scenario``.

    ``name`` is ``static/stimulus_name`` (default ``<folder>_<stem>``; bytes as tdw_physics stores it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(buffer, format="PNG")
    with h5py.File(path, "w") as f:
        f.create_dataset("static/stimulus_name", data=name if name is not None else f"{path.parent.name}_{path.stem}")
        f.create_dataset("static/object_ids", data=np.array([1, 2]))
        for t in range(frames):
            f.create_dataset(f"frames/{t:04d}/images/_img", data=np.frombuffer(buffer.getvalue(), dtype=np.uint8))
            f.create_dataset(
                f"frames/{t:04d}/labels/target_contacting_zone", data=contact_frame is not None and t >= contact_frame
            )
    return path
