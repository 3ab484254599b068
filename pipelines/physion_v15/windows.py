"""The frames the v1.5 harness shows a model (``Physion.__getitem__`` in physion_evaluator/dataloader_mp4s.py).

Facts this module reproduces, so our own v1.5 runs see exactly the harness's frames:
- the step is ``-frame_gap // 10`` in Python, i.e. ``(-frame_gap) // 10``: floor division of the negative gap, so a
  gap of 35 steps 4 frames, not 3;
- at least ``max(min_frames, 450 // frame_gap + 1)`` frames; a shorter window is padded at the front with its
  first frame repeated (a longer one is kept whole);
- OCP: frames counted back from 15 (collision stimuli without ``roll`` in the name) or 45 (all others) to 0, then
  put in time order;
- OCD: frames counted back from contact + 15 to just above contact - 31, the last one dropped, and kept in that
  *descending* order (the harness does not reverse them);
- every index is clipped to the video, ``[0, num_frames - 1]``.
"""

from __future__ import annotations

import numpy as np

TASKS = ("ocp", "ocd")
OCP_LAST_FRAME = {"collision": 15, "other": 45}
# The harness's scenario keys (train_json.json / test_json.json) in its order; ours beside them.
HARNESS_SCENARIOS = {
    "collision": "Collide",
    "drop": "Drop",
    "towers": "Support",
    "link": "Link",
    "roll": "Roll",
    "contain": "Contain",
    "dominoes": "Dominoes",
}
OUR_TO_HARNESS = {ours: key for key, ours in HARNESS_SCENARIOS.items()}


def harness_step(frame_gap: int) -> int:
    """The (negative) index step the harness uses for ``frame_gap``."""
    if frame_gap < 1:
        raise ValueError(f"frame_gap must be >= 1, got {frame_gap}")
    step = (-frame_gap) // 10
    return step


def required_frames(frame_gap: int, min_frames: int) -> int:
    """How many frames the harness gives every window at least."""
    return max(min_frames, 450 // frame_gap + 1)


def is_harness_collision(name: str) -> bool:
    """The harness's test for the short OCP window: ``collision`` in the file name and ``roll`` not."""
    return "collision" in name and "roll" not in name


def _pad_front(indices: np.ndarray, length: int) -> np.ndarray:
    if len(indices) >= length:
        return indices
    return np.concatenate([np.full(length - len(indices), indices[0], dtype=indices.dtype), indices])


def ocp_indices(
    name: str, num_frames: int, frame_gap: int, min_frames: int, collision: bool | None = None
) -> np.ndarray:
    """Video frame indices of the OCP observation of a video ``name`` with ``num_frames`` frames.

    ``collision`` overrides the harness's name test (our generated Collide trials are not named ``collision``)."""
    if num_frames < 1:
        raise ValueError(f"{name}: a video needs at least one frame, got {num_frames}")
    short = is_harness_collision(name) if collision is None else collision
    last = OCP_LAST_FRAME["collision" if short else "other"]
    indices = np.arange(last, -1, harness_step(frame_gap)).clip(0, num_frames - 1)[::-1].copy()
    return _pad_front(indices, required_frames(frame_gap, min_frames))


def ocd_indices(contact_frame: int, num_frames: int, frame_gap: int, min_frames: int) -> np.ndarray:
    """Video frame indices of the OCD window around ``contact_frame`` (descending, as the harness keeps them)."""
    if num_frames < 1:
        raise ValueError(f"a video needs at least one frame, got {num_frames}")
    indices = np.arange(contact_frame + 15, contact_frame - 31, harness_step(frame_gap)).clip(0, num_frames - 1)[:-1]
    if len(indices) == 0:  # a gap wider than the 46-frame span leaves one index, which [:-1] drops
        raise ValueError(f"frame_gap {frame_gap} leaves no OCD frame (the harness's window spans 46 frames)")
    return _pad_front(indices, required_frames(frame_gap, min_frames))


def window_indices(
    task: str,
    name: str,
    num_frames: int,
    frame_gap: int,
    min_frames: int,
    contact_frame: int | None = None,
    collision: bool | None = None,
) -> np.ndarray:
    """The frames of ``task`` (``ocp`` or ``ocd``); OCD needs the video's ``contact_frame`` label."""
    if task == "ocp":
        return ocp_indices(name, num_frames, frame_gap, min_frames, collision)
    if task == "ocd":
        if contact_frame is None:
            raise ValueError(f"{name}: the OCD window needs a contact frame label")
        return ocd_indices(contact_frame, num_frames, frame_gap, min_frames)
    raise ValueError(f"unknown v1.5 task {task!r}; expected one of {list(TASKS)}")
