"""The header of a trial HDF5 file (ours or real tdw_physics; layout in ``physion.storage.store``'s docstring).

``read_header`` reads everything but pixels and per-frame states: names, labels, objects, frame keys and
size (from the first image's header). It is cheap for our files (one read for the per-frame labels), so
stores are indexed and datasets validated with it. Problems raise ``CorruptTrialError(path, problem)``.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from physion.errors import CorruptTrialError, PhysionDataError
from physion.real_data.scenario_names import scenario_from_stimulus_name
from physion.storage.hdf5_layout import CONTACT_LABEL, IMAGE_KEYS, image_size
from physion.trial import FPS, SCENARIOS, SPLITS, Trial, stored_count


class UnservableRequest(PhysionDataError):
    """A read the trial file cannot serve as asked (frames it does not store, more pixels than it holds): an error
    rather than other frames or upsampled ones. Stores are uniform, so datasets raise it even with skip_bad."""


def stored_positions(path: str | Path, indices, frame_stride: int, video_frames: int) -> np.ndarray:
    """Positions among the stored frames of the video frames ``indices``; UnservableRequest for any frame
    the file does not hold (not a multiple of its stride, or past its end)."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if indices.size and (indices.min() < 0 or indices.max() >= video_frames):
        raise UnservableRequest(
            path, f"video frames {indices.min()}..{indices.max()} asked for, the trial has {video_frames}"
        )
    off = indices[indices % frame_stride != 0]
    if off.size:
        raise UnservableRequest(
            path,
            f"stores only video frames 0, {frame_stride}, {2 * frame_stride}, ... (frame_stride {frame_stride}), "
            f"so it cannot serve "
            f"frame(s) {off[:5].tolist()}: read with a frame offset (and starts) that are multiples of "
            f"{frame_stride}, or generate the store with a stride that divides the run's frame offset",
        )
    return indices // frame_stride


@dataclass
class TrialHeader:
    """What a trial file says without decoding its pixels. ``frame_keys`` are the stored frame groups in time order:
    key ``j`` holds video frame ``j * frame_stride`` of the ``video_frames`` the trial lasts."""

    path: Path
    name: str
    scenario: str
    split: str | None
    fps: int
    frame_keys: list[str]
    height: int
    width: int
    image_key: str
    label: bool | None
    first_contact_frame: int | None
    contacts: np.ndarray | None
    object_ids: list[int] = field(default_factory=list)
    object_names: list[str] = field(default_factory=list)
    agent_index: int | None = None
    patient_index: int | None = None
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    is_ours: bool = False
    frame_stride: int = 1
    video_frames: int | None = None  # None: one video frame per stored frame

    @property
    def num_frames(self) -> int:
        """Video frames the trial lasts (contacts and first_contact_frame count in these)."""
        return len(self.frame_keys) if self.video_frames is None else self.video_frames

    @property
    def stored_frames(self) -> int:
        return len(self.frame_keys)

    def positions(self, indices) -> np.ndarray:
        """Stored positions of the video frames ``indices`` (UnservableRequest for frames not stored)."""
        return stored_positions(self.path, indices, self.frame_stride, self.num_frames)

    def unloaded_frames(self, count: int | None = None) -> np.ndarray:
        """A read-only zero-stride (count, H, W, 3) uint8 view of ``count`` stored frames: shape without pixels."""
        count = self.stored_frames if count is None else count
        return np.broadcast_to(np.zeros((), dtype=np.uint8), (count, self.height, self.width, 3))

    def to_trial(
        self, frames: np.ndarray | None = None, video_frames: int | None = None, **per_frame: np.ndarray | None
    ) -> Trial:
        """A ``Trial`` of this header with the given stored frames (default: ``unloaded_frames()``), lasting
        ``video_frames`` (default: the whole trial), and per-frame arrays."""
        frames = self.unloaded_frames() if frames is None else frames
        video_frames = self.num_frames if video_frames is None else video_frames
        contacts = None if self.contacts is None else self.contacts[:video_frames]
        return Trial(
            name=self.name,
            scenario=self.scenario,
            frames=frames,
            fps=self.fps,
            label=self.label,
            contacts=contacts,
            first_contact_frame=self.first_contact_frame,
            object_ids=list(self.object_ids),
            object_names=list(self.object_names),
            agent_index=self.agent_index,
            patient_index=self.patient_index,
            seed=self.seed,
            split=self.split,
            params=dict(self.params),
            frame_stride=self.frame_stride,
            video_frames=None if self.frame_stride == 1 and video_frames == frames.shape[0] else video_frames,
            **per_frame,
        )


