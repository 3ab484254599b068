"""The HDF5 trial store: round trips, RLE masks, real tdw_physics files, metadata.json, atomic writes,
corrupt files, and the ``inspect`` summary. Trials are built directly from small synthetic arrays."""

from __future__ import annotations

import io
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

import physion.storage.hdf5_write
from physion.errors import CorruptTrialError, PhysionDataError
from physion.storage.hdf5_header import UnservableRequest, open_trial_file
from physion.storage.hdf5_layout import segmentation_colors
from physion.storage.hdf5_read import read_frames
from physion.storage.masks_rle import decode_mask, decode_segmentation, encode_mask, encode_segmentation
from physion.storage.store import TrialStore, read_header, read_trial, write_json_atomic, write_trial
from physion.storage.summary import format_summary, summarize_store
from physion.trial import OBSERVED_FRAMES, Trial
from pipelines.cli import main as cli_main

T, H, W = 12, 16, 20


def make_trial(name="collide_0000", scenario="Collide", split="readout", contact_from=7, seed=5) -> Trial:
    """Random pixels, three objects with boxes as masks, contact from frame ``contact_from`` (None = never)."""
    rng = np.random.default_rng(seed)
    segmentation = np.zeros((T, H, W), dtype=np.int32)
    for t in range(T):
        segmentation[t, 2:6, t % 8 : t % 8 + 4] = 1  # agent moves right
        segmentation[t, 8:12, 10:16] = 2
        segmentation[t, 13:16, :] = 3
    contacts = np.zeros(T, dtype=bool)
    if contact_from is not None:
        contacts[contact_from:] = True
    return Trial(
        name=name,
        scenario=scenario,
        split=split,
        seed=seed,
        frames=rng.integers(0, 256, (T, H, W, 3), dtype=np.uint8),
        label=contact_from is not None,
        contacts=contacts,
        first_contact_frame=contact_from,
        segmentation=segmentation,
        object_ids=[11, 4, 7],
        object_names=["agent", "patient", "floor"],
        agent_index=0,
        patient_index=1,
        positions=rng.normal(size=(T, 3, 3)).astype(np.float32),
        velocities=rng.normal(size=(T, 3, 3)).astype(np.float32),
        params={"speed": 1.25, "ramp": [0.1, 0.2]},
    )


def png(image: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


# ------------------------------------------------------------------------------------------ round trip


def test_write_read_round_trip_is_exact(tmp_path):
    trial = make_trial()
    path = write_trial(tmp_path / "deep" / "folder" / "t.hdf5", trial)
    back = read_trial(path)
    assert back.frames.dtype == np.uint8 and np.array_equal(back.frames, trial.frames)
    assert np.array_equal(back.segmentation, trial.segmentation)
    assert np.array_equal(back.contacts, trial.contacts)
    assert np.array_equal(back.positions, trial.positions) and np.array_equal(back.velocities, trial.velocities)
    assert (back.label, back.first_contact_frame) == (True, 7)
    assert (back.name, back.scenario, back.split, back.seed, back.fps) == ("collide_0000", "Collide", "readout", 5, 30)
    assert back.object_ids == [11, 4, 7] and back.object_names == ["agent", "patient", "floor"]
    assert (back.agent_index, back.patient_index) == (0, 1)
    assert back.params == {"speed": 1.25, "ramp": [0.1, 0.2]}
    assert back.metadata() == trial.metadata()


def test_low_level_frame_datasets_give_the_bytes_of_h5py_create_dataset(tmp_path, monkeypatch):
    """The fast frame writer (h5py's low-level calls) makes the same file, byte for byte, as create_dataset."""
    trial = make_trial()
    fast = write_trial(tmp_path / "fast.hdf5", trial).read_bytes()
    monkeypatch.setattr(
        physion.storage.hdf5_write, "_put", lambda group, name, value: group.create_dataset(name, data=value)
    )
    assert write_trial(tmp_path / "high_level.hdf5", trial).read_bytes() == fast


def test_negative_trial_and_optional_fields_round_trip(tmp_path):
    trial = make_trial(contact_from=None)
    trial.seed, trial.agent_index, trial.segmentation, trial.velocities = None, None, None, None
    back = read_trial(write_trial(tmp_path / "n.hdf5", trial))
    assert back.label is False and back.first_contact_frame is None and not back.contacts.any()
    assert back.seed is None and back.agent_index is None and back.patient_index == 1
    assert back.segmentation is None and back.velocities is None and back.positions.shape == (T, 3, 3)


def test_tdw_keys_are_written(tmp_path):
    trial = make_trial()
    path = write_trial(tmp_path / "t.hdf5", trial)
    with h5py.File(path, "r") as f:
        assert f["static/stimulus_name"][()].decode() == "collide_0000"
        assert list(f["static/object_ids"][()]) == [11, 4, 7]
        assert [n.decode() for n in f["static/model_names"][()]] == ["agent", "patient", "floor"]
        assert sorted(f["frames"].keys()) == [f"{t:04d}" for t in range(T)]
        frame = f["frames/0007"]
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(frame["images/_img"][()].tobytes()))), trial.frames[7])
        assert (
            bool(frame["labels/target_contacting_zone"][()]) and not f["frames/0006/labels/target_contacting_zone"][()]
        )
        assert frame["objects/positions"].shape == (3, 3)


