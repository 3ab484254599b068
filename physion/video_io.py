"""MP4 read/write with PyAV (H.264 in an MP4 container, yuv420p).

``read_video(path) -> (frames (T, H, W, 3) uint8 RGB, fps float)``; ``write_video(path, frames, fps)`` writes atomically.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from physion.atomic import atomic_path
from physion.errors import CorruptTrialError


def read_video(path: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode the first video stream of ``path``; at most ``max_frames`` frames when given.

    Raises CorruptTrialError(path, ...) for a file that is not a decodable video, has no video stream,
    decodes to no frames, or holds fewer frames than its header declares (a truncated file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise CorruptTrialError(path, "the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            declared = int(stream.frames or 0)
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except av.error.FFmpegError as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise CorruptTrialError(path, f"cannot decode as a video ({type(err).__name__}: {reason})") from err
    if not frames:
        raise CorruptTrialError(path, "the video stream decodes to no frames")
    wanted = declared if max_frames is None else min(declared, max_frames)
    if declared and len(frames) < wanted:
        raise CorruptTrialError(path, f"truncated: decoded {len(frames)} of the {declared} frames its header declares")
    if not rate:
        raise CorruptTrialError(path, "the video stream declares no frame rate")
    return np.stack(frames), float(rate)


def write_video(path: str | Path, frames: np.ndarray, fps: float, crf: int = 18) -> Path:
    """Encode (T, H, W, 3) uint8 RGB frames as H.264 (libx264, yuv420p) MP4 at ``fps``; atomic; returns ``path``.

    H and W must be even (yuv420p subsamples chroma 2x2); ``crf`` is x264's quality (0 lossless .. 51 worst).
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_video expects (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    if frames.shape[0] == 0:
        raise ValueError("write_video got no frames")
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f"yuv420p needs even frame sizes, got {height}x{width}")
    with atomic_path(path) as tmp:
        # The temporary name has no .mp4 suffix, so the muxer is named explicitly.
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"crf": str(crf)}
            for pixels in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():  # flush the encoder's delayed frames
                container.mux(packet)
    return path
