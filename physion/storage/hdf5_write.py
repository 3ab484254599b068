"""Write one ``Trial`` as a tdw_physics-compatible HDF5 file (layout in ``physion.storage.store``'s docstring)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from physion.atomic import atomic_path
from physion.storage.hdf5_layout import (
    CONTACT_LABEL,
    FORMAT_VERSION,
    FRAME_KEY,
    encode_png,
    segmentation_colors,
    segmentation_to_colors,
)
from physion.storage.masks_rle import encode_segmentation
from physion.trial import Trial, stored_count

# HDF5 1.8 object formats: readable by any HDF5 since 2008, and their compact object headers halve the file
# (a 150-frame trial holds ~1500 small datasets, whose headers outweigh the PNG bytes with the default format).
LIBVER = ("v108", "v108")
# The frame datasets are made with h5py's low-level calls (_put): a stored frame holds about a dozen small
# datasets, and the high-level create_dataset's Python overhead made writing a quarter of a run-shaped trial's
# generation time. Same properties as h5py's (no timestamps), so the file bytes are the same (tested).
_DCPL = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
_DCPL.set_obj_track_times(False)
_TYPES: dict[np.dtype, h5py.h5t.TypeID] = {}


def write_trial(path: str | Path, trial: Trial) -> Path:
    """Write ``trial`` to ``path`` atomically (temporary sibling + os.replace; parents created); returns ``path``.

    Raises ValueError, before anything is written, when the trial's arrays disagree in shape or its label,
    per-frame contacts and first-contact frame contradict each other.
    """
    validate_trial(trial)
    num_objects = len(trial.object_ids)
    colors = segmentation_colors(num_objects)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", libver=LIBVER) as f:
            f.attrs["writer"] = "vdt-physion"
            f.attrs["format_version"] = FORMAT_VERSION
            _write_static(f.create_group("static"), trial, colors)
            frames = f.create_group("frames")
            # Frame groups number the stored frames 0000, 0001, ...; static/frame_stride maps them to video frames.
            for j in range(trial.stored_frames):
                _write_frame(frames.create_group(FRAME_KEY.format(j)), trial, j, colors)
    return Path(path)


def _write_static(static: h5py.Group, trial: Trial, colors: np.ndarray) -> None:
    # tdw_physics keys
    static.create_dataset("stimulus_name", data=trial.name)
    static.create_dataset("object_ids", data=np.asarray(trial.object_ids, dtype=np.int64))
    names = trial.object_names or [""] * len(trial.object_ids)
    static.create_dataset("model_names", data=np.array([n.encode("utf-8") for n in names], dtype="S"))
    static.create_dataset("object_segmentation_colors", data=colors)
    # ours
    static.create_dataset("scenario", data=trial.scenario)
    static.create_dataset("fps", data=int(trial.fps))
    static.create_dataset("frame_stride", data=int(trial.frame_stride))
    static.create_dataset("video_frames", data=int(trial.num_frames))
    static.create_dataset("params_json", data=json.dumps(trial.params, sort_keys=True))
    if trial.contacts is not None:  # the per-frame labels in one array, so headers read them in one go
        static.create_dataset("contacts", data=np.asarray(trial.contacts, dtype=bool))
    static.create_dataset(
        "first_contact_frame", data=-1 if trial.first_contact_frame is None else int(trial.first_contact_frame)
    )
    optional = {
        "seed": trial.seed,
        "agent_index": trial.agent_index,
        "patient_index": trial.patient_index,
        "label": None if trial.label is None else bool(trial.label),
        "split": trial.split,
    }
    for key, value in optional.items():
        if value is not None:  # absent key = unknown, so readers never mistake a default for data
            static.create_dataset(key, data=value)


def _put(group: h5py.Group, name: str, value: np.ndarray) -> None:
    """``group[name] = value`` for a numeric array (not a Python scalar: h5py's bool scalars differ in bytes)."""
    array = np.ascontiguousarray(value)
    if array.dtype not in _TYPES:
        _TYPES[array.dtype] = h5py.h5t.py_create(array.dtype, logical=True)
    space = h5py.h5s.create_simple(array.shape)
    dataset = h5py.h5d.create(group.id, name.encode(), _TYPES[array.dtype], space, dcpl=_DCPL)
    if array.size:
        dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, array)


