"""Helpers of the generation-benchmark tests: videos whose frames encode their own index (so a test can tell which
source frames a clip holds). (A unique module name: a second conftest.py elsewhere cannot shadow it.)"""

from fractions import Fraction

import av
import numpy as np
import torch

from physion.video_io import write_video

STEP = 6  # grey level per frame index: frame i is filled with 10 + STEP * i, far apart enough to survive H.264


def index_frames(n: int, height: int = 16, width: int = 16) -> np.ndarray:
    """(n, H, W, 3) uint8 frames, frame i uniformly 10 + STEP * i."""
    values = (10 + STEP * np.arange(n)).astype(np.uint8)
    return np.broadcast_to(values[:, None, None, None], (n, height, width, 3)).copy()


def frame_indices(clip: torch.Tensor) -> list[int]:
    """Recover source indices from a (T, 3, H, W) clip in [-1, 1] of index_frames."""
    grey = (clip.mean(dim=(1, 2, 3)) + 1) * 127.5
    return [round((float(v) - 10) / STEP) for v in grey]


def write_index_video(path, n: int, height: int = 16, width: int = 16, gop: int | None = None):
    """An MP4 of index_frames; ``gop`` sets a keyframe every ``gop`` frames (so seeking really skips frames)."""
    frames = index_frames(n, height, width)
    if gop is None:
        return write_video(path, frames, fps=30)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = gop
        stream.options = {"crf": "10", "keyint": str(gop), "min-keyint": str(gop), "scenecut": "0"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