def test_segmentation_colors_are_distinct_and_not_black():
    colors = segmentation_colors(215)
    assert colors.shape == (215, 3) and colors.dtype == np.uint8
    assert len({tuple(c) for c in colors}) == 215 and colors.any(axis=1).all()
    with pytest.raises(ValueError, match="at most 215"):
        segmentation_colors(216)


def test_rle_masks_and_id_image_decode_to_the_stored_segmentation(tmp_path):
    trial = make_trial()
    path = write_trial(tmp_path / "t.hdf5", trial)
    colors = segmentation_colors(3)
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["static/object_segmentation_colors"][()], colors)
        for t in range(T):
            group = f[f"frames/{t:04d}/masks_rle"]
            rles = [{"size": group.attrs["size"], "counts": group[str(k)][()].tobytes()} for k in range(3)]
            assert np.array_equal(decode_segmentation(rles, (H, W)), trial.segmentation[t])
            assert np.array_equal(decode_mask(rles[0]), trial.segmentation[t] == 1)
            id_image = np.asarray(Image.open(io.BytesIO(f[f"frames/{t:04d}/images/_id"][()].tobytes())))
            lut = np.concatenate([[[0, 0, 0]], colors])
            assert np.array_equal(id_image, lut[trial.segmentation[t]])


def test_rle_helpers():
    mask = np.zeros((5, 7), dtype=bool)
    mask[1:4, 2:6] = True
    rle = encode_mask(mask)
    assert rle["size"] == [5, 7] and isinstance(rle["counts"], bytes)
    assert np.array_equal(decode_mask(rle), mask)
    seg = np.zeros((5, 7), dtype=np.int32)
    seg[0, 0], seg[4, 6] = 2, 1
    rles = encode_segmentation(seg, 3)
    assert len(rles) == 3 and not decode_mask(rles[2]).any()
    assert np.array_equal(decode_segmentation(rles, (5, 7)), seg)
    with pytest.raises(ValueError, match="overlap"):
        decode_segmentation([encode_mask(mask), encode_mask(mask)], (5, 7))


def test_frames_false_and_max_frames(tmp_path):
    path = write_trial(tmp_path / "t.hdf5", make_trial())
    light = read_trial(path, frames=False)
    assert light.frames.shape == (T, H, W, 3) and light.frames.strides == (0, 0, 0, 0)
    assert light.segmentation is None and light.metadata()["num_frames"] == T and light.resolution == (H, W)
    with pytest.raises(ValueError, match="frames were not loaded"):
        write_trial(tmp_path / "copy.hdf5", light)
    short = read_trial(path, max_frames=5)
    full = read_trial(path)
    assert short.frames.shape[0] == 5 and np.array_equal(short.frames, full.frames[:5])
    assert short.segmentation.shape[0] == 5 and short.positions.shape[0] == 5 and len(short.contacts) == 5
    assert short.label is True and short.first_contact_frame == 7  # labels describe the whole trial


