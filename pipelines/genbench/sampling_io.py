"""Files around sampling: conditioning clips from a video or frame folder, user mask files, and the writers
(one MP4 and one GIF per clip, a PNG grid of clips with every frame framed by what the mask did to it).

Clips are (T, 3, H, W) in [-1, 1]; masks (T, h, w) in latent space, 1 = generate, 0 = given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from physion.atomic import atomic_path
from physion.video_io import write_video
from pipelines.genbench.frames import fit_frames
from pipelines.genbench.sources import open_source
from pipelines.strips import to_uint8

GIVEN, GENERATED, PARTIAL = (40, 170, 60), (200, 60, 60), (230, 170, 30)


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


def write_grid(
    path: str | Path,
    rows: list[tuple[str, torch.Tensor, list[tuple[int, int, int]]]],
    *,
    scale: int | None = None,
    border: int = 2,
    gap: int = 2,
    label_width: int = 80,
) -> Path:
    """PNG with one labelled row per (label, clip (T, 3, H, W), frame colours); each frame gets a coloured border
    (green given, red generated, amber partly given). ``scale`` defaults to enlarging frames to at least 48 px."""
    arrays = [to_uint8(clip) for _, clip, _ in rows]
    h, w = arrays[0].shape[1:3]
    scale = scale or max(1, -(-48 // min(h, w)))
    fh, fw = h * scale, w * scale
    cols = max(a.shape[0] for a in arrays)
    cell_w, cell_h = fw + 2 * border + gap, fh + 2 * border + gap
    canvas = Image.new("RGB", (label_width + cols * cell_w, len(rows) * cell_h + 14), "white")
    draw = ImageDraw.Draw(canvas)
    for col in range(cols):
        draw.text((label_width + col * cell_w + 2, len(rows) * cell_h + 1), str(col), fill="black")
    for r, ((label, _, colours), frames) in enumerate(zip(rows, arrays)):
        y = r * cell_h
        draw.text((4, y + cell_h // 2 - 6), label[:12], fill="black")
        for col, (frame, colour) in enumerate(zip(frames, colours)):
            x = label_width + col * cell_w
            draw.rectangle([x, y, x + fw + 2 * border - 1, y + fh + 2 * border - 1], fill=colour)
            canvas.paste(Image.fromarray(frame).resize((fw, fh), Image.NEAREST), (x + border, y + border))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    return Path(path)
