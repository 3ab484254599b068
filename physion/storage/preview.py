"""Previews of a store: a contact-sheet PNG (a few frames of a few trials per scenario) and MP4s via PyAV.

``contact_sheet`` layout (all sizes in pixels): one row per trial, a caption band of CAPTION_HEIGHT above each row,
``len(frames)`` square tiles of ``tile`` pixels with GAP between and around them. So the PNG is
``W = n_frames * tile + (n_frames + 1) * GAP`` wide and ``H = GAP + n_rows * (CAPTION_HEIGHT + tile + GAP)`` high.
Frames are assumed square (as Physion's are) and scaled to the tile.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from physion.atomic import atomic_path
from physion.storage.store import TrialStore, read_header, read_trial
from physion.trial import OBSERVED_FRAMES, SPLITS, Trial
from physion.video_io import write_video

log = logging.getLogger(__name__)
CAPTION_HEIGHT = 18
GAP = 2
FONT_SIZE = 12
MIN_VIDEO_SIZE = 128


def _balanced(trials: list[Trial], k: int) -> list[Trial]:
    """Up to ``k`` trials alternating positive, negative, ... (in name order) so a sheet shows both outcomes."""
    positives = [t for t in trials if t.label]
    negatives = [t for t in trials if not t.label]
    chosen: list[Trial] = []
    while len(chosen) < k and (positives or negatives):
        for pool in (positives, negatives):
            if pool and len(chosen) < k:
                chosen.append(pool.pop(0))
    return chosen


def _from_store(root: Path, per_scenario: int, split: str | None, max_frames: int | None) -> list[Trial]:
    """Per scenario, ``per_scenario`` label-balanced trials of ``split`` (default: the first split that has trials)."""
    store = TrialStore(root)
    splits = [split] if split else [s for s in SPLITS if store.trials(s)][:1]
    if not splits or not store.trials(splits[0]):
        raise FileNotFoundError(f"{root}: no trials to preview" + (f" in split {split!r}" if split else ""))
    chosen: list[Trial] = []
    for scenario in store.scenarios(splits[0]):  # built-ins in Physion's order, then plug-ins
        paths = store.trials(splits[0], scenario)
        headers = [read_header(p).to_trial() for p in paths[: 4 * per_scenario]]  # enough to find both labels
        picked = {t.name for t in _balanced(headers, per_scenario)}
        chosen += [read_trial(p, max_frames=max_frames) for p, t in zip(paths, headers) if t.name in picked]
    return chosen


def select_trials(
    source: str | Path | Iterable[Trial],
    trials_per_scenario: int = 2,
    split: str | None = None,
    max_frames: int | None = None,
) -> list[Trial]:
    """Trials to preview from a store folder or from Trial objects, grouped by scenario, labels balanced."""
    if isinstance(source, (str, Path)):
        return _from_store(Path(source), trials_per_scenario, split, max_frames)
    by_scenario: dict[str, list[Trial]] = {}
    for trial in source:
        by_scenario.setdefault(trial.scenario, []).append(trial)
    return [t for group in by_scenario.values() for t in _balanced(group, trials_per_scenario)]


def _caption(trial: Trial) -> str:
    label = "?" if trial.label is None else int(trial.label)
    contact = "-" if trial.first_contact_frame is None else trial.first_contact_frame
    return f"{trial.scenario} | {trial.name} | label {label} | first contact {contact}"


def _tile(frame: np.ndarray, tile: int) -> Image.Image:
    image = Image.fromarray(frame)
    # Nearest keeps small generated frames crisp when enlarged; Lanczos avoids aliasing when shrinking.
    return image.resize((tile, tile), Image.NEAREST if tile >= frame.shape[0] else Image.LANCZOS)


def contact_sheet(
    source: str | Path | Iterable[Trial],
    out_png: str | Path,
    trials_per_scenario: int = 2,
    frames: tuple[int, ...] = (0, 30, 60, 90, 120),
    tile: int = 128,
    split: str | None = None,
) -> Path:
    """Write a grid PNG: a row per trial (captioned scenario | name | label | first contact), a column per frame.

    Frame indices at or after OBSERVED_FRAMES are marked with ``*`` (the part a model must predict).
    A frame index past a trial's end is an error naming the trial. Returns ``out_png``.
    """
    trials = select_trials(source, trials_per_scenario, split, max_frames=max(frames) + 1)
    if not trials:
        raise ValueError("contact_sheet got no trials")
    for trial in trials:
        if max(frames) >= trial.num_frames:
            raise ValueError(f"trial {trial.name} has {trial.num_frames} frames; cannot show frame {max(frames)}")
    width = len(frames) * tile + (len(frames) + 1) * GAP
    row_height = CAPTION_HEIGHT + tile + GAP
    sheet = Image.new("RGB", (width, GAP + len(trials) * row_height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=FONT_SIZE)
    for row, trial in enumerate(trials):
        top = GAP + row * row_height
        draw.text((GAP + 2, top + 2), _caption(trial), fill="black", font=font)
        for col, t in enumerate(frames):
            left = GAP + col * (tile + GAP)
            sheet.paste(_tile(trial.frames[t], tile), (left, top + CAPTION_HEIGHT))
            mark = f"t={t}" + ("*" if t >= OBSERVED_FRAMES else "")
            draw.text(
                (left + 3, top + CAPTION_HEIGHT + 2), mark, fill="white", font=font, stroke_width=1, stroke_fill="black"
            )
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        sheet.save(tmp, format="PNG")
    log.info("contact sheet of %d trials written to %s", len(trials), out_png)
    return out_png


def write_preview_mp4s(
    source: str | Path | Iterable[Trial],
    out_dir: str | Path,
    trials_per_scenario: int = 2,
    split: str | None = None,
) -> list[Path]:
    """One H.264 MP4 per selected trial (``out_dir/<name>.mp4``), enlarged by an integer factor to at least
    MIN_VIDEO_SIZE pixels so small generated frames are watchable. Returns the paths."""
    out_dir = Path(out_dir)
    written = []
    for trial in select_trials(source, trials_per_scenario, split):
        factor = max(1, math.ceil(MIN_VIDEO_SIZE / min(trial.resolution)))
        frames = trial.frames.repeat(factor, axis=1).repeat(factor, axis=2)
        if frames.shape[1] % 2 or frames.shape[2] % 2:  # yuv420p needs even sizes: pad the last row/column
            frames = np.pad(frames, ((0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0)), mode="edge")
        written.append(write_video(out_dir / f"{trial.name}.mp4", frames, trial.fps))
    log.info("%d preview MP4s written to %s", len(written), out_dir)
    return written