def test_inconsistent_trials_are_refused_before_writing(tmp_path):
    trial = make_trial()
    trial.label, trial.first_contact_frame = False, None
    with pytest.raises(ValueError, match="contradicts"):
        write_trial(tmp_path / "bad.hdf5", trial)
    trial = make_trial()
    trial.positions = trial.positions[:, :2]
    with pytest.raises(ValueError, match=r"positions has shape \(12, 2, 3\)"):
        write_trial(tmp_path / "bad.hdf5", trial)
    assert not list(tmp_path.iterdir())


def strided(trial: Trial, stride: int) -> Trial:
    """``trial`` keeping every ``stride``-th frame (and per-frame array), its labels over every frame."""
    return Trial(
        name=trial.name,
        scenario=trial.scenario,
        split=trial.split,
        seed=trial.seed,
        frames=trial.frames[::stride],
        label=trial.label,
        contacts=trial.contacts,
        first_contact_frame=trial.first_contact_frame,
        segmentation=trial.segmentation[::stride],
        object_ids=trial.object_ids,
        object_names=trial.object_names,
        agent_index=0,
        patient_index=1,
        positions=trial.positions[::stride],
        velocities=trial.velocities[::stride],
        params=trial.params,
        frame_stride=stride,
        video_frames=trial.num_frames,
    )


def test_strided_trial_round_trips_with_labels_of_every_frame(tmp_path):
    full = make_trial(contact_from=5)  # T = 12 frames, contact from frame 5: not a stored frame at stride 3
    path = write_trial(tmp_path / "s.hdf5", strided(full, 3))
    with h5py.File(path, "r") as f:
        assert sorted(f["frames"]) == ["0000", "0001", "0002", "0003"]  # video frames 0, 3, 6, 9
        assert int(f["static/frame_stride"][()]) == 3 and int(f["static/video_frames"][()]) == T
        assert [bool(f[f"frames/{k:04d}/labels/target_contacting_zone"][()]) for k in range(4)] == [
            bool(full.contacts[t]) for t in (0, 3, 6, 9)
        ]
    back = read_trial(path)
    assert (back.frame_stride, back.num_frames, back.stored_frames) == (3, T, 4)
    assert back.frame_indices.tolist() == [0, 3, 6, 9]
    assert np.array_equal(back.frames, full.frames[::3]) and np.array_equal(back.segmentation, full.segmentation[::3])
    assert np.array_equal(back.positions, full.positions[::3])
    assert np.array_equal(back.contacts, full.contacts) and back.first_contact_frame == 5 and back.label is True
    header = read_header(path)
    assert (header.num_frames, header.stored_frames, header.frame_stride) == (T, 4, 3)
    assert header.to_trial().metadata()["num_frames"] == T
    with open_trial_file(path) as f:  # readers ask for video frames and get exactly those
        assert np.array_equal(read_frames(path, f, header, [9, 3]), full.frames[[9, 3]])
        with pytest.raises(
            UnservableRequest,
            match=r"s\.hdf5: stores only video frames 0, 3, 6, \.\.\. \(frame_stride 3\), so it cannot serve frame\(s\) \[4\]",
        ):
            read_frames(path, f, header, [3, 4])
        with pytest.raises(UnservableRequest, match="video frames 0..12 asked for, the trial has 12"):
            read_frames(path, f, header, [0, 12])
    short = read_trial(path, max_frames=7)  # video frames 0..6: stored 0, 3, 6
    assert short.num_frames == 7 and np.array_equal(short.frames, full.frames[[0, 3, 6]])
    assert short.positions.shape[0] == 3 and len(short.contacts) == 7
    assert np.array_equal(read_trial(write_trial(tmp_path / "again.hdf5", back)).frames, back.frames)