def _write_frame(group: h5py.Group, trial: Trial, t: int, colors: np.ndarray) -> None:
    """Stored frame ``t`` (video frame ``t * frame_stride``)."""
    # Groups are created explicitly (cheaper than "a/b" paths); PNG bytes are already compressed, so no gzip.
    images = group.create_group("images")
    _put(images, "_img", encode_png(trial.frames[t]))
    if trial.segmentation is not None:
        seg = trial.segmentation[t]
        _put(images, "_id", encode_png(segmentation_to_colors(seg, colors)))
        masks = group.create_group("masks_rle")
        masks.attrs["size"] = np.asarray(seg.shape, dtype=np.int64)  # one size for all masks of the frame
        for k, rle in enumerate(encode_segmentation(seg, len(trial.object_ids))):
            _put(masks, str(k), np.frombuffer(rle["counts"], dtype=np.uint8))
    if trial.contacts is not None:  # this frame's own contact; static/contacts keeps every video frame's
        group.create_group("labels").create_dataset(CONTACT_LABEL, data=bool(trial.contacts[t * trial.frame_stride]))
    if trial.positions is not None or trial.velocities is not None:
        objects = group.create_group("objects")
        for key in ("positions", "velocities"):
            value = getattr(trial, key)
            if value is not None:
                _put(objects, key, np.asarray(value[t], dtype=np.float32))


def validate_trial(trial: Trial) -> None:
    """Raise ValueError naming the trial and the first inconsistency found."""

    def fail(problem: str) -> None:
        raise ValueError(f"trial {trial.name!r}: {problem}")

    frames = trial.frames
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        fail(
            f"frames must be a (T, H, W, 3) uint8 array, got {getattr(frames, 'shape', None)} {getattr(frames, 'dtype', None)}"
        )
    if frames.shape[0] == 0:
        fail("has no frames")
    if 0 in frames.strides:
        fail("frames were not loaded (read with frames=False); read the trial with frames=True to rewrite it")
    stored, height, width = frames.shape[:3]
    stride, num_frames = trial.frame_stride, trial.num_frames
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        fail(f"frame_stride must be an int >= 1, got {stride!r}")
    if stored_count(num_frames, stride) != stored:
        fail(
            f"{stored} stored frames, but {num_frames} video frames at frame_stride {stride} keep "
            f"{stored_count(num_frames, stride)}"
        )
    num_objects = len(trial.object_ids)
    if len(set(trial.object_ids)) != num_objects:
        fail(f"object_ids are not unique: {trial.object_ids}")
    if trial.object_names and len(trial.object_names) != num_objects:
        fail(f"{len(trial.object_names)} object_names for {num_objects} object_ids")
    for role in ("agent_index", "patient_index"):
        index = getattr(trial, role)
        if index is not None and not 0 <= index < num_objects:
            fail(f"{role}={index} is outside the {num_objects} objects")
    expected = {
        "contacts": (num_frames,),
        "segmentation": (stored, height, width),
        "positions": (stored, num_objects, 3),
        "velocities": (stored, num_objects, 3),
    }
    for key, shape in expected.items():
        value = getattr(trial, key)
        if value is not None and tuple(np.shape(value)) != shape:
            fail(f"{key} has shape {tuple(np.shape(value))}, expected {shape}")
    if trial.segmentation is not None:
        seg = trial.segmentation
        if not np.issubdtype(seg.dtype, np.integer) or seg.min() < 0 or seg.max() > num_objects:
            fail(f"segmentation must hold integers in [0, {num_objects}]")
    _validate_labels(trial, fail)
    try:
        json.dumps(trial.params)
    except (TypeError, ValueError) as err:
        fail(f"params are not JSON-serialisable: {err}")


def _validate_labels(trial: Trial, fail) -> None:
    first = trial.first_contact_frame
    if first is not None and not 0 <= first < trial.num_frames:
        fail(f"first_contact_frame={first} is outside the {trial.num_frames} frames")
    if first is not None and trial.label is False:
        fail(f"label is False but first_contact_frame={first}")
    if trial.contacts is None:
        return
    contacts = np.asarray(trial.contacts, dtype=bool)
    any_contact = bool(contacts.any())
    if trial.label is not None and bool(trial.label) != any_contact:
        fail(f"label={trial.label} contradicts the per-frame contacts (any = {any_contact})")
    first_from_contacts = int(np.argmax(contacts)) if any_contact else None
    if first != first_from_contacts:
        fail(f"first_contact_frame={first} but the first frame with contact is {first_from_contacts}")
