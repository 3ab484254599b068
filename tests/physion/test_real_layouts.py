"""Real Physion layouts: the published label CSV, MP4 I/O, fake PhysionTrainMP4s / PhysionTestMP4s trees of tiny
videos, MP4 and HDF5 folders, and the ``import-physion`` command (labels, names, --skip-bad, exclusions)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest
from layout_fixtures import FRAMES, grey_levels, video, write_tdw

from physion.errors import CorruptTrialError, MissingLabelError, PhysionDataError
from physion.real_data.import_store import import_layout, parse_split_map
from physion.real_data.label_files import read_label_csv, read_name_list, stimulus_name_from_file
from physion.real_data.layouts import detect_layout, iter_trials, scan_layout
from physion.real_data.scenario_names import scenario_from_stimulus_name
from physion.storage.store import TrialStore, read_trial
from physion.trial import SCENARIOS
from physion.video_io import read_video, write_video
from pipelines.cli import main as cli_main

REAL_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "physion_real" / "readout_labels.csv"


def write_csv(path: Path, rows: dict[str, bool]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",ground truth outcome\n" + "".join(f"{n},{v}\n" for n, v in rows.items()))
    return path


def mean_value(trial) -> float:
    return float(trial.frames.astype(np.float64).mean())


# ------------------------------------------------------------------------------------------ the real CSV


def test_real_readout_csv_parses_and_joins_to_real_file_names():
    labels = read_label_csv(REAL_CSV)
    assert len(labels) == 8005
    assert round(100 * sum(labels.values()) / len(labels), 1) == 52.1
    name = "pilot_it2_collision_assorted_targets_box_0002"
    assert labels[name] is True and labels["pilot_it2_collision_assorted_targets_box_0000"] is False
    assert stimulus_name_from_file(f"Collide_readout_MP4s/{name}_img.mp4") == name
    assert stimulus_name_from_file(f"mp4s-redyellow/{name}-redyellow.mp4") == name
    assert stimulus_name_from_file(f"{name}_img-redyellow.mp4") == name
    per_scenario = collections.Counter(scenario_from_stimulus_name(n) for n in labels)
    assert set(per_scenario) == set(SCENARIOS)  # every name encodes a scenario
    assert all(990 <= count <= 1010 for count in per_scenario.values())  # about 1000 readout trials each
    assert scenario_from_stimulus_name("pilot_it2_rollingSliding_simple_collision_box_0001") == "Roll"
    assert scenario_from_stimulus_name("pilot-containment-bowl_0012") == "Contain"
    assert scenario_from_stimulus_name("pilot_towers_nb4_SJ025_mono1_dis0_occ0_tdwroom_0003") == "Support"


def test_label_csv_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text(",ground truth outcome\na_0000,True\nb_0001,maybe\n")
    with pytest.raises(PhysionDataError, match=r"labels.csv: line 3 \(b_0001\): outcome 'maybe'"):
        read_label_csv(bad)
    bad.write_text(",ground truth outcome\na_0000,True\na_0000,False\n")
    with pytest.raises(PhysionDataError, match="listed twice"):
        read_label_csv(bad)
    bad.write_text("name,outcome\na,True\n")
    with pytest.raises(PhysionDataError, match="no 'ground truth outcome' column"):
        read_label_csv(bad)
    names = tmp_path / "glitchy.txt"
    names.write_text("# glitchy stimuli\nx_0001\n\ny_0002_img.mp4  # a file name works too\n")
    assert read_name_list(names) == {"x_0001", "y_0002"}


# ------------------------------------------------------------------------------------------ MP4 I/O


def test_video_round_trip_and_corrupt_files(tmp_path):
    frames = np.stack([np.full((16, 24, 3), 40 * t, dtype=np.uint8) for t in range(6)])
    path = write_video(tmp_path / "v.mp4", frames, fps=30)
    back, fps = read_video(path)
    assert back.shape == (6, 16, 24, 3) and back.dtype == np.uint8 and fps == 30.0
    assert np.abs(back.astype(int) - frames).max() <= 3  # lossy H.264, flat frames survive almost exactly
    assert read_video(path, max_frames=2)[0].shape[0] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]  # no temporary left
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for bad in (garbage, truncated):
        with pytest.raises(CorruptTrialError) as info:
            read_video(bad)
        assert info.value.path == bad and str(bad) in str(info.value)
    with pytest.raises(ValueError, match="even frame sizes"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), dtype=np.uint8), fps=30)


# ------------------------------------------------------------------------------------------ fake real layouts


@pytest.fixture
def train_tree(tmp_path) -> Path:
    """PhysionTrainMP4s with Collide training + readout, Drop readout, and CSV rows for a Dominoes set absent here."""
    root = tmp_path / "PhysionTrainMP4s"
    for i in range(2):
        video(root / "Collide_training_MP4s" / f"pilot_it2_collision_simple_box_{i + 10:04d}_img.mp4", 30 + i)
    labels = {}
    for i, outcome in enumerate([True, False, True]):
        name = f"pilot_it2_collision_simple_box_{i:04d}"
        video(root / "Collide_readout_MP4s" / f"{name}_img.mp4", 100 + 40 * i)
        labels[name] = outcome
    for i, outcome in enumerate([False, True]):
        name = f"pilot_it2_drop_simple_box_{i:04d}"
        video(root / "Drop_readout_MP4s" / f"{name}_img.mp4", 200 + 20 * i)
        labels[name] = outcome
    labels.update({f"pilot_dominoes_default_boxroom_{i:04d}": True for i in range(3)})
    write_csv(root / "readout_labels.csv", labels)
    return root


def test_train_layout_imports_with_labels_and_names(train_tree, tmp_path):
    out = tmp_path / "store"
    assert detect_layout(train_tree) == "physion-train-mp4s"
    report = import_layout(train_tree, out, progress=False)
    store = TrialStore(out)
    collide = {p.stem: read_trial(p) for p in store.trials("readout", "Collide")}
    assert list(collide) == [f"pilot_it2_collision_simple_box_{i:04d}" for i in range(3)]
    assert [t.label for t in collide.values()] == [True, False, True]
    assert grey_levels(collide.values()) == [100, 140, 180]  # each name got its own video
    first = collide["pilot_it2_collision_simple_box_0000"]
    assert first.frames.shape == (FRAMES, 16, 16, 3) and first.fps == 30 and first.split == "readout"
    drop = [read_trial(p) for p in store.trials("readout", "Drop")]
    assert [(t.name, t.label) for t in drop] == [
        ("pilot_it2_drop_simple_box_0000", False),
        ("pilot_it2_drop_simple_box_0001", True),
    ]
    training = [read_trial(p, frames=False) for p in store.trials("training", "Collide")]
    assert [t.label for t in training] == [None, None] and training[0].name == "pilot_it2_collision_simple_box_0010"
    meta = store.read_metadata("readout", "Collide")
    assert [m["does_target_contact_zone"] for m in meta] == [True, False, True]
    assert report["imported"] == 7 and report["skipped"] == [] and report["status"] == "complete"
    assert report["groups"]["readout/Collide"] == {"trials": 3, "positives": 2, "already_present": 0}
    assert any("3 rows belong to scenarios without a folder" in note for note in report["notes"])
    assert json.loads((out / "import_log.json").read_text())["imported"] == 7
    again = import_layout(train_tree, out, progress=False)  # a rerun keeps what is there
    assert again["imported"] == 0 and again["groups"]["readout/Drop"]["already_present"] == 2


def test_max_trials_and_split_map(train_tree, tmp_path):
    report = import_layout(train_tree, tmp_path / "s", split_map={"readout": "test"}, max_trials=1, progress=False)
    store = TrialStore(tmp_path / "s")
    assert [p.stem for p in store.trials("test")] == [
        "pilot_it2_collision_simple_box_0000",
        "pilot_it2_drop_simple_box_0000",
    ]
    assert store.trials("readout") == [] and len(store.trials("training")) == 1
    assert report["left_out_by_max_trials"] == 4
    assert parse_split_map(["readout=test", "*=training"]) == {"readout": "test", "*": "training"}
    with pytest.raises(ValueError, match="SOURCE=SPLIT"):
        parse_split_map(["readout"])


def test_csv_row_without_video_errors_and_skip_bad_records_it(train_tree, tmp_path):
    (train_tree / "Collide_readout_MP4s" / "pilot_it2_collision_simple_box_0001_img.mp4").unlink()
    with pytest.raises(PhysionDataError) as info:
        scan_layout(train_tree)
    assert info.value.path == train_tree / "readout_labels.csv"
    assert "'pilot_it2_collision_simple_box_0001' names no video" in str(info.value)
    out = tmp_path / "store"
    assert cli_main(["import-physion", str(train_tree), "--out", str(out), "--no-progress"]) == 2
    assert not (out / "readout").exists()
    assert cli_main(["import-physion", str(train_tree), "--out", str(out), "--skip-bad", "--no-progress"]) == 0
    log = json.loads((out / "import_log.json").read_text())
    assert log["skipped"] == [
        {
            "path": str(train_tree / "readout_labels.csv"),
            "reason": "row 'pilot_it2_collision_simple_box_0001' names no video (looked for "
            "pilot_it2_collision_simple_box_0001_img.mp4 / pilot_it2_collision_simple_box_0001-redyellow.mp4 "
            "in the Collide, Drop folders)",
        }
    ]
    assert len(TrialStore(out).trials("readout", "Collide")) == 2


def test_video_without_label_and_corrupt_video(train_tree, tmp_path):
    video(train_tree / "Drop_readout_MP4s" / "pilot_it2_drop_simple_box_0009_img.mp4", 10)
    with pytest.raises(MissingLabelError, match="pilot_it2_drop_simple_box_0009_img.mp4: no label"):
        scan_layout(train_tree)
    (train_tree / "Drop_readout_MP4s" / "pilot_it2_drop_simple_box_0009_img.mp4").unlink()
    broken = train_tree / "Collide_readout_MP4s" / "pilot_it2_collision_simple_box_0002_img.mp4"
    broken.write_bytes(b"garbage" * 50)
    with pytest.raises(CorruptTrialError, match=str(broken)):
        import_layout(train_tree, tmp_path / "a", progress=False)
    failed = json.loads((tmp_path / "a" / "import_log.json").read_text())
    assert failed["status"] == "failed" and str(broken) in failed["error"]
    report = import_layout(train_tree, tmp_path / "b", skip_bad=True, progress=False)
    assert [s["path"] for s in report["skipped"]] == [str(broken)]
    assert "cannot decode as a video" in report["skipped"][0]["reason"]
    assert [p.stem for p in TrialStore(tmp_path / "b").trials("readout", "Collide")] == [
        "pilot_it2_collision_simple_box_0000",
        "pilot_it2_collision_simple_box_0001",
    ]


def test_test_layout_uses_redyellow_videos_and_reports_glitchy_exclusions(tmp_path):
    root = tmp_path / "PhysionTestMP4s"
    for scenario, prefix in (("Dominoes", "pilot_dominoes_0mid_boxroom"), ("Link", "pilot_linking_nl6_boxroom")):
        labels = {}
        for i in range(3):
            name = f"{prefix}_{i:04d}"
            video(root / scenario / "mp4s" / f"{name}_img.mp4", 20)  # plain colours: must not be read
            video(root / scenario / "mp4s-redyellow" / f"{name}-redyellow.mp4", 120 + 30 * i)
            labels[name] = i % 2 == 0
        (root / scenario / "maps").mkdir()
        write_csv(root / scenario / "labels.csv", labels)
    glitchy = tmp_path / "glitchy.txt"
    glitchy.write_text("pilot_linking_nl6_boxroom_0001\nnot_in_this_set_0000\n")
    assert detect_layout(root) == "physion-test-mp4s"
    out = tmp_path / "store"
    assert (
        cli_main(["import-physion", str(root), "--out", str(out), "--exclude-list", str(glitchy), "--no-progress"]) == 0
    )
    store = TrialStore(out)
    dominoes = [read_trial(p) for p in store.trials("test", "Dominoes")]
    assert [(t.name, t.label) for t in dominoes] == [
        ("pilot_dominoes_0mid_boxroom_0000", True),
        ("pilot_dominoes_0mid_boxroom_0001", False),
        ("pilot_dominoes_0mid_boxroom_0002", True),
    ]
    assert grey_levels(dominoes) == [120, 150, 180]
    assert [p.stem for p in store.trials("test", "Link")] == [
        "pilot_linking_nl6_boxroom_0000",
        "pilot_linking_nl6_boxroom_0002",
    ]
    log = json.loads((out / "import_log.json").read_text())
    assert log["excluded"] == ["pilot_linking_nl6_boxroom_0001"]
    assert log["exclude_names_not_found"] == ["not_in_this_set_0000"]
    plain = [t for t in iter_trials(root, test_videos="mp4s")]
    assert len(plain) == 6 and set(grey_levels(plain)) == {20}  # no exclusion list this time


def test_mp4_folder_with_metadata_needs_a_split(tmp_path):
    root = tmp_path / "my_videos"
    entries = []
    for i, (label, first) in enumerate([(True, 2), (False, None)]):
        name = f"roll_{i:04d}"
        video(root / f"{name}_img.mp4", 60 + 60 * i)
        entries.append(
            {
                "stimulus_name": name,
                "scenario": "Roll",
                "does_target_contact_zone": label,
                "first_target_contact_zone_frame": first,
            }
        )
    (root / "metadata.json").write_text(json.dumps(entries))
    assert detect_layout(root) == "mp4-folder"
    with pytest.raises(PhysionDataError, match="--split-map my_videos="):
        scan_layout(root)
    import_layout(root, tmp_path / "store", split_map={"*": "readout"}, progress=False)
    trials = [read_trial(p) for p in TrialStore(tmp_path / "store").trials("readout", "Roll")]
    assert [(t.name, t.label, t.first_contact_frame) for t in trials] == [
        ("roll_0000", True, 2),
        ("roll_0001", False, None),
    ]
    entries[0]["first_target_contact_zone_frame"] = 9  # past the 4-frame video
    (root / "metadata.json").write_text(json.dumps(entries))
    with pytest.raises(PhysionDataError, match=r"roll_0000_img.mp4: .*first_contact_frame=9 is outside the 4 frames"):
        import_layout(root, tmp_path / "store2", split_map={"*": "readout"}, progress=False)


def test_hdf5_folder_imports_and_cross_checks_metadata(tmp_path):
    root = tmp_path / "physion_hdf5" / "readout"
    subset = root / "Drop" / "pilot_it2_drop_simple_box"
    write_tdw(subset / "0000.hdf5", 3, 50)
    write_tdw(subset / "0001.hdf5", None, 90)
    (subset / "metadata.json").write_text(
        json.dumps(
            [
                {"stimulus_name": "pilot_it2_drop_simple_box_0000", "does_target_contact_zone": True},
                {"stimulus_name": "pilot_it2_drop_simple_box_0001", "does_target_contact_zone": False},
            ]
        )
    )
    assert detect_layout(root) == "hdf5"
    report = import_layout(root, tmp_path / "store", progress=False)
    trials = [read_trial(p) for p in TrialStore(tmp_path / "store").trials("readout", "Drop")]
    assert [(t.name, t.label, t.first_contact_frame, round(mean_value(t))) for t in trials] == [
        ("pilot_it2_drop_simple_box_0000", True, 3, 50),
        ("pilot_it2_drop_simple_box_0001", False, None, 90),
    ]
    assert report["imported"] == 2
    (subset / "metadata.json").write_text(
        json.dumps([{"stimulus_name": "pilot_it2_drop_simple_box_0001", "does_target_contact_zone": True}])
    )
    with pytest.raises(PhysionDataError, match=r"0001.hdf5: label False disagrees with .*metadata.json \(True\)"):
        scan_layout(root)