def test_unstrided_files_read_as_stride_1(tmp_path):
    path = write_trial(tmp_path / "t.hdf5", make_trial())
    with h5py.File(path, "a") as f:  # a file written before the stride was recorded
        del f["static/frame_stride"], f["static/video_frames"]
    header = read_header(path)
    assert (header.frame_stride, header.num_frames, header.stored_frames) == (1, T, T)
    assert read_trial(path).frame_stride == 1 and read_trial(path).video_frames is None


def test_inconsistent_strides_are_refused(tmp_path):
    trial = strided(make_trial(), 3)
    trial.frames = trial.frames[:3]
    with pytest.raises(ValueError, match="3 stored frames, but 12 video frames at frame_stride 3 keep 4"):
        write_trial(tmp_path / "bad.hdf5", trial)
    trial = strided(make_trial(), 3)
    trial.contacts = trial.contacts[::3]
    with pytest.raises(ValueError, match=r"contacts has shape \(4,\), expected \(12,\)"):
        write_trial(tmp_path / "bad.hdf5", trial)
    assert not list(tmp_path.iterdir())
    path = write_trial(tmp_path / "s.hdf5", strided(make_trial(), 3))
    with h5py.File(path, "a") as f:
        del f["static/video_frames"]
        f["static/video_frames"] = 20
    with pytest.raises(CorruptTrialError, match=r"s\.hdf5: 4 stored frames, but static/video_frames 20"):
        read_header(path)


# ------------------------------------------------------------------------------------------ real tdw_physics files


