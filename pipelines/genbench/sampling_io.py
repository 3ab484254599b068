"""Files around sampling: conditioning clips from a video or frame folder, user mask files, and the writers
(one MP4 and one GIF per clip; the PNG grid is ``pipelines.reporting.strips.video_strip`` with ``frame_states`` colours).

Clips are (T, 3, H, W) in [-1, 1]; masks (T, h, w) in latent space, 1 = generate, 0 = given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from physion.atomic import atomic_path
from physion.video_io import write_video
from pipelines.genbench.frames import fit_frames
from pipelines.genbench.sources import open_source
from pipelines.reporting.strips import GENERATED, GIVEN, PARTIAL, to_uint8

# ------------------------------------------------------------------------------------------------ inputs


def read_conditioning(
    path: str | Path, num_frames: int, frame_stride: int, start: int, size: int
) -> tuple[torch.Tensor, int]:
    """The clip of ``num_frames`` frames from ``start`` every ``frame_stride`` frames of a video file or frame
    folder, resized (shorter side) and centre-cropped to ``size``. A source that ends early gives its frames and
    zeros after them: returns (clip (T, 3, size, size), frames actually read)."""
    source = open_source(path)
    wanted = [i for i in range(start, start + num_frames * frame_stride, frame_stride) if i < source.num_frames]
    if not wanted:
        raise ValueError(f"{path}: start frame {start} is past its {source.num_frames} frames")
    clip = torch.zeros(num_frames, 3, size, size)
    clip[: len(wanted)] = fit_frames(source.read(wanted), size, "center")
    return clip, len(wanted)


def load_mask_file(path: str | Path, count: int, mask_shape: tuple[int, int, int]) -> torch.Tensor:
    """A .npy or .pt mask of shape (T, h, w) (the same for every clip) or (B, T, h, w) (B = 1 or ``count``), of
    0/1 values in latent space -> (count, T, h, w) float."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: mask file not found")
    if path.suffix not in (".npy", ".pt"):
        raise ValueError(f"{path}: mask files are .npy or .pt")
    try:
        if path.suffix == ".npy":
            mask = torch.from_numpy(np.load(path, allow_pickle=False))
        else:
            mask = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: cannot read the mask ({err})") from err
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"{path}: holds a {type(mask).__name__}, not an array")
    if mask.dim() == 3:
        mask = mask.unsqueeze(0)
    if mask.dim() != 4 or tuple(mask.shape[1:]) != tuple(mask_shape) or mask.shape[0] not in (1, count):
        raise ValueError(
            f"{path}: mask shape {tuple(mask.shape)}; expected (T, h, w) = {tuple(mask_shape)} or "
            f"(B, T, h, w) with B = 1 or {count} (latent space of this model)"
        )
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{path}: mask values must be 0 (given) or 1 (generate)")
    return mask.float().expand(count, -1, -1, -1).clone()


def frame_states(mask: torch.Tensor) -> list[tuple[int, int, int]]:
    """Per frame of a (T, h, w) mask: GIVEN (all 0), GENERATED (all 1) or PARTIAL, as frame colours."""
    return [GIVEN if not bool(m.any()) else GENERATED if bool(m.all()) else PARTIAL for m in mask]


# ------------------------------------------------------------------------------------------------ writers


def write_clip_mp4(path: str | Path, clip: torch.Tensor, fps: float) -> Path:
    """H.264 MP4 of a (T, 3, H, W) clip (H, W even)."""
    return write_video(path, to_uint8(clip), fps=fps)


def write_clip_gif(path: str | Path, clip: torch.Tensor, fps: float) -> Path:
    """Looping GIF of a (T, 3, H, W) clip; GIF frame durations are whole centiseconds, palettes 256 colours."""
    frames = [Image.fromarray(f) for f in to_uint8(clip)]
    with atomic_path(path) as tmp:
        frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=10 * round(100 / fps), loop=0
        )
    return Path(path)
