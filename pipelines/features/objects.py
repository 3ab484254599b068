"""Object features from colour: the agent (red) and patient (yellow) found in each frame by physion.colour_objects,
the same code whatever made the frames (observed, true future, decoded VDT rollout).

Two families:
  objects      per frame: per object presence, area, centroid, box; the pair's distance and contact.
               Linear: time-binned, plus summaries of the pair over the whole sequence (contact is a moment,
               which a bin average would dilute: the minimum distance, its log, each bin's minimum, the maximum
               and the share of frames in contact and adjacent) and each object's motion summaries (how far it
               got from where it was first seen, how much its box changed: a patient that was hit moves or
               falls, which a linear readout cannot compute from binned positions). Relational: 2 entities per
               frame. Why the pair summaries (docs/design.md §4): a logistic readout on 64 trials cannot find a
               threshold on one of 82 features (PCA mixes it away); given it directly it can.
  vdt-objects  the VDT token grid of each frame pooled under each object's soft mask, plus the global mean token.
               Linear: time-binned, plus each object's maximum over time. Relational: 3 entities per frame (agent, patient, global).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange, reduce

from physion.colour_objects import ObjectMeasures, measure, soft_masks
from pipelines.features.vdt_tokens import time_bins

FAR = math.sqrt(2.0)  # distance of a frame without both objects: the image diagonal, farther than any real one
PER_OBJECT = ("present", "area", "x", "y", "x0", "y0", "x1", "y1")
PAIR = ("distance", "contact")


@dataclass
class FrameObjects:
    soft: torch.Tensor  # (B, L, 2, H, W) colour membership of agent and patient
    measures: ObjectMeasures  # over the B * L frames, flattened
    shape: tuple[int, int]  # (B, L)


def find_objects(frames: torch.Tensor) -> FrameObjects:
    """frames (B, L, 3, H, W) in [-1, 1] -> the soft masks and the measures of their hard (> 1/2) masks."""
    b, length = frames.shape[:2]
    flat = frames.detach().float().clamp(-1, 1).reshape(b * length, *frames.shape[2:]).cpu().numpy()
    soft = soft_masks(flat)
    return FrameObjects(torch.from_numpy(soft).reshape(b, length, *soft.shape[1:]), measure(soft > 0.5), (b, length))


def _per_object(m: ObjectMeasures) -> np.ndarray:
    """(N, 2, 8): PER_OBJECT features, absent objects' positions and boxes set to 0 (their presence flag says so)."""
    values = np.concatenate([m.present[..., None], m.area[..., None], m.centroid, m.box], axis=-1)
    return np.nan_to_num(values.astype(np.float32), nan=0.0)


def per_frame_features(objects: FrameObjects) -> torch.Tensor:
    """(B, L, 2 * 8 + 2): both objects' PER_OBJECT features, then the PAIR features."""
    m = objects.measures
    pair = np.stack([np.nan_to_num(m.distance, nan=FAR), m.contact], axis=-1).astype(np.float32)
    x = np.concatenate([_per_object(m).reshape(len(pair), -1), pair], axis=-1)
    return torch.from_numpy(x).reshape(*objects.shape, -1)


def motion_summaries(objects: FrameObjects) -> torch.Tensor:
    """(B, 2 * 4): per object, the largest and the final distance of its centroid from where it was first seen,
    and the largest change of its box width and height; 0 for an object never seen."""
    m = objects.measures
    b, length = objects.shape
    centre = m.centroid.reshape(b, length, 2, 2)
    box = m.box.reshape(b, length, 2, 4)
    size = np.stack([box[..., 2] - box[..., 0], box[..., 3] - box[..., 1]], axis=-1)
    present = m.present.reshape(b, length, 2)
    first = present.argmax(axis=1)  # (B, 2): the first frame each object is seen in
    rows, objs = np.arange(b)[:, None], np.arange(2)[None, :]
    with np.errstate(invalid="ignore"):
        moved = np.linalg.norm(centre - centre[rows, first, objs][:, None], axis=-1)  # (B, L, 2), NaN where absent
        resized = np.abs(size - size[rows, first, objs][:, None]).max(axis=-1)
    last = length - 1 - present[:, ::-1].argmax(axis=1)
    out = np.stack(
        [
            np.nanmax(np.where(present, moved, np.nan), axis=1, initial=0.0),
            moved[rows, last, objs],
            np.nanmax(np.where(present, resized, np.nan), axis=1, initial=0.0),
            np.nanmax(np.where(present, size.max(-1), np.nan), axis=1, initial=0.0),
        ],
        axis=-1,
    )
    out = np.where(present.any(axis=1)[..., None], np.nan_to_num(out, nan=0.0), 0.0)
    return torch.from_numpy(out.astype(np.float32)).reshape(b, -1)