def write_tdw_file(path: Path, labels: list[bool] | None, first_key: int = 1) -> np.ndarray:
    """A minimal tdw_physics-style file (no keys of ours); returns its (T, 8, 8, 3) frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colors = np.array([[200, 10, 10], [240, 240, 0], [0, 0, 0]], dtype=np.uint8)  # third object: no colour found
    frames = np.stack([np.full((8, 8, 3), 20 * t, dtype=np.uint8) for t in range(5)])
    with h5py.File(path, "w") as f:
        static = f.create_group("static")
        static.create_dataset("stimulus_name", data="pilot_it2_collision_simple_box_0003")
        static.create_dataset("object_ids", data=np.array([31, 32, 33]))
        static.create_dataset("model_names", data=[b"sphere", b"cube", b"table"])
        static.create_dataset("object_segmentation_colors", data=colors)
        static.create_dataset("target_id", data=31)
        static.create_dataset("zone_id", data=32)
        static.create_dataset("git_commit", data="")
        for t in range(5):
            group = f.create_group(f"frames/{t + first_key:04d}")
            group.create_dataset("images/_img", data=png(frames[t]), compression="gzip")
            id_image = np.zeros((8, 8, 3), dtype=np.uint8)
            id_image[0:2, t : t + 2] = colors[0]
            id_image[5:8, 5:8] = colors[1]
            group.create_dataset("images/_id", data=png(id_image), compression="gzip")
            group.create_dataset("images/_depth", data=png(frames[t]))
            group.create_dataset("objects/positions", data=np.full((3, 3), t, dtype=np.float32))
            group.create_dataset("labels/trial_end", data=False)
            if labels is not None:
                group.create_dataset("labels/target_contacting_zone", data=labels[t])
    return frames


def test_reads_a_minimal_tdw_physics_file(tmp_path):
    path = tmp_path / "Collide" / "pilot_it2_collision_simple_box" / "0003.hdf5"
    frames = write_tdw_file(path, labels=[False, False, True, True, False])
    trial = read_trial(path)
    assert trial.label is True and trial.first_contact_frame == 2  # a position in time, frames start at 0001
    assert np.array_equal(trial.contacts, [False, False, True, True, False])
    assert np.array_equal(trial.frames, frames)
    assert (trial.name, trial.scenario, trial.split) == ("pilot_it2_collision_simple_box_0003", "Collide", None)
    assert trial.object_names == ["sphere", "cube", "table"] and (trial.agent_index, trial.patient_index) == (0, 1)
    assert trial.segmentation[3, 0, 3] == 1 and trial.segmentation[3, 6, 6] == 2 and trial.segmentation[3, 4, 0] == 0
    assert (trial.segmentation == 3).sum() == 0
    assert np.array_equal(trial.positions[:, 0, 0], np.arange(5))
    header = read_header(path)
    assert not header.is_ours and header.num_frames == 5 and (header.height, header.width) == (8, 8)


def test_tdw_file_without_labels_reads_as_unlabelled(tmp_path):
    path = tmp_path / "Drop" / "0000.hdf5"
    write_tdw_file(path, labels=None, first_key=0)
    trial = read_trial(path)
    assert trial.label is None and trial.contacts is None and trial.first_contact_frame is None
    assert trial.scenario == "Drop"  # the folder wins over the name


# ------------------------------------------------------------------------------------------ store and metadata


def test_store_paths_listing_and_metadata(tmp_path):
    store = TrialStore(tmp_path)
    trials = [
        make_trial("b_0001", contact_from=3),
        make_trial("a_0000", contact_from=None),
        make_trial("c_0002", scenario="Drop", split="test"),
    ]
    for trial in trials:
        write_trial(store.trial_path(trial.split, trial.scenario, trial.name), trial)
    folder = tmp_path / "readout" / "Collide"
    (folder / ".a_0000.hdf5.123-abcd.tmp").write_bytes(b"partial")  # a writer's temporary file
    assert store.trials() == [
        folder / "a_0000.hdf5",
        folder / "b_0001.hdf5",
        tmp_path / "test" / "Drop" / "c_0002.hdf5",
    ]
    assert store.trials(split="test") == [tmp_path / "test" / "Drop" / "c_0002.hdf5"]
    assert store.groups() == [("readout", "Collide"), ("test", "Drop")]
    out = store.write_metadata("readout", "Collide")
    assert out == folder / "metadata.json"
    entries = store.read_metadata("readout", "Collide")
    assert entries == [{**trials[1].metadata(), "file": "a_0000.hdf5"}, {**trials[0].metadata(), "file": "b_0001.hdf5"}]
    assert entries[1]["does_target_contact_zone"] is True and entries[1]["first_target_contact_zone_frame"] == 3
    assert (entries[0]["num_frames"], entries[0]["frame_stride"], entries[0]["resolution"]) == (T, 1, [H, W])
    write_trial(store.trial_path("readout", "Collide", "s_0003"), strided(make_trial("s_0003"), 4))
    store.write_metadata("readout", "Collide")
    entry = store.read_metadata("readout", "Collide")[-1]
    assert (entry["file"], entry["num_frames"], entry["frame_stride"], entry["resolution"]) == (
        "s_0003.hdf5",
        T,
        4,
        [H, W],
    )
    with pytest.raises(ValueError, match="unknown split"):
        store.trial_path("train", "Collide", "x")
    with pytest.raises(ValueError, match="plain name"):
        store.trial_path("test", "../Collide", "x")
    plugin = make_trial("p_0000", scenario="Pendulum", split="test")  # plug-in scenarios get folders too
    write_trial(store.trial_path("test", "Pendulum", "p_0000"), plugin)
    assert store.groups() == [("readout", "Collide"), ("test", "Drop"), ("test", "Pendulum")]
    with pytest.raises(PhysionDataError, match="no metadata.json"):
        store.read_metadata("test", "Drop")


def test_write_json_atomic(tmp_path):
    path = write_json_atomic(tmp_path / "sub" / "x.json", {"a": [1, 2]})
    assert json.loads(path.read_text()) == {"a": [1, 2]} and [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_exception_mid_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "t.hdf5"
    write_trial(path, make_trial(contact_from=2))
    before = path.read_bytes()
    calls = {"n": 0}
    real_encode = physion.storage.hdf5_write.encode_png

    def failing_encode(image):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk full (simulated)")
        return real_encode(image)

    monkeypatch.setattr(physion.storage.hdf5_write, "encode_png", failing_encode)
    with pytest.raises(RuntimeError, match="simulated"):
        write_trial(path, make_trial(contact_from=9))
    assert [p.name for p in tmp_path.iterdir()] == ["t.hdf5"]  # no temporary left behind
    assert path.read_bytes() == before and read_trial(path).first_contact_frame == 2
    calls["n"] = 0
    with pytest.raises(RuntimeError, match="simulated"):
        write_trial(tmp_path / "new.hdf5", make_trial())
    assert not (tmp_path / "new.hdf5").exists() and len(list(tmp_path.iterdir())) == 1


def test_truncated_and_foreign_files_raise_corrupt_trial_error_naming_them(tmp_path):
    good = write_trial(tmp_path / "good.hdf5", make_trial())
    truncated = tmp_path / "truncated.hdf5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.hdf5"
    garbage.write_bytes(b"\x00not an hdf5 file" * 64)
    for path in (truncated, garbage):
        with pytest.raises(CorruptTrialError) as info:
            read_trial(path)
        assert info.value.path == path and str(path) in str(info.value)
    no_frames = tmp_path / "no_frames.hdf5"
    with h5py.File(no_frames, "w") as f:
        f.create_dataset("static/stimulus_name", data="x")
    with pytest.raises(CorruptTrialError, match="no 'frames' group"):
        read_header(no_frames)
    bad_png = tmp_path / "Collide" / "bad_png.hdf5"
    write_tdw_file(bad_png, labels=[False] * 5)
    with h5py.File(bad_png, "a") as f:
        del f["frames/0003/images/_img"]
        f.create_dataset("frames/0003/images/_img", data=np.frombuffer(b"not a png", dtype=np.uint8))
    with pytest.raises(CorruptTrialError, match=r"frames/0003/images/_img is not a decodable image"):
        read_trial(bad_png)


# ------------------------------------------------------------------------------------------ inspect


def test_inspect_summarises_a_small_store(tmp_path, capsys):
    store = TrialStore(tmp_path)
    for i, first in enumerate([3, 9, None]):
        trial = make_trial(f"c_{i}", contact_from=first)
        write_trial(store.trial_path("readout", "Collide", trial.name), trial)
    late = make_trial("late", scenario="Drop", split="test", contact_from=None)
    late.frames = np.zeros((50, 4, 6, 3), dtype=np.uint8)
    late.contacts, late.label, late.first_contact_frame = np.arange(50) >= 46, True, 46
    late.segmentation = late.positions = late.velocities = None
    write_trial(store.trial_path("test", "Drop", "late"), late)
    summary = summarize_store(tmp_path)
    collide, drop = summary["groups"]
    assert summary["trials"] == 4
    assert (collide["trials"], collide["positives"], collide["negatives"], collide["unlabelled"]) == (3, 2, 1, 0)
    assert collide["frames"] == [T, T, T] and collide["resolutions"] == {f"{H}x{W}": 3}
    assert collide["first_contact"] == [3.0, 6.0, 9.0] and collide["late_contact_fraction"] == 0.0
    assert drop["first_contact"] == [46.0, 46.0, 46.0] and drop["late_contact_fraction"] == 1.0
    text = format_summary(summary)
    assert f"late>={OBSERVED_FRAMES}" in text
    assert cli_main(["inspect", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "4 trials" in printed
    row = next(line for line in printed.splitlines() if line.startswith("readout"))
    assert row.split()[:7] == ["readout", "Collide", "3", "2", "1", "0", "66.7%"]
    assert "12/12/12" in row and "3/6/9" in row and "0% of 2" in row
    drop_row = next(line for line in printed.splitlines() if line.startswith("test"))
    assert "50/50/50" in drop_row and "4x6" in drop_row and "100% of 1" in drop_row
