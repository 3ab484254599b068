"""The one trial record every generator and reader produces, and every writer and dataset consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCENARIOS = ("Dominoes", "Support", "Collide", "Contain", "Drop", "Link", "Roll", "Drape")
SPLITS = ("training", "readout", "test")
FPS = 30
OBSERVED_FRAMES = 45  # Physion shows models and humans the first 1.5 s at 30 fps
SPLIT_SIZES = {"training": 2000, "readout": 1000, "test": 150}  # real Physion's trials per scenario and split


def stored_count(video_frames: int, frame_stride: int) -> int:
    """How many of ``video_frames`` frames a stride keeps: frames 0, s, 2s, ... < video_frames."""
    return -(-int(video_frames) // int(frame_stride))


@dataclass
class Trial:
    """One stimulus of T video frames (1/fps apart), of which every ``frame_stride``-th is stored.

    frames:        (N, H, W, 3) uint8 RGB of video frames 0, s, 2s, ... (s = frame_stride, N = ceil(T / s)).
    frame_stride:  s; 1 (every frame stored) for real Physion and unstrided generation.
    video_frames:  T; None means N (an unstrided trial).
    label:         did the agent (red) touch the patient (yellow) at any time; None when unknown.
    contacts:      (T,) bool per-video-frame agent-patient contact (tdw ``labels/target_contacting_zone``), optional.
    first_contact_frame: video frame of the first contact, None when there is none or it is unknown.
    segmentation:  (N, H, W) int32 object index per pixel, 0 = background, i = object_ids[i - 1]; optional.
    object_ids:    engine ids of the objects, in segmentation order.
    object_names:  one name per object (e.g. "agent", "patient", "distractor_0", "floor").
    agent_index / patient_index: positions of the agent and patient in ``object_ids``.
    positions / velocities: (N, O, 3) float32 world-frame states at the stored frames; optional.
    params:        json-serialisable generator parameters (sizes, masses, speeds, camera...).
    """

    name: str
    scenario: str
    frames: np.ndarray
    fps: int = FPS
    label: bool | None = None
    contacts: np.ndarray | None = None
    first_contact_frame: int | None = None
    segmentation: np.ndarray | None = None
    object_ids: list[int] = field(default_factory=list)
    object_names: list[str] = field(default_factory=list)
    agent_index: int | None = None
    patient_index: int | None = None
    positions: np.ndarray | None = None
    velocities: np.ndarray | None = None
    seed: int | None = None
    split: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    frame_stride: int = 1
    video_frames: int | None = None

    @property
    def num_frames(self) -> int:
        """T, the video frames the trial lasts (what contacts and first_contact_frame count in)."""
        return int(self.frames.shape[0]) if self.video_frames is None else int(self.video_frames)

    @property
    def stored_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def frame_indices(self) -> np.ndarray:
        """(N,) the video frame of each stored frame: 0, s, 2s, ..."""
        return np.arange(self.stored_frames) * self.frame_stride

    @property
    def resolution(self) -> tuple[int, int]:
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    def metadata(self) -> dict[str, Any]:
        """The per-trial entry of a split's ``metadata.json`` (same fields as real Physion's)."""
        return {
            "stimulus_name": self.name,
            "scenario": self.scenario,
            "num_frames": self.num_frames,
            "frame_stride": self.frame_stride,
            "resolution": list(self.resolution),
            "does_target_contact_zone": self.label,
            "first_target_contact_zone_frame": self.first_contact_frame,
            "seed": self.seed,
            "split": self.split,
        }
