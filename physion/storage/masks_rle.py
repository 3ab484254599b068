"""Per-object instance masks as COCO run-length encodings (pycocotools), and back to a label map.

A COCO RLE is ``{"size": [H, W], "counts": bytes}`` (column-major run lengths, compressed by pycocotools).
A segmentation here is an (H, W) integer map: 0 = background, k + 1 = object k (``Trial.object_ids[k]``).
"""

from __future__ import annotations

import warnings

import numpy as np
from pycocotools import mask as coco_mask


def encode_mask(mask: np.ndarray) -> dict:
    """(H, W) bool -> COCO RLE dict with ``size`` [H, W] and ``counts`` bytes."""
    if mask.ndim != 2:
        raise ValueError(f"encode_mask expects an (H, W) mask, got shape {mask.shape}")
    # pycocotools wants a Fortran-ordered (H, W, N) uint8 stack.
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)[:, :, None]))[0]
    return {"size": [int(s) for s in rle["size"]], "counts": bytes(rle["counts"])}


def decode_mask(rle: dict) -> np.ndarray:
    """COCO RLE dict -> (H, W) bool."""
    return _decode_stack([rle])[:, :, 0]


def _decode_stack(rles: list[dict]) -> np.ndarray:
    """RLEs of one size -> (H, W, N) bool."""
    objs = []
    for rle in rles:
        counts = rle["counts"].encode("ascii") if isinstance(rle["counts"], str) else rle["counts"]
        objs.append({"size": [int(s) for s in rle["size"]], "counts": counts})
    with warnings.catch_warnings():
        # pycocotools' compiled decoder trips numpy 2's __array__(copy=) deprecation; the result is unaffected.
        warnings.simplefilter("ignore", DeprecationWarning)
        return coco_mask.decode(objs).astype(bool)


def encode_segmentation(segmentation: np.ndarray, num_objects: int) -> list[dict]:
    """(H, W) label map -> one RLE per object k = 0..num_objects-1 (pixels equal to k + 1), empty ones included."""
    if segmentation.ndim != 2:
        raise ValueError(f"encode_segmentation expects an (H, W) map, got shape {segmentation.shape}")
    if segmentation.size and (segmentation.min() < 0 or segmentation.max() > num_objects):
        raise ValueError(
            f"segmentation values must lie in [0, {num_objects}], got [{segmentation.min()}, {segmentation.max()}]"
        )
    labels = np.arange(1, num_objects + 1, dtype=segmentation.dtype)
    stack = np.asfortranarray((segmentation[:, :, None] == labels[None, None, :]).astype(np.uint8))
    rles = coco_mask.encode(stack) if num_objects else []
    return [{"size": [int(s) for s in r["size"]], "counts": bytes(r["counts"])} for r in rles]


def decode_segmentation(rles: list[dict], shape: tuple[int, int]) -> np.ndarray:
    """Per-object RLEs (object k at position k) -> (H, W) int32 label map; raises ValueError if masks overlap."""
    segmentation = np.zeros(shape, dtype=np.int32)
    for k, rle in enumerate(rles):
        if tuple(int(s) for s in rle["size"]) != tuple(shape):
            raise ValueError(f"mask of object {k} has size {tuple(rle['size'])}, expected {tuple(shape)}")
    if not rles:
        return segmentation
    masks = _decode_stack(rles)
    overlap = masks.sum(axis=2) > 1
    if overlap.any():
        raise ValueError(f"object masks overlap at {int(overlap.sum())} pixels")
    for k in range(len(rles)):
        segmentation[masks[:, :, k]] = k + 1
    return segmentation