def pair_summaries(objects: FrameObjects, bins: int) -> torch.Tensor:
    """(B, 6 + bins): over the whole sequence, the pair's minimum distance and its log, the maximum and the mean
    of contact (after a one-pixel dilation of both masks: within 2 pixels) and of adjacency (some agent pixel in a
    patient pixel's 8-neighbourhood, i.e. within sqrt(2) pixels), then each time bin's minimum distance.

    Measured on generated Collide (docs/design.md §4): adjacency somewhere in the trial alone tells contact in
    0.87 of trials, the 2-pixel contact in 0.78 (objects passing in front of each other in the image)."""
    per_frame = per_frame_features(objects)
    distance, contact = per_frame[..., -2], per_frame[..., -1]
    pixel = 1.0 / max(objects.soft.shape[-2:])  # distances are in units of max(H, W)
    adjacent = (distance <= 1.5 * pixel).float()
    nearest = distance.amin(1, keepdim=True)
    groups = np.array_split(np.arange(distance.shape[1]), min(bins, distance.shape[1]))
    binned = [distance[:, idx].amin(1) for idx in groups]
    binned += [binned[-1]] * (bins - len(binned))  # fewer frames than bins: pad as time_bins does
    return torch.cat(
        [
            nearest,
            torch.log(nearest),  # distance >= one pixel, so finite
            contact.amax(1, keepdim=True),
            contact.mean(1, keepdim=True),
            adjacent.amax(1, keepdim=True),
            adjacent.mean(1, keepdim=True),
            torch.stack(binned, 1),
        ],
        1,
    )


def object_vectors(objects: FrameObjects, bins: int) -> torch.Tensor:
    """(B, bins * 18 + 6 + bins + 8) for the linear readout: time-binned per-frame features, the pair summaries,
    the motion summaries."""
    return torch.cat(
        [time_bins(per_frame_features(objects), bins), pair_summaries(objects, bins), motion_summaries(objects)], 1
    )


def object_entities(objects: FrameObjects) -> torch.Tensor:
    """(B, L, 2, 8 + 2) for the relational readout: each object's PER_OBJECT features and a one-hot identity."""
    per_object = torch.from_numpy(_per_object(objects.measures)).reshape(*objects.shape, 2, -1)
    identity = torch.eye(2).expand(*objects.shape, 2, 2)
    return torch.cat([per_object, identity], dim=-1)


def pool_under_masks(tokens: torch.Tensor, objects: FrameObjects) -> torch.Tensor:
    """tokens (B, L, gh, gw, D), masks at pixel resolution -> (B, L, 3, D + 1): the tokens' mean weighted by each
    object's soft mask downsampled (area average) to the token grid, then the global mean token; each followed by
    the weight mass (the object's share of the grid; 1 for the global token). An object absent from a frame
    (mass ~0) gets the global mean token, so the entity stays finite and says "nothing here" by its mass."""
    b, length, gh, gw, d = tokens.shape
    weights = F.adaptive_avg_pool2d(rearrange(objects.soft, "b l e h w -> (b l) e h w"), (gh, gw))
    weights = rearrange(weights, "(b l) e h w -> b l e (h w)", b=b)
    flat = rearrange(tokens, "b l h w d -> b l (h w) d").float()
    mass = weights.sum(-1, keepdim=True)  # (B, L, 2, 1)
    glob = flat.mean(2, keepdim=True)  # (B, L, 1, D)
    pooled = torch.where(mass > 1e-3, (weights @ flat) / mass.clamp_min(1e-3), glob)
    share = mass / (gh * gw)
    return torch.cat([torch.cat([pooled, glob], 2), torch.cat([share, torch.ones(b, length, 1, 1)], 2)], -1)


def vdt_object_vectors(pooled: torch.Tensor, bins: int) -> torch.Tensor:
    """pooled (B, L, 3, D + 1) -> (B, (bins * 3 + 2) * (D + 1)) for the linear readout (reduced by PCA inside it):
    the time-binned entities, then the agent's and the patient's maximum over time of each channel (a touch is a
    moment, which a bin average dilutes; measured in docs/design.md §4: +0.025 on a separate generated set)."""
    peaks = reduce(pooled[:, :, :2], "b l e d -> b (e d)", "max")
    return torch.cat([time_bins(pooled.flatten(2), bins), peaks], 1)


def vdt_object_entities(pooled: torch.Tensor) -> torch.Tensor:
    """pooled (B, L, 3, D + 1) -> (B, L, 3, D + 4): each entity with a one-hot identity (agent, patient, global)."""
    b, length = pooled.shape[:2]
    return torch.cat([pooled, torch.eye(3).expand(b, length, 3, 3)], dim=-1)
