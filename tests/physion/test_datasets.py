"""Torch datasets: shapes, value range, exact frame indices (every pixel of frame t is 5 * t), resizing,
filters, labels, and bad files failing (or being listed with skip_bad) when the dataset is built."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from physion.datasets import ClipDataset, TrialDataset, to_model_frames
from physion.errors import CorruptTrialError, MissingLabelError, PhysionDataError
from physion.storage.hdf5_header import UnservableRequest
from physion.storage.store import TrialStore, write_trial
from physion.trial import Trial

T, SIZE = 40, 8
OBSERVED_FRAMES_SMALL = 15  # an observed window that ends between two stored frames


def indexed_trial(
    name: str,
    scenario: str = "Collide",
    split: str = "training",
    num_frames: int = T,
    label: bool | None = True,
    first: int | None = 20,
) -> Trial:
    """Frame t is a flat grey of value 5 * t, so a decoded pixel tells which frame it came from."""
    frames = (5 * np.arange(num_frames, dtype=np.uint8))[:, None, None, None] * np.ones((1, SIZE, SIZE, 3), np.uint8)
    return Trial(
        name=name,
        scenario=scenario,
        split=split,
        frames=frames,
        label=label,
        first_contact_frame=first if label else None,
    )


def frame_ids(clip: torch.Tensor) -> list[int]:
    """(n, 3, r, r) in [-1, 1] -> the frame index each flat frame encodes."""
    values = (clip + 1) * 127.5
    assert torch.allclose(values, values.mean(dim=(1, 2, 3), keepdim=True).expand_as(values), atol=1e-3)
    return [int(round(v / 5)) for v in values.mean(dim=(1, 2, 3)).tolist()]


@pytest.fixture
def store(tmp_path) -> Path:
    s = TrialStore(tmp_path)
    for i in range(3):
        write_trial(s.trial_path("training", "Collide", f"c{i}"), indexed_trial(f"c{i}"))
    write_trial(s.trial_path("training", "Drop", "d0"), indexed_trial("d0", scenario="Drop", label=None))
    write_trial(s.trial_path("readout", "Collide", "r0"), indexed_trial("r0", split="readout", label=True, first=20))
    write_trial(s.trial_path("readout", "Collide", "r1"), indexed_trial("r1", split="readout", label=False))
    return tmp_path


def test_clip_dataset_shapes_range_and_exact_stride(store):
    ds = ClipDataset(store, "training", num_frames=4, frame_offset=3, resolution=SIZE, seed=7)
    assert len(ds) == 4 and ds.span == 10 and ds.skipped == []
    starts = set()
    for i in range(len(ds)):
        clip = ds[i]
        assert clip.shape == (4, 3, SIZE, SIZE) and clip.dtype == torch.float32
        assert clip.min() >= -1 and clip.max() <= 1
        indices = ds.frame_indices(i)
        assert frame_ids(clip) == indices.tolist()
        assert indices[0] >= 0 and indices[-1] <= T - 1 and np.all(np.diff(indices) == 3)
        starts.add(int(indices[0]))
    assert len(starts) > 1  # random starts, not all the same
    again = ClipDataset(store, "training", num_frames=4, frame_offset=3, resolution=SIZE, seed=7)
    assert [again.frame_indices(i).tolist() for i in range(4)] == [ds.frame_indices(i).tolist() for i in range(4)]
    before = [ds.frame_indices(i)[0] for i in range(4)]
    ds.set_epoch(1)
    assert [ds.frame_indices(i)[0] for i in range(4)] != before
    fixed = ClipDataset(store, "training", num_frames=5, frame_offset=2, resolution=SIZE, random_start=False)
    assert frame_ids(fixed[0]) == [0, 2, 4, 6, 8]


def test_clip_dataset_resizes_with_antialiasing_and_filters(store):
    ds = ClipDataset(store, None, num_frames=2, frame_offset=1, resolution=4, scenarios=["Collide"], random_start=False)
    assert len(ds) == 5  # training + readout Collide, not Drop
    clip = ds[0]
    assert clip.shape == (2, 3, 4, 4) and frame_ids(clip) == [0, 1]
    grey = np.zeros((1, 8, 8, 3), dtype=np.uint8)
    grey[:, :, ::2] = 255  # 1-pixel stripes average to mid-grey when shrunk with antialiasing
    small = to_model_frames(grey, 2)
    assert small.shape == (1, 3, 2, 2) and small.abs().max() < 0.1  # plain subsampling would give -1 or 1
    paths = TrialStore(store).trials("training")
    listed = ClipDataset(paths, "training", num_frames=2, resolution=SIZE, scenarios=["Drop"])
    assert len(listed) == 1 and listed.entries[0].name == "d0"


def test_trial_dataset_items(store):
    ds = TrialDataset(store, "readout", num_frames=10, frame_offset=3, resolution=SIZE)
    assert len(ds) == 2 and ds.labels.tolist() == [1.0, 0.0]
    item = ds[0]
    assert item["frames"].shape == (4, 3, SIZE, SIZE) and frame_ids(item["frames"]) == [0, 3, 6, 9]
    assert item["label"].dtype == torch.float32 and item["label"].item() == 1.0
    assert (item["scenario"], item["name"], item["first_contact_frame"]) == ("Collide", "r0", 20)
    assert item["frame_indices"].tolist() == [0, 3, 6, 9] and item["path"].endswith("r0.hdf5")
    assert ds[1]["first_contact_frame"] == -1 and ds[1]["label"].item() == 0.0
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["frames"].shape == (2, 4, 3, SIZE, SIZE) and batch["label"].tolist() == [1.0, 0.0]


def test_unlabelled_and_short_trials(store):
    with pytest.raises(MissingLabelError, match="d0.hdf5: no label"):
        TrialDataset(store, "training", num_frames=10, resolution=SIZE)
    ds = TrialDataset(store, "training", num_frames=10, resolution=SIZE, skip_bad=True)
    assert [e.name for e in ds.entries] == ["c0", "c1", "c2"] and ds.skipped[0]["path"].endswith("d0.hdf5")
    short = TrialStore(store).trial_path("test", "Roll", "short")
    write_trial(short, indexed_trial("short", scenario="Roll", split="test", num_frames=6, first=2))
    with pytest.raises(PhysionDataError, match="short.hdf5: 6 frames, a clip of 4 frames 3 apart needs 10"):
        ClipDataset(store, "test", num_frames=4, frame_offset=3, resolution=SIZE)


def test_corrupt_trial_fails_at_construction_or_is_listed(store):
    bad = TrialStore(store).trial_path("training", "Collide", "c1")
    bad.write_bytes(bad.read_bytes()[:2000])  # truncated
    with pytest.raises(CorruptTrialError) as info:
        ClipDataset(store, "training", num_frames=4, resolution=SIZE)
    assert info.value.path == bad
    ds = ClipDataset(store, "training", num_frames=4, resolution=SIZE, skip_bad=True)
    assert len(ds) == 3 and [s["path"] for s in ds.skipped] == [str(bad)]
    assert "not a readable HDF5 file" in ds.skipped[0]["reason"]
    assert [e.name for e in ds.entries] == ["c0", "c2", "d0"]
    assert all(ds[i].shape == (4, 3, SIZE, SIZE) for i in range(len(ds)))  # every kept sample loads


# ---------------------------------------------------------------------------------------------------- strided stores


def strided_trial(name: str, stride: int, split: str = "training", num_frames: int = T, first: int = 21) -> Trial:
    """``indexed_trial`` with only video frames 0, s, 2s, ... stored (pixel value 5 * video frame)."""
    full = indexed_trial(name, split=split, num_frames=num_frames, first=first)
    contacts = np.arange(num_frames) >= first  # contact first at a frame the stride does not store
    return Trial(
        name=name,
        scenario=full.scenario,
        split=split,
        frames=full.frames[::stride],
        label=True,
        contacts=contacts,
        first_contact_frame=first,
        frame_stride=stride,
        video_frames=num_frames,
    )


@pytest.fixture
def strided_store(tmp_path) -> Path:
    s = TrialStore(tmp_path)
    for i in range(3):
        write_trial(s.trial_path("training", "Collide", f"c{i}"), strided_trial(f"c{i}", 2))
    write_trial(s.trial_path("readout", "Collide", "r0"), strided_trial("r0", 2, split="readout", num_frames=39))
    return tmp_path


def test_clip_dataset_reads_every_kth_video_frame_of_a_strided_store(strided_store):
    ds = ClipDataset(strided_store, "training", num_frames=4, frame_offset=4, resolution=SIZE, seed=7)
    assert ds.entries[0].num_frames == T and ds.entries[0].frame_stride == 2
    starts = set()
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            indices = ds.frame_indices(i)
            # video frame numbers, and the decoded pixels are those frames' (5 * t), not stored positions
            assert frame_ids(ds[i]) == indices.tolist() and np.all(np.diff(indices) == 4)
            assert indices[0] % 2 == 0 and indices[-1] <= T - 1
            starts.add(int(indices[0]))
    assert len(starts) > 2
    fixed = ClipDataset(strided_store, "training", num_frames=5, frame_offset=2, resolution=SIZE, random_start=False)
    assert frame_ids(fixed[0]) == [0, 2, 4, 6, 8]


def test_trial_dataset_on_a_strided_store_keeps_video_frame_numbers(strided_store):
    ds = TrialDataset(strided_store, "readout", num_frames=39, frame_offset=6, resolution=SIZE)
    item = ds[0]
    assert item["frame_indices"].tolist() == [0, 6, 12, 18, 24, 30, 36]  # 39 video frames, stored 0, 2, .., 38
    assert frame_ids(item["frames"]) == [0, 6, 12, 18, 24, 30, 36]
    assert item["first_contact_frame"] == 21 and item["label"].item() == 1.0  # from every frame, not the stored
    assert ds.entries[0].num_frames == 39
    observed = TrialDataset(strided_store, "readout", num_frames=OBSERVED_FRAMES_SMALL, frame_offset=2, resolution=SIZE)
    assert frame_ids(observed[0]["frames"]) == list(range(0, OBSERVED_FRAMES_SMALL, 2))


def test_a_strided_store_refuses_what_it_cannot_serve(strided_store):
    for skip_bad in (False, True):  # the store, not one file: never skipped into an empty dataset
        with pytest.raises(
            UnservableRequest,
            match=r"c0\.hdf5: stores only video frames 0, 2, 4, \.\.\. "
            r"\(frame_stride 2\), so frame_offset 3 would need frames it does not hold",
        ):
            ClipDataset(strided_store, "training", num_frames=4, frame_offset=3, resolution=SIZE, skip_bad=skip_bad)
        with pytest.raises(UnservableRequest, match=r"r0\.hdf5: stores only video frames 0, 2"):
            TrialDataset(strided_store, "readout", num_frames=30, frame_offset=1, resolution=SIZE, skip_bad=skip_bad)
    with pytest.raises(UnservableRequest, match=r"c0\.hdf5: frames are stored at 8x8 px, 16x16 asked for"):
        ClipDataset(strided_store, "training", num_frames=4, frame_offset=2, resolution=16)
    with pytest.raises(UnservableRequest, match="8x8 px, 8x12 asked for"):
        TrialDataset(strided_store, "readout", num_frames=30, frame_offset=2, resolution=(8, 12))