@contextlib.contextmanager
def open_trial_file(path: str | Path) -> Iterator[h5py.File]:
    """Open an HDF5 trial read-only; any h5py or OS error inside the block becomes CorruptTrialError(path) naming
    the damaged key (h5py's own errors, often a bare KeyError, name neither the file nor the object)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trial file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise CorruptTrialError(path, f"not a readable HDF5 file (truncated or another format): {_line(err)}") from err
    try:
        with f:
            yield f
    except PhysionDataError:
        raise
    except Exception as err:  # noqa: BLE001 - only h5py's and the OS's: the rest is re-raised as it is
        if not (isinstance(err, OSError) or _raised_in_h5py(err)):
            raise
        damage = find_damage(path)
        where = f" at {damage[0]}: {damage[1]}" if damage else f": {_line(err)}"
        raise CorruptTrialError(path, f"damaged HDF5 content{where}") from err


def find_damage(path: str | Path) -> tuple[str, str] | None:
    """(key, problem) of the first object, attribute or dataset of the file that cannot be read, else None.
    Reads every dataset once: HDF5 checks its metadata checksums as it goes."""
    try:
        f = h5py.File(path, "r")
    except Exception as err:  # noqa: BLE001 - any failure to open is damage to report
        return "/", _line(err)
    with f:
        return _first_damage(f, "")


def _first_damage(group: h5py.Group, prefix: str) -> tuple[str, str] | None:
    try:
        keys = list(group.keys())
        dict(group.attrs)
    except Exception as err:  # noqa: BLE001
        return prefix or "/", _line(err)
    for key in keys:
        name = f"{prefix}/{key}" if prefix else key
        try:
            obj = group[key]
            dict(obj.attrs)
            if isinstance(obj, h5py.Dataset):
                obj[()]
                continue
        except Exception as err:  # noqa: BLE001
            return name, _line(err)
        if isinstance(obj, h5py.Group):
            found = _first_damage(obj, name)
            if found:
                return found
    return None


def _raised_in_h5py(err: BaseException) -> bool:
    """Whether the error came out of h5py (its KeyError/RuntimeError/ValueError share no base class)."""
    tb = err.__traceback__
    while tb is not None:
        if "h5py" in Path(tb.tb_frame.f_code.co_filename).parts:
            return True
        tb = tb.tb_next
    return False


def _line(err: BaseException) -> str:
    text = str(err).strip().strip("'\"")
    return text.splitlines()[0] if text else type(err).__name__


def read_header(path: str | Path, f: h5py.File | None = None) -> TrialHeader:
    """Read names, labels, object list and frame geometry of one trial file (no pixel decoding)."""
    if f is None:
        with open_trial_file(path) as opened:
            return read_header(path, opened)
    path = Path(path)
    static = f.get("static")
    frames = f.get("frames")
    if not isinstance(frames, h5py.Group) or len(frames) == 0:
        raise CorruptTrialError(path, "no 'frames' group, or it holds no frames")
    frame_keys = _sorted_frame_keys(path, frames)
    first = frames[frame_keys[0]]
    image_key = next((k for k in IMAGE_KEYS if f"images/{k}" in first), None)
    if image_key is None:
        raise CorruptTrialError(
            path, f"frame {frame_keys[0]} has no image (looked for images/{' or images/'.join(IMAGE_KEYS)})"
        )
    try:
        height, width = image_size(first[f"images/{image_key}"][()])
    except OSError as err:
        raise CorruptTrialError(
            path, f"frame {frame_keys[0]} images/{image_key} is not a decodable image: {err}"
        ) from err
    static = static if isinstance(static, h5py.Group) else {}
    is_ours = "scenario" in static
    name = _text(static, "stimulus_name") or f"{path.parent.name}_{path.stem}"  # tdw_physics' own naming rule
    frame_stride, video_frames = _stride(path, static, len(frame_keys))
    contacts = _per_frame_contacts(path, static, frames, frame_keys, video_frames)
    label, first_contact = _labels(path, static, contacts)
    object_ids = [int(i) for i in np.asarray(static["object_ids"][()]).reshape(-1)] if "object_ids" in static else []
    object_names = (
        [_decode(n) for n in np.asarray(static["model_names"][()]).reshape(-1)] if "model_names" in static else []
    )
    if object_names and not any(object_names):
        object_names = []
    return TrialHeader(
        path=path,
        name=name,
        scenario=_scenario(path, static, name),
        split=_text(static, "split") or next((p.name for p in path.parents if p.name in SPLITS), None),
        fps=int(static["fps"][()]) if "fps" in static else FPS,
        frame_keys=frame_keys,
        height=height,
        width=width,
        image_key=image_key,
        label=label,
        first_contact_frame=first_contact,
        contacts=contacts,
        object_ids=object_ids,
        object_names=object_names,
        agent_index=_role_index(static, "agent_index", "target_id", object_ids),
        patient_index=_role_index(static, "patient_index", "zone_id", object_ids),
        seed=int(static["seed"][()]) if "seed" in static else None,
        params=_params(path, static),
        is_ours=is_ours,
        frame_stride=frame_stride,
        video_frames=None if frame_stride == 1 and video_frames == len(frame_keys) else video_frames,
    )


def _sorted_frame_keys(path: Path, frames: h5py.Group) -> list[str]:
    keys = list(frames.keys())
    bad = [k for k in keys if not k.isdigit()]
    if bad:
        raise CorruptTrialError(path, f"frame groups must be named by number, found {bad[:3]}")
    # Newer tdw_physics starts at 0001, Physion's files at 0000: keep time order, index by position.
    return sorted(keys, key=int)


def _stride(path: Path, static, stored: int) -> tuple[int, int]:
    """(frame_stride, video frames): 1 and the stored count for files without them (real Physion, older stores)."""
    stride = int(static["frame_stride"][()]) if "frame_stride" in static else 1
    video_frames = int(static["video_frames"][()]) if "video_frames" in static else stored
    if stride < 1:
        raise CorruptTrialError(path, f"static/frame_stride is {stride}, must be >= 1")
    if stored_count(video_frames, stride) != stored:
        raise CorruptTrialError(
            path,
            f"{stored} stored frames, but static/video_frames {video_frames} at "
            f"static/frame_stride {stride} keep {stored_count(video_frames, stride)}",
        )
    return stride, video_frames


def _per_frame_contacts(
    path: Path, static, frames: h5py.Group, frame_keys: list[str], video_frames: int
) -> np.ndarray | None:
    if "contacts" in static:  # ours: every video frame's label gathered in one array
        contacts = np.asarray(static["contacts"][()], dtype=bool).reshape(-1)
        if len(contacts) != video_frames:
            raise CorruptTrialError(path, f"static/contacts has {len(contacts)} entries for {video_frames} frames")
        return contacts
    if video_frames != len(frame_keys):  # per-group labels cover only the stored frames, not the whole trial
        return None
    key = f"labels/{CONTACT_LABEL}"
    present = [k for k in frame_keys if key in frames[k]]
    if not present:
        return None
    if len(present) != len(frame_keys):
        raise CorruptTrialError(path, f"{key} is in {len(present)} of {len(frame_keys)} frames")
    return np.array([bool(np.asarray(frames[k][key][()]).any()) for k in frame_keys], dtype=bool)


def _labels(path: Path, static, contacts: np.ndarray | None) -> tuple[bool | None, int | None]:
    if "label" in static:
        label: bool | None = bool(static["label"][()])
    elif contacts is not None:
        label = bool(contacts.any())  # tdw_physics' does_target_contact_zone: any over frames
    else:
        label = None
    if "first_contact_frame" in static:
        first = int(static["first_contact_frame"][()])
        first_contact = None if first < 0 else first
    elif contacts is not None and contacts.any():
        first_contact = int(np.argmax(contacts))  # tdw_physics' first_target_contact_zone_frame: a position
    else:
        first_contact = None
    if contacts is not None and label is not None and label != bool(contacts.any()):
        raise CorruptTrialError(path, f"static/label={label} contradicts the per-frame {CONTACT_LABEL} labels")
    return label, first_contact


def _scenario(path: Path, static, name: str) -> str:
    scenario = _text(static, "scenario")
    if scenario:
        return scenario
    for parent in path.parents:
        if parent.name in SCENARIOS:
            return parent.name
    scenario = scenario_from_stimulus_name(name)
    if scenario is None:
        raise PhysionDataError(
            path,
            f"cannot tell the scenario: no static/scenario, no parent folder named one of {SCENARIOS}, "
            f"and the stimulus name {name!r} has no known Physion prefix",
        )
    return scenario


def _role_index(static, ours: str, tdw_key: str, object_ids: list[int]) -> int | None:
    if ours in static:
        return int(static[ours][()])
    if tdw_key in static:  # real Physion: target = red agent, zone = yellow patient
        object_id = int(np.asarray(static[tdw_key][()]).reshape(-1)[0])
        return object_ids.index(object_id) if object_id in object_ids else None
    return None


def _params(path: Path, static) -> dict[str, Any]:
    if "params_json" not in static:
        return {}
    try:
        return json.loads(_text(static, "params_json"))
    except json.JSONDecodeError as err:
        raise CorruptTrialError(path, f"static/params_json is not valid JSON: {err}") from err


def _text(static, key: str) -> str | None:
    return _decode(static[key][()]) if key in static else None


def _decode(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.item() if value.shape == () else bytes(value)
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
