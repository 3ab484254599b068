"""Strips of video frames in one PNG, for people to look at: one labelled row per clip, one column per frame, every
frame framed in a colour that says what it is (given, generated, partly given). The one writer of rollout strips,
training previews, the demo's prediction strip and the sampling grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from physion.atomic import atomic_path

GIVEN, GENERATED, PARTIAL = (40, 170, 60), (200, 60, 60), (230, 170, 30)
MIN_FRAME_PX = 48  # frames are enlarged to at least this where no scale is given
CHAR_PX = 6  # about one character of PIL's default font: a label is cut to what fits its column


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(T, 3, H, W) in [-1, 1] -> (T, H, W, 3) uint8."""
    return ((frames.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def video_strip(
    rows: list[tuple],
    path: str | Path,
    *,
    given: int = 0,
    scale: int | None = None,
    border: int = 2,
    gap: int = 2,
    label_width: int = 90,
) -> Path:
    """Write a PNG with one labelled row per ``(label, frames (T, 3, H, W) in [-1, 1])`` or ``(label, frames,
    colours)`` (one RGB frame colour per frame). A row without colours frames its first ``given`` columns green
    (conditioning) and the rest red (generated), so the split is visible at a glance. ``scale`` defaults to
    enlarging frames to at least MIN_FRAME_PX pixels."""
    arrays = [to_uint8(row[1]) for row in rows]
    h, w = arrays[0].shape[1:3]
    scale = scale or max(1, -(-MIN_FRAME_PX // min(h, w)))
    fh, fw = h * scale, w * scale
    cols = max(a.shape[0] for a in arrays)
    cell_w, cell_h = fw + 2 * border + gap, fh + 2 * border + gap
    chars = max(1, (label_width - CHAR_PX) // CHAR_PX)
    canvas = Image.new("RGB", (label_width + cols * cell_w, len(rows) * cell_h + 14), "white")
    draw = ImageDraw.Draw(canvas)
    for col in range(cols):
        draw.text((label_width + col * cell_w + 2, len(rows) * cell_h + 1), str(col), fill="black")
    for r, (row, frames) in enumerate(zip(rows, arrays)):
        colours = row[2] if len(row) > 2 else [GIVEN if col < given else GENERATED for col in range(len(frames))]
        y = r * cell_h
        draw.text((4, y + cell_h // 2 - 6), row[0][:chars], fill="black")
        for col, (frame, colour) in enumerate(zip(frames, colours)):
            x = label_width + col * cell_w
            draw.rectangle([x, y, x + fw + 2 * border - 1, y + fh + 2 * border - 1], fill=colour)
            canvas.paste(Image.fromarray(frame).resize((fw, fh), Image.NEAREST), (x + border, y + border))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    return Path(path)
