"""Torch datasets over trial HDF5 files: random clips for dynamics pretraining, whole labelled trials for readout.

Frames come out as float32 (n, 3, res, res) in [-1, 1], resized with ``F.interpolate(antialias=True)``.
Only the frames a sample needs are decoded. Every file is validated when the dataset is built: a bad one
raises (CorruptTrialError / MissingLabelError naming it) or, with ``skip_bad=True``, is listed in
``dataset.skipped`` and left out, so ``__getitem__`` never swaps a broken sample for another.

Frame numbers (``frame_offset``, ``num_frames``, starts, ``frame_indices``, ``first_contact_frame``) count video
frames whatever the store keeps. A store generated with ``frame_stride`` s holds only video frames 0, s, 2s, ...:
it serves any ``frame_offset`` that is a multiple of s (a clip's start is then a multiple of s too). A request it
cannot serve, a ``frame_offset`` that is not a multiple of its stride or a ``resolution`` above the stored frames',
raises UnservableRequest naming the file when the dataset is built, even with ``skip_bad`` (it is the store, not
one bad file).
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm import tqdm

from physion.errors import MissingLabelError, PhysionDataError
from physion.storage.hdf5_header import TrialHeader, UnservableRequest, open_trial_file, read_header, stored_positions
from physion.storage.hdf5_read import read_images
from physion.storage.store import TrialStore

log = logging.getLogger(__name__)


def to_model_frames(frames: np.ndarray, resolution: int | tuple[int, int]) -> torch.Tensor:
    """(n, H, W, 3) uint8 -> (n, 3, res, res) float32 in [-1, 1] (bilinear, antialiased when shrinking)."""
    size = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    # Bilinear weights are convex, so values stay in [0, 255] up to rounding; clamp that rounding away.
    return (x / 127.5 - 1.0).clamp_(-1.0, 1.0)


def check_serves(header: TrialHeader, resolution: int | tuple[int, int], frame_offset: int) -> None:
    """UnservableRequest unless the trial file stores every frame and pixel a reader of ``resolution`` frames
    ``frame_offset`` video frames apart needs."""
    size = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
    if size[0] > header.height or size[1] > header.width:
        raise UnservableRequest(
            header.path,
            f"frames are stored at {header.height}x{header.width} px, "
            f"{size[0]}x{size[1]} asked for: generate the store at the model's resolution "
            "(or lower model.resolution) rather than upsampling",
        )
    if frame_offset % header.frame_stride:
        s = header.frame_stride
        raise UnservableRequest(
            header.path,
            f"stores only video frames 0, {s}, {2 * s}, ... (frame_stride {s}), "
            f"so frame_offset {frame_offset} would need "
            f"frames it does not hold: use a frame offset that is a multiple of "
            f"{header.frame_stride}, or generate with a frame stride that divides {frame_offset}",
        )


@dataclass
class _Entry:
    """What a sample needs from a trial header, kept small (datasets may index tens of thousands of trials)."""

    path: Path
    name: str
    scenario: str
    label: bool | None
    first_contact_frame: int | None
    frame_keys: np.ndarray  # (N,) bytes: stored frame group names in time order
    image_key: str
    size: tuple[int, int]
    frame_stride: int
    num_frames: int  # video frames

    @classmethod
    def from_header(cls, header: TrialHeader) -> "_Entry":
        return cls(
            header.path,
            header.name,
            header.scenario,
            header.label,
            header.first_contact_frame,
            np.array(header.frame_keys, dtype="S"),
            header.image_key,
            (header.height, header.width),
            header.frame_stride,
            header.num_frames,
        )


class _TrialFiles(Dataset, abc.ABC):
    """Shared indexing: resolve the trial files, read and check every header up front."""

    def __init__(
        self,
        source: str | Path | Sequence[str | Path],
        split: str | None,
        scenarios: Iterable[str] | None,
        resolution: int | tuple[int, int],
        skip_bad: bool,
    ):
        self.resolution = resolution
        self.skipped: list[dict] = []  # {"path": str, "reason": str}
        self.entries: list[_Entry] = []
        wanted = None if scenarios is None else set(scenarios)
        paths = _trial_paths(source, split, wanted)
        for path in tqdm(
            paths, desc=f"index {type(self).__name__}", unit="trial", leave=False, disable=len(paths) < 200
        ):
            try:
                header = read_header(path)
                if (split is not None and header.split not in (None, split)) or (
                    wanted and header.scenario not in wanted
                ):
                    continue  # an explicit file list is filtered like a store
                check_serves(header, self.resolution, self.frame_offset)
                self.entries.append(self._check(header))
            except PhysionDataError as err:
                if not skip_bad or isinstance(err, UnservableRequest):
                    raise
                self.skipped.append({"path": str(err.path), "reason": err.problem})
        if self.skipped:
            log.warning(
                "%s: left out %d bad trial files (see .skipped), kept %d",
                type(self).__name__,
                len(self.skipped),
                len(self.entries),
            )

    @abc.abstractmethod
    def _check(self, header: TrialHeader) -> _Entry:
        """Raise PhysionDataError (naming the file) if this dataset cannot use the trial, else index it."""

    def __len__(self) -> int:
        return len(self.entries)

    def _load(self, entry: _Entry, indices: np.ndarray) -> torch.Tensor:
        """Decode the video frames ``indices`` of ``entry``."""
        positions = stored_positions(entry.path, indices, entry.frame_stride, entry.num_frames)
        keys = [entry.frame_keys[j].decode() for j in positions]
        with open_trial_file(entry.path) as f:
            frames = read_images(entry.path, f, keys, entry.image_key, entry.size)
        return to_model_frames(frames, self.resolution)


class ClipDataset(_TrialFiles):
    """Clips of ``num_frames`` frames, ``frame_offset`` apart, from a random valid start -> (n, 3, res, res).

    ``source`` is a store root (trials of ``split``, or all splits if None) or a list of trial files.
    Starts are drawn from ``default_rng([seed, epoch, index])``: reproducible, the same in any DataLoader
    worker, and new each epoch when the training loop calls ``set_epoch``. ``random_start=False`` starts at 0.
    On a store with frame stride s, starts are multiples of s (the same draws as before when s is 1).
    """

    def __init__(
        self,
        source,
        split: str | None = None,
        num_frames: int = 16,
        frame_offset: int = 1,
        resolution: int | tuple[int, int] = 64,
        scenarios: Iterable[str] | None = None,
        random_start: bool = True,
        seed: int = 0,
        skip_bad: bool = False,
    ):
        if num_frames < 1 or frame_offset < 1:
            raise ValueError(f"num_frames and frame_offset must be >= 1, got {num_frames}, {frame_offset}")
        self.num_frames, self.frame_offset = num_frames, frame_offset
        self.span = (num_frames - 1) * frame_offset + 1  # frames a clip covers, first to last
        self.random_start, self.seed, self.epoch = random_start, seed, 0
        super().__init__(source, split, scenarios, resolution, skip_bad)

    def _check(self, header: TrialHeader) -> _Entry:
        if header.num_frames < self.span:
            raise PhysionDataError(
                header.path,
                f"{header.num_frames} frames, a clip of {self.num_frames} frames "
                f"{self.frame_offset} apart needs {self.span}",
            )
        return _Entry.from_header(header)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def frame_indices(self, index: int) -> np.ndarray:
        """The video frames sample ``index`` reads this epoch."""
        entry = self.entries[index]
        last_start = (entry.num_frames - self.span) // entry.frame_stride  # in stored frames
        rng = np.random.default_rng([self.seed, self.epoch, index])
        start = entry.frame_stride * int(rng.integers(0, last_start + 1)) if self.random_start else 0
        return start + self.frame_offset * np.arange(self.num_frames)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self._load(self.entries[index], self.frame_indices(index))


class TrialDataset(_TrialFiles):
    """Labelled trials for readout: frames 0, offset, 2*offset, ... < ``num_frames`` (the first L frames,
    subsampled) -> dict(frames (n, 3, res, res), label float32 0/1, scenario, name, path, frame_indices,
    first_contact_frame (-1 = none/unknown)). A trial without a label raises MissingLabelError."""

    def __init__(
        self,
        source,
        split: str | None = None,
        num_frames: int = 45,
        frame_offset: int = 1,
        resolution: int | tuple[int, int] = 64,
        scenarios: Iterable[str] | None = None,
        skip_bad: bool = False,
    ):
        if num_frames < 1 or frame_offset < 1:
            raise ValueError(f"num_frames and frame_offset must be >= 1, got {num_frames}, {frame_offset}")
        self.num_frames, self.frame_offset = num_frames, frame_offset
        self.indices = np.arange(0, num_frames, frame_offset)
        super().__init__(source, split, scenarios, resolution, skip_bad)

    def _check(self, header: TrialHeader) -> _Entry:
        if header.label is None:
            raise MissingLabelError(header.path, "no label (static/label or per-frame target_contacting_zone)")
        if header.num_frames < self.num_frames:
            raise PhysionDataError(
                header.path, f"{header.num_frames} frames, fewer than the {self.num_frames} asked for"
            )
        return _Entry.from_header(header)

    @property
    def labels(self) -> np.ndarray:
        return np.array([float(e.label) for e in self.entries], dtype=np.float32)

    def __getitem__(self, index: int) -> dict:
        entry = self.entries[index]
        return {
            "frames": self._load(entry, self.indices),
            "label": torch.tensor(float(entry.label), dtype=torch.float32),
            "scenario": entry.scenario,
            "name": entry.name,
            "path": str(entry.path),
            "frame_indices": torch.from_numpy(self.indices.astype(np.int64)),
            "first_contact_frame": -1 if entry.first_contact_frame is None else entry.first_contact_frame,
        }


def _trial_paths(source, split: str | None, scenarios: set[str] | None) -> list[Path]:
    if isinstance(source, (str, Path)):
        root = Path(source)
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: not a store folder")
        store = TrialStore(root)
        paths = [p for sc in (sorted(scenarios) if scenarios else [None]) for p in store.trials(split, sc)]
        if not paths:
            raise PhysionDataError(
                root, f"no trials of split={split} scenarios={sorted(scenarios) if scenarios else 'all'}"
            )
        return sorted(paths)
    return [Path(p) for p in source]
