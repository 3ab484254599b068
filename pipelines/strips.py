"""Rollout strips: rows of frames (observed | predicted | true) in one PNG, for people to look at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from physion.atomic import atomic_path


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(T, 3, H, W) in [-1, 1] -> (T, H, W, 3) uint8."""
    return ((frames.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def video_strip(
    rows: list[tuple[str, torch.Tensor]],
    path: str | Path,
    *,
    given: int = 0,
    scale: int = 4,
    gap: int = 2,
    label_width: int = 90,
) -> Path:
    """Write a PNG with one labelled row per (label, frames (T, 3, H, W) in [-1, 1]); the first ``given`` columns
    get a green frame (conditioning), the rest a red one (generated), so the split is visible at a glance."""
    arrays = [to_uint8(frames) for _, frames in rows]
    t = max(a.shape[0] for a in arrays)
    h, w = arrays[0].shape[1] * scale, arrays[0].shape[2] * scale
    border = 2
    cell_w, cell_h = w + 2 * border + gap, h + 2 * border + gap
    canvas = Image.new("RGB", (label_width + t * cell_w, len(rows) * cell_h + 14), "white")
    draw = ImageDraw.Draw(canvas)
    for col in range(t):
        draw.text((label_width + col * cell_w + 2, len(rows) * cell_h + 1), str(col), fill="black")
    for r, ((label, _), frames) in enumerate(zip(rows, arrays)):
        y = r * cell_h
        draw.text((4, y + cell_h // 2 - 6), label[:14], fill="black")
        for col, frame in enumerate(frames):
            x = label_width + col * cell_w
            draw.rectangle(
                [x, y, x + w + 2 * border - 1, y + h + 2 * border - 1],
                fill=(40, 170, 60) if col < given else (200, 60, 60),
            )
            canvas.paste(Image.fromarray(frame).resize((w, h), Image.NEAREST), (x + border, y + border))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    return Path(path)
