"""Read trial HDF5 files (ours and real tdw_physics ones) into ``Trial``s, or decode just the frames asked for.

Every problem with a file raises ``CorruptTrialError(path, problem)`` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from physion.errors import CorruptTrialError
from physion.storage.hdf5_header import TrialHeader, UnservableRequest, find_damage, open_trial_file, read_header
from physion.storage.hdf5_layout import ID_KEYS, colors_to_segmentation, decode_image
from physion.storage.masks_rle import decode_segmentation
from physion.trial import Trial, stored_count

__all__ = [
    "read_trial",
    "read_frames",
    "read_images",
    "read_header",
    "open_trial_file",
    "verify_trial",
    "TrialHeader",
    "UnservableRequest",
]


def read_frames(path: str | Path, f: h5py.File, header: TrialHeader, indices: Sequence[int]) -> np.ndarray:
    """Decode only the video frames ``indices`` -> (len(indices), H, W, 3) uint8; a frame the file does not store
    (its frame_stride skips it) raises UnservableRequest."""
    keys = [header.frame_keys[j] for j in header.positions(indices)]
    return read_images(path, f, keys, header.image_key, (header.height, header.width))


def read_images(
    path: str | Path, f: h5py.File, frame_keys: Sequence[str], image_key: str, size: tuple[int, int]
) -> np.ndarray:
    """Decode ``frames/<key>/images/<image_key>`` for each key -> (len(frame_keys), H, W, 3) uint8 of ``size``."""
    out = np.empty((len(frame_keys), *size, 3), dtype=np.uint8)
    for j, frame_key in enumerate(frame_keys):
        key = f"{frame_key}/images/{image_key}"
        if key not in f["frames"]:
            raise CorruptTrialError(path, f"frame {frame_key} has no images/{image_key}")
        try:
            image = decode_image(f["frames"][key][()])
        except OSError as err:
            raise CorruptTrialError(path, f"frames/{key} is not a decodable image: {err}") from err
        if image.shape[:2] != tuple(size):
            raise CorruptTrialError(path, f"frames/{key} is {image.shape[:2]}, the trial's frames are {tuple(size)}")
        out[j] = image
    return out


def read_trial(path: str | Path, *, frames: bool = True, max_frames: int | None = None) -> Trial:
    """Read a trial file into a ``Trial`` (label, contacts and first contact always cover the whole trial).

    ``max_frames`` keeps only the first video frames (the stored ones among them, and per-frame arrays).
    ``frames=False`` decodes no pixels: ``Trial.frames`` is then a read-only zero-stride view of shape
    (N, H, W, 3), so ``num_frames``, ``resolution`` and ``metadata()`` stay right at no memory cost; segmentation
    is not read. A strided file reads as a Trial with its ``frame_stride`` (frames hold video frames 0, s, 2s...).
    """
    path = Path(path)
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    with open_trial_file(path) as f:
        header = read_header(path, f)
        video_frames = header.num_frames if max_frames is None else min(max_frames, header.num_frames)
        count = stored_count(video_frames, header.frame_stride)
        if frames:
            pixels = read_frames(path, f, header, header.frame_stride * np.arange(count))
            segmentation = _read_segmentation(path, f, header, count)
        else:
            pixels = header.unloaded_frames(count)
            segmentation = None
        num_objects = len(header.object_ids)
        positions = _per_frame_array(path, f, header.frame_keys[:count], "objects/positions", (num_objects, 3))
        velocities = _per_frame_array(path, f, header.frame_keys[:count], "objects/velocities", (num_objects, 3))
    return header.to_trial(pixels, video_frames, segmentation=segmentation, positions=positions, velocities=velocities)


# ---------------------------------------------------------------------------------------------------- helpers


def _read_segmentation(path: Path, f: h5py.File, header: TrialHeader, count: int) -> np.ndarray | None:
    frames, keys = f["frames"], header.frame_keys[:count]
    shape = (header.height, header.width)
    num_objects = len(header.object_ids)
    if all("masks_rle" in frames[k] for k in keys):
        out = np.empty((count,) + shape, dtype=np.int32)
        for t, k in enumerate(keys):
            group = frames[k]["masks_rle"]
            if len(group) != num_objects:
                raise CorruptTrialError(
                    path, f"frames/{k}/masks_rle holds {len(group)} masks for {num_objects} objects"
                )
            size = group.attrs.get("size")
            if size is None:
                raise CorruptTrialError(path, f"frames/{k}/masks_rle has no 'size' attribute")
            rles = [{"size": size, "counts": group[str(i)][()].tobytes()} for i in range(num_objects)]
            try:
                out[t] = decode_segmentation(rles, shape)
            except ValueError as err:
                raise CorruptTrialError(path, f"frames/{k}/masks_rle: {err}") from err
        return out
    id_key = next((key for key in ID_KEYS if f"images/{key}" in frames[keys[0]]), None)
    if id_key is None or "object_segmentation_colors" not in f["static"]:
        return None
    colors = np.asarray(f["static/object_segmentation_colors"][()], dtype=np.uint8).reshape(-1, 3)
    if len(colors) != num_objects:
        raise CorruptTrialError(path, f"{len(colors)} object_segmentation_colors for {num_objects} object_ids")
    visible = [tuple(c) for c in colors if c.any()]
    if len(set(visible)) != len(visible):
        raise CorruptTrialError(path, "static/object_segmentation_colors repeats a colour, so _id cannot be split")
    out = np.empty((count,) + shape, dtype=np.int32)
    for t, k in enumerate(keys):
        if f"images/{id_key}" not in frames[k]:
            raise CorruptTrialError(path, f"frame {k} has no images/{id_key} (frame {keys[0]} has one)")
        try:
            id_image = decode_image(frames[k][f"images/{id_key}"][()])
        except OSError as err:
            raise CorruptTrialError(path, f"frames/{k}/images/{id_key} is not a decodable image: {err}") from err
        if id_image.shape[:2] != shape:
            raise CorruptTrialError(path, f"frames/{k}/images/{id_key} is {id_image.shape[:2]}, the frames are {shape}")
        out[t] = colors_to_segmentation(id_image, colors)
    return out


def _per_frame_array(path: Path, f: h5py.File, keys: list[str], key: str, shape: tuple[int, ...]) -> np.ndarray | None:
    frames = f["frames"]
    present = [k for k in keys if key in frames[k]]
    if not present:
        return None
    if len(present) != len(keys):
        raise CorruptTrialError(path, f"{key} is in {len(present)} of {len(keys)} frames")
    out = np.empty((len(keys), *shape), dtype=np.float32)
    for t, k in enumerate(keys):
        value = np.asarray(frames[k][key][()], dtype=np.float32)
        if value.shape != shape:
            raise CorruptTrialError(
                path, f"frames/{k}/{key} has shape {value.shape}, expected {shape} (one row per object)"
            )
        out[t] = value
    return out


def verify_trial(path: str | Path) -> TrialHeader:
    """Read every dataset of a trial file once and decode it as the datasets will; CorruptTrialError naming the
    file and the key for the first damage. Returns the trial's header (``inspect --deep``, a store's first use)."""
    damage = find_damage(path)
    if damage is not None:
        raise CorruptTrialError(path, f"damaged HDF5 content at {damage[0]}: {damage[1]}")
    read_trial(path)  # pixels, masks and per-frame arrays: what a checksum cannot tell (a PNG that does not decode)
    return read_header(path)
