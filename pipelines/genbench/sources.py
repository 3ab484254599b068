"""Read chosen frames of one video: an MP4 (or any container PyAV decodes) or a folder of images.

Both kinds answer ``num_frames`` cheaply (the container header / the file list) and ``read(indices)`` decodes only
what is asked: a video seeks to the keyframe before the first wanted frame and stops after the last; a folder
opens only the wanted images. Frames come back as (n, H, W, 3) uint8 RGB. Every failure names the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import av
import av.error
import numpy as np
from PIL import Image, UnidentifiedImageError

from physion.errors import PhysionDataError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class BadVideoError(PhysionDataError):
    """A video or frame folder that cannot be used: unreadable, no frames, too short for a clip, truncated."""


def natural_key(name: str) -> list:
    """Sort key that orders numbers by value: frame_2.png before frame_10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _check_indices(indices: Sequence[int]) -> list[int]:
    wanted = [int(i) for i in indices]
    if not wanted or any(i < 0 for i in wanted) or any(b <= a for a, b in zip(wanted, wanted[1:])):
        raise ValueError(f"frame indices must be non-empty, >= 0 and strictly increasing, got {wanted[:8]}")
    return wanted


class VideoFile:
    """A video file read with PyAV. ``num_frames`` comes from the header (the MP4 sample table)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise BadVideoError(self.path, "the file has no video stream")
                stream = container.streams.video[0]
                self.num_frames = int(stream.frames or 0)
                if self.num_frames == 0:
                    # Containers without a frame count in the header (some AVI/MKV): count packets, no decoding.
                    self.num_frames = sum(1 for packet in container.demux(stream) if packet.size)
                rate = stream.average_rate or stream.guessed_rate
        except av.error.FFmpegError as err:
            raise BadVideoError(self.path, f"cannot open as a video ({type(err).__name__}: {err})") from err
        if self.num_frames == 0:
            raise BadVideoError(self.path, "the video stream holds no frames")
        if not rate:
            raise BadVideoError(self.path, "the video stream declares no frame rate")
        self.fps = float(rate)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """(len(indices), H, W, 3) uint8: frames at these 0-based positions (strictly increasing)."""
        wanted = _check_indices(indices)
        if wanted[-1] >= self.num_frames:
            raise BadVideoError(self.path, f"frame {wanted[-1]} requested, the header declares {self.num_frames}")
        try:
            frames = self._decode(wanted, seek=wanted[0] > 0)
            if frames is None:  # the seek cannot be trusted (landed past the target, or no timestamps): count from 0
                frames = self._decode(wanted, seek=False)
        except av.error.FFmpegError as err:
            raise BadVideoError(self.path, f"cannot decode ({type(err).__name__}: {err})") from err
        if frames is None or len(frames) < len(wanted):
            got = 0 if frames is None else len(frames)
            raise BadVideoError(
                self.path,
                f"truncated: only {got} of the {len(wanted)} frames wanted "
                f"(up to frame {wanted[-1]}) could be decoded; the header declares {self.num_frames}",
            )
        return np.stack(frames)

    def _decode(self, wanted: list[int], seek: bool) -> list[np.ndarray] | None:
        """Decode the wanted frames, or None when after a seek the first frame's position is past the target or
        unknown. Positions come from timestamps (constant frame rate); without a seek, frames are counted from 0."""
        targets = set(wanted)
        out: list[np.ndarray] = []
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            start = stream.start_time or 0
            per_frame = 1.0 / (self.fps * float(stream.time_base))  # pts ticks per frame (constant frame rate)
            if seek:
                # Seeks to the keyframe at or before the target; frames before the target are decoded, not converted.
                container.seek(start + int(wanted[0] * per_frame), stream=stream, backward=True, any_frame=False)
            first = True
            position = 0
            for frame in container.decode(stream):
                if frame.pts is not None:
                    position = round((frame.pts - start) / per_frame)
                elif seek:
                    return None  # no timestamps: after a seek the position is unknown
                if first and seek and position > wanted[0]:
                    return None
                first = False
                if position in targets:
                    out.append(frame.to_ndarray(format="rgb24"))
                if position >= wanted[-1]:
                    break
                position += 1  # used only when the next frame has no pts (decoding from the start)
        return out


class FrameFolder:
    """A video stored as image files (png/jpg) in natural name order; ``files`` may be a subset of a folder."""

    def __init__(self, path: str | Path, files: Sequence[Path] | None = None):
        self.path = Path(path)
        if files is None:
            files = [
                p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
            ]
        self.files = sorted(files, key=lambda p: natural_key(p.name))
        if not self.files:
            raise BadVideoError(self.path, "the frame folder holds no png/jpg images")
        self.num_frames = len(self.files)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """(len(indices), H, W, 3) uint8 RGB; only these images are opened."""
        wanted = _check_indices(indices)
        if wanted[-1] >= self.num_frames:
            raise BadVideoError(self.path, f"frame {wanted[-1]} requested, the folder holds {self.num_frames} images")
        frames = []
        for i in wanted:
            try:
                with Image.open(self.files[i]) as image:
                    frames.append(np.asarray(image.convert("RGB")))
            except (OSError, UnidentifiedImageError) as err:
                raise BadVideoError(self.files[i], f"cannot read the image ({err})") from err
        if any(f.shape != frames[0].shape for f in frames):
            raise BadVideoError(self.path, f"images of one clip differ in size: {sorted({f.shape for f in frames})}")
        return np.stack(frames)


def open_source(path: str | Path) -> VideoFile | FrameFolder:
    """A video file or a frame folder, by what ``path`` is."""
    path = Path(path)
    if path.is_dir():
        return FrameFolder(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file or frame folder")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise BadVideoError(path, f"not a video file (known suffixes: {', '.join(VIDEO_SUFFIXES)}) nor a frame folder")
    return VideoFile(path)
