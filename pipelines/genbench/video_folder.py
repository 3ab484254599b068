"""The one video-folder dataset of the generation benchmarks (sky time-lapse, UCF101, TaiChi-HD, Cityscapes, ours).

Found recursively under ``root`` (names starting with '.' are skipped, e.g. half-written temporary files):
- video files (.mp4 .avi .mov .mkv .webm), one video each;
- folders that hold png/jpg images, one video each (images in natural name order); with ``group_pattern`` (a
  regex whose first group names the sequence) one folder may hold several sequences, as Cityscapes' does.

Class labels: a video inside a top-level sub-folder of ``root`` gets that sub-folder's class (UCF101-style:
sorted class names -> 0, 1, ...). When no video has one, ``classes`` is empty and every label is -1; a mix of
classed and unclassed videos is an error.

Clips: ``clip_length`` frames taken every ``frame_stride`` frames, so a clip spans (clip_length - 1) * stride + 1
source frames. ``clips="random"``: one clip per video per epoch, its start drawn from (seed, epoch, index), so
``len`` is the number of videos and ``set_epoch`` gives new starts; ``clips="all"``: every non-overlapping span,
so ``len`` is the sum over videos of floor(frames / span).

A video that cannot be opened or is shorter than one span raises BadVideoError naming it; with ``skip_bad`` it
is listed in ``skipped`` (path, reason), logged, and left out. A sample is never swapped for another: a decode
failure while reading a clip (e.g. a truncated file the header did not reveal) always raises.

Items: dict(frames (T, 3, H, W) float32 in [-1, 1], label int, path str, start int (first source frame)).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from pipelines.genbench.frames import CROPS, as_size, fit_frames
from pipelines.genbench.sources import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    BadVideoError,
    FrameFolder,
    VideoFile,
    natural_key,
)

log = logging.getLogger(__name__)
CLIP_MODES = ("random", "all")


@dataclass(frozen=True)
class VideoEntry:
    """One usable video: where it is, how it is read, its frame count and class."""

    key: str  # identity relative to root: "A/x.mp4", "A/v1" (frame folder), "city/seq" (grouped)
    path: Path  # the file, or the folder of images
    files: tuple[Path, ...]  # the images of a frame-folder video (empty for a video file)
    num_frames: int
    label: int

    def source(self) -> VideoFile | FrameFolder:
        return FrameFolder(self.path, self.files) if self.files else VideoFile(self.path)


def _find(root: Path, group_pattern: str | None) -> list[tuple[str, Path, tuple[Path, ...]]]:
    """(key, path, image files) of every video under root, in sorted key order."""
    pattern = re.compile(group_pattern) if group_pattern else None
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        folder = Path(folder)
        rel = folder.relative_to(root)
        names = sorted((n for n in names if not n.startswith(".")), key=natural_key)
        images = [folder / n for n in names if Path(n).suffix.lower() in IMAGE_SUFFIXES]
        found += [((rel / n).as_posix(), folder / n, ()) for n in names if Path(n).suffix.lower() in VIDEO_SUFFIXES]
        if images and pattern is None:
            found.append((rel.as_posix(), folder, tuple(images)))
        elif images:
            groups: dict[str, list[Path]] = {}
            for image in images:
                match = pattern.search(image.name)
                if match is None or not match.groups():
                    raise BadVideoError(
                        image,
                        f"the name does not match group_pattern {group_pattern!r} "
                        "(its first group must name the sequence)",
                    )
                groups.setdefault(match.group(1), []).append(image)
            found += [((rel / g).as_posix(), folder, tuple(files)) for g, files in groups.items()]
    return sorted(found, key=lambda item: natural_key(item[0]))


def _classes(keys: list[str]) -> tuple[list[str], dict[str, int]]:
    """Top-level sub-folder of each key (None when the video sits at the top level), and the class index."""
    tops = {k: k.split("/")[0] if "/" in k else None for k in keys}
    classed = [k for k, c in tops.items() if c is not None]
    if classed and len(classed) < len(keys):
        loose = next(k for k, c in tops.items() if c is None)
        raise ValueError(
            f"videos both in class sub-folders (e.g. {classed[0]}) and at the top level (e.g. {loose}); "
            "put every video in a class folder, or none"
        )
    names = sorted({c for c in tops.values() if c is not None})
    return names, {k: (names.index(c) if c is not None else -1) for k, c in tops.items()}


class VideoFolder(Dataset):
    """Clips of the videos under ``root``; see the module docstring for discovery, labels and clip counts."""

    def __init__(
        self,
        root: str | Path,
        clip_length: int,
        frame_stride: int = 1,
        resolution: int | tuple[int, int] = 64,
        crop: str = "center",
        clips: str = "random",
        *,
        skip_bad: bool = False,
        group_pattern: str | None = None,
        seed: int = 0,
        progress: bool = False,
    ):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: dataset folder not found")
        if clip_length < 1 or frame_stride < 1:
            raise ValueError(f"clip_length and frame_stride must be >= 1, got {clip_length}, {frame_stride}")
        if crop not in CROPS:
            raise ValueError(f"unknown crop {crop!r}; choose one of {CROPS}")
        if clips not in CLIP_MODES:
            raise ValueError(f"unknown clips mode {clips!r}; choose one of {CLIP_MODES}")
        self.clip_length, self.frame_stride = clip_length, frame_stride
        self.resolution, self.crop, self.clips, self.seed = as_size(resolution), crop, clips, seed
        self.span = (clip_length - 1) * frame_stride + 1
        self.epoch = 0
        found = _find(self.root, group_pattern)
        if not found:
            raise FileNotFoundError(
                f"{self.root}: no videos ({', '.join(VIDEO_SUFFIXES)}) or folders of "
                f"{'/'.join(IMAGE_SUFFIXES)} images found"
            )
        self.classes, labels = _classes([key for key, _, _ in found])
        self.videos: list[VideoEntry] = []
        self.skipped: list[tuple[str, str]] = []
        for key, path, files in tqdm(found, desc=f"scanning {self.root.name}", disable=not progress, leave=False):
            try:
                count = FrameFolder(path, files).num_frames if files else VideoFile(path).num_frames
                if count < self.span:
                    raise BadVideoError(
                        path,
                        f"too short: {count} frames, a clip of {clip_length} frames at stride "
                        f"{frame_stride} needs {self.span}",
                    )
            except BadVideoError as err:
                if not skip_bad:
                    raise
                self.skipped.append((str(err.path), err.problem))
                continue
            self.videos.append(VideoEntry(key, path, files, count, labels[key]))
        if self.skipped:
            log.warning(
                "%s: left out %d bad video(s): %s",
                self.root,
                len(self.skipped),
                "; ".join(f"{p} ({why})" for p, why in self.skipped[:10]),
            )
        if not self.videos:
            raise BadVideoError(self.root, "no usable video (all were left out as bad)")
        # clips="all": clip i -> (video, start), every non-overlapping span of every video
        self._all = [
            (v, k * self.span) for v, entry in enumerate(self.videos) for k in range(entry.num_frames // self.span)
        ]

    def __len__(self) -> int:
        return len(self.videos) if self.clips == "random" else len(self._all)

    def set_epoch(self, epoch: int) -> None:
        """New random starts (and random crops) for clips="random" / crop="random"."""
        self.epoch = int(epoch)

    def clip_location(self, index: int, epoch: int | None = None) -> tuple[int, int]:
        """(video index, start frame) of item ``index`` at ``epoch`` (default: the current one)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} clips")
        if self.clips == "all":
            return self._all[index]
        entry = self.videos[index]
        rng = self._rng(index, epoch, stream=0)
        return index, int(rng.integers(0, entry.num_frames - self.span + 1))

    def _rng(self, index: int, epoch: int | None, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch if epoch is None else epoch, index, stream])

    def get(self, index: int, epoch: int | None = None) -> dict:
        """Item ``index`` as drawn at ``epoch`` (benchmarks draw several epochs of random clips explicitly)."""
        video, start = self.clip_location(index, epoch)
        entry = self.videos[video]
        pixels = entry.source().read(range(start, start + self.span, self.frame_stride))
        frames = fit_frames(pixels, self.resolution, self.crop, self._rng(index, epoch, stream=1))
        return {
            "frames": frames,
            "label": entry.label,
            "path": str(entry.path if not entry.files else self.root / entry.key),
            "start": start,
        }

    def __getitem__(self, index: int) -> dict:
        return self.get(index)

    def describe(self) -> dict:
        """The settings to record beside every figure computed on this data."""
        return {
            "root": str(self.root),
            "videos": len(self.videos),
            "clips": len(self),
            "clip_mode": self.clips,
            "clip_length": self.clip_length,
            "frame_stride": self.frame_stride,
            "resolution": list(self.resolution),
            "crop": self.crop,
            "classes": len(self.classes),
            "skipped": len(self.skipped),
            "seed": self.seed,
        }


def stack_clips(items: list[dict]) -> torch.Tensor:
    """(B, T, 3, H, W) from dataset items."""
    return torch.stack([item["frames"] for item in items])
