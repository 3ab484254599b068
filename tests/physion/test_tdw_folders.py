"""tdw_physics output folders (NNNN_img.mp4 + metadata.json, HDF5 siblings): import, scenarios, bad input, inspect."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from layout_fixtures import grey_levels, video, write_tdw

from physion.errors import CorruptTrialError, MissingLabelError, PhysionDataError
from physion.real_data.import_store import import_layout
from physion.real_data.label_files import decode_stimulus_name
from physion.real_data.layouts import detect_layout, scan_layout
from physion.real_data.scenario_names import scenario_from_controller
from physion.storage.store import TrialStore, read_trial
from pipelines.cli import main as cli_main

FRAMES = 6


def tdw_entry(name: str, controller: str, label: bool | None, first: int | None, valid: bool = True) -> dict:
    """One metadata.json entry with the fields (and some of the extras) tdw_physics writes."""
    return {
        "stimulus_name": name,
        "controller_name": controller,
        "git_commit": "cc950a254c7d6f74744dedae7a34869146d1b3d2",
        "num_frames": FRAMES,
        "is_trial_valid": valid,
        "does_target_move": True,
        "does_target_contact_zone": label,
        "does_target_miss_zone": None if label is None else not label,
        "first_target_move_frame": 1,
        "first_target_contact_zone_frame": first,
        "room": "b'box'",
        "trial_seed": 140000,
    }


def tdw_folder(folder: Path, entries: list[dict], grey: int) -> Path:
    """A controller's output: _img (and _id) movies, metadata.json, trial_stats.json, args files."""
    for i, _ in enumerate(entries):
        video(folder / f"{i:04d}_img.mp4", grey + 20 * i, frames=FRAMES)
        video(folder / f"{i:04d}_id.mp4", 5, frames=FRAMES)  # another pass: must be ignored
    (folder / "metadata.json").write_text(json.dumps(entries, indent=4))
    (folder / "trial_stats.json").write_text(json.dumps({"num_trials": len(entries)}))
    (folder / "args.txt").write_text(f"--dir\n/data/{folder.name}\n--num\n{len(entries)}\n--save_movies\nTrue\n")
    (folder / "commandline_args.txt").write_text("--save_labels\n--save_movies\n")
    return folder


@pytest.fixture
def stimuli(tmp_path) -> Path:
    """Two controller runs: the benchmark's example (byte-repr names) and a Roll subset run by Collision."""
    root = tmp_path / "stimuli"
    tdw_folder(
        root / "example_dominoes",
        [
            tdw_entry("b'example_dominoes/0000'", "MultiDominoes", True, 2),
            tdw_entry("b'example_dominoes/0001'", "MultiDominoes", False, None),
            tdw_entry("b'example_dominoes/0002'", "MultiDominoes", True, 3),
        ],
        grey=60,
    )
    roll = tdw_folder(
        root / "pilot_it2_rollingSliding_simple_collision_box",
        [
            tdw_entry("pilot_it2_rollingSliding_simple_collision_box_0000", "Collision", False, None),
            tdw_entry("pilot_it2_rollingSliding_simple_collision_box_0001", "Collision", True, 1),
        ],
        grey=160,
    )
    write_tdw(roll / "0001.hdf5", 1, 220, frames=FRAMES, name=b"pilot_it2_rollingSliding_simple_collision_box_0001")
    return root


def test_names_and_controllers():
    assert decode_stimulus_name("b'example_dominoes/0000'") == "example_dominoes_0000"
    assert decode_stimulus_name('b"pilot_dominoes_0mid_0003"') == "pilot_dominoes_0mid_0003"
    assert decode_stimulus_name("pilot_it2_drop_simple_box_0007") == "pilot_it2_drop_simple_box_0007"
    assert decode_stimulus_name("b'broken") == "b'broken" and decode_stimulus_name("") is None
    assert [
        scenario_from_controller(c)
        for c in (
            "MultiDominoes",
            "Tower",
            "Collision",
            "Containment",
            "Drop",
            "Linking",
            "RollingSliding",
            "ClothSagging",
            "Other",
            None,
        )
    ] == ["Dominoes", "Support", "Collide", "Contain", "Drop", "Link", "Roll", "Drape", None, None]


def test_tdw_folders_import_with_labels_scenarios_and_hdf5_siblings(stimuli, tmp_path, capsys):
    assert detect_layout(stimuli) == "tdw-output"
    assert detect_layout(stimuli / "example_dominoes") == "tdw-output"
    out = tmp_path / "store"
    assert (
        cli_main(["import-physion", str(stimuli), "--out", str(out), "--split-map", "*=readout", "--no-progress"]) == 0
    )
    store = TrialStore(out)
    dominoes = [read_trial(p) for p in store.trials("readout", "Dominoes")]
    assert [(t.name, t.label, t.first_contact_frame, t.num_frames) for t in dominoes] == [
        ("example_dominoes_0000", True, 2, FRAMES),
        ("example_dominoes_0001", False, None, FRAMES),
        ("example_dominoes_0002", True, 3, FRAMES),
    ]
    assert grey_levels(dominoes) == [60, 80, 100]  # entry i got video i (and the _img pass, not _id)
    assert dominoes[0].params["controller_name"] == "MultiDominoes" and dominoes[0].params["tdw_index"] == 0
    # The Collision controller ran these, but the stimulus name says Roll.
    roll = [read_trial(p) for p in store.trials("readout", "Roll")]
    assert store.trials("readout", "Collide") == []
    assert [(t.name, t.label, t.first_contact_frame) for t in roll] == [
        ("pilot_it2_rollingSliding_simple_collision_box_0000", False, None),
        ("pilot_it2_rollingSliding_simple_collision_box_0001", True, 1),
    ]
    assert roll[0].resolution == (16, 16) and grey_levels(roll[:1]) == [160]  # from its MP4
    assert roll[1].resolution == (8, 8) and grey_levels(roll[1:]) == [220]  # from its HDF5 sibling
    assert roll[1].contacts.tolist() == [False, True, True, True, True, True]
    assert roll[1].params["imported_from"].endswith("0001.hdf5") and roll[1].params["controller_name"] == "Collision"
    assert [m["does_target_contact_zone"] for m in store.read_metadata("readout", "Dominoes")] == [True, False, True]
    log = json.loads((out / "import_log.json").read_text())
    assert log["layout"] == "tdw-output" and log["imported"] == 5 and log["skipped"] == []

    capsys.readouterr()
    assert cli_main(["inspect", str(out)]) == 0
    table = capsys.readouterr().out
    assert "store " + str(out) + ": 5 trials" in table
    rows = {line.split()[1]: line.split() for line in table.splitlines() if line.startswith("readout ")}
    assert rows["Dominoes"][2:6] == ["3", "2", "1", "0"]  # trials, positives, negatives, unlabelled
    assert rows["Dominoes"][7] == "6/6/6" and rows["Dominoes"][9] == "2/2/3"  # frames; first contact min/med/max
    assert rows["Roll"][2:4] == ["2", "1"] and rows["Roll"][9] == "1/1/1"
    assert "(tdw-output layout)" in table and "0 skipped, 0 excluded, 0 invalid left out" in table


def test_scenario_order_name_then_controller_then_folder_then_error(tmp_path):
    root = tmp_path / "runs"
    tdw_folder(root / "my_run", [tdw_entry("my_run_0000", "Tower", True, 1)], grey=50)  # controller decides
    tdw_folder(root / "Drop" / "batch", [tdw_entry("batch_0000", "MyController", False, None)], grey=50)  # folder
    sources = {s.name: s.scenario for s in scan_layout(root, split_map={"*": "test"}).sources}
    assert sources == {"my_run_0000": "Support", "batch_0000": "Drop"}

    lost = tdw_folder(tmp_path / "lost", [tdw_entry("b'lost/0000'", "MyController", True, 1)], grey=50)
    with pytest.raises(PhysionDataError) as info:
        scan_layout(lost, split_map={"*": "test"})
    assert info.value.path == lost / "0000_img.mp4"
    assert "cannot tell the scenario of 'lost_0000'" in str(info.value) and "--scenario NAME" in str(info.value)
    out = tmp_path / "store"
    assert (
        cli_main(
            [
                "import-physion",
                str(lost),
                "--out",
                str(out),
                "--split-map",
                "*=test",
                "--scenario",
                "Link",
                "--no-progress",
            ]
        )
        == 0
    )
    [trial] = [read_trial(p) for p in TrialStore(out).trials("test", "Link")]
    assert (trial.name, trial.label, trial.first_contact_frame) == ("lost_0000", True, 1)
    assert json.loads((out / "import_log.json").read_text())["scenario_forced"] == "Link"


def test_split_comes_from_split_map_or_a_split_folder(stimuli, tmp_path):
    with pytest.raises(PhysionDataError, match=r"--split-map example_dominoes=<training\|readout\|test>"):
        scan_layout(stimuli)
    splits = {
        s.name: s.split for s in scan_layout(stimuli, split_map={"example_dominoes": "test", "*": "training"}).sources
    }
    assert splits["example_dominoes_0000"] == "test"
    assert splits["pilot_it2_rollingSliding_simple_collision_box_0000"] == "training"
    moved = tmp_path / "readout" / "example_dominoes"
    moved.parent.mkdir()
    (stimuli / "example_dominoes").rename(moved)
    assert {s.split for s in scan_layout(moved).sources} == {"readout"}


def test_invalid_trials_are_left_out_and_listed_unless_kept(tmp_path):
    folder = tdw_folder(
        tmp_path / "pilot_towers_nb4_boxroom",
        [
            tdw_entry("pilot_towers_nb4_boxroom_0000", "Tower", True, 2),
            tdw_entry("pilot_towers_nb4_boxroom_0001", "Tower", False, None, valid=False),
        ],
        grey=40,
    )
    report = import_layout(folder, tmp_path / "a", split_map={"*": "readout"}, progress=False)
    assert [p.stem for p in TrialStore(tmp_path / "a").trials("readout", "Support")] == [
        "pilot_towers_nb4_boxroom_0000"
    ]
    assert report["invalid_left_out"] == ["pilot_towers_nb4_boxroom_0001"]
    kept = import_layout(folder, tmp_path / "b", split_map={"*": "readout"}, keep_invalid=True, progress=False)
    assert kept["imported"] == 2 and kept["invalid_left_out"] == []


def test_metadata_length_mismatch_errors_or_skips_each_orphan(stimuli, tmp_path, caplog):
    folder = stimuli / "example_dominoes"
    meta = folder / "metadata.json"
    (folder / "0001_img.mp4").unlink()
    video(folder / "0003_img.mp4", 200, frames=FRAMES)
    with pytest.raises(PhysionDataError) as info:
        scan_layout(stimuli, split_map={"*": "readout"})
    assert info.value.path == meta
    assert (
        "lists 3 trials but the folder has 3 NNNN_img.mp4 videos (no video for entries 1; no entry for 0003_img.mp4)"
        in str(info.value)
    )
    out = tmp_path / "store"
    args = ["import-physion", str(stimuli), "--out", str(out), "--split-map", "*=readout", "--no-progress"]
    with caplog.at_level(logging.ERROR):
        assert cli_main(args) == 2
    assert f"{meta}: lists 3 trials" in caplog.text and "(--skip-bad skips such input and records it)" in caplog.text
    assert cli_main(args + ["--skip-bad"]) == 0
    log = json.loads((out / "import_log.json").read_text())
    assert log["skipped"] == [
        {"path": str(meta), "reason": "entry 1 ('example_dominoes_0001') has no 0001_img.mp4 beside it"},
        {"path": str(folder / "0003_img.mp4"), "reason": f"no entry 3 in {meta} (it lists 3 trials)"},
    ]
    kept = [read_trial(p) for p in TrialStore(out).trials("readout", "Dominoes")]
    assert [(t.name, t.label) for t in kept] == [("example_dominoes_0000", True), ("example_dominoes_0002", True)]
    assert grey_levels(kept) == [60, 100]  # still joined by index, not shifted by the gap


def test_metadata_out_of_step_with_the_videos_is_an_error(stimuli):
    meta = stimuli / "example_dominoes" / "metadata.json"
    entries = json.loads(meta.read_text())
    entries[1]["stimulus_name"], entries[2]["stimulus_name"] = entries[2]["stimulus_name"], entries[1]["stimulus_name"]
    meta.write_text(json.dumps(entries))
    with pytest.raises(
        PhysionDataError,
        match=r"metadata.json: entry 1 is named 'example_dominoes_0002', which is "
        r"trial 2, not 0001",
    ):
        scan_layout(stimuli, split_map={"*": "readout"})


def test_missing_metadata_and_unreadable_files(stimuli, tmp_path, caplog):
    folder = stimuli / "example_dominoes"
    broken = folder / "0002_img.mp4"
    broken.write_bytes(b"not an mp4" * 40)
    with pytest.raises(CorruptTrialError, match=str(broken)):
        import_layout(stimuli, tmp_path / "a", split_map={"*": "readout"}, progress=False)
    report = import_layout(stimuli, tmp_path / "b", split_map={"*": "readout"}, skip_bad=True, progress=False)
    assert [s["path"] for s in report["skipped"]] == [str(broken)]
    assert "cannot decode as a video" in report["skipped"][0]["reason"]
    assert report["groups"]["readout/Dominoes"]["trials"] == 2 and report["groups"]["readout/Roll"]["trials"] == 2

    sibling = stimuli / "pilot_it2_rollingSliding_simple_collision_box" / "0001.hdf5"
    sibling.write_bytes(b"truncated")
    with pytest.raises(CorruptTrialError, match=str(sibling)):
        scan_layout(stimuli, split_map={"*": "readout"})
    sibling.unlink()
    write_tdw(sibling, None, 220, frames=FRAMES)  # says no contact; metadata.json says contact at frame 1
    with pytest.raises(PhysionDataError, match=r"0001.hdf5: label False disagrees with .*metadata.json \(True\)"):
        scan_layout(stimuli, split_map={"*": "readout"})

    (folder / "metadata.json").unlink()
    with pytest.raises(MissingLabelError, match=r"example_dominoes/metadata.json: a tdw_physics output folder needs"):
        scan_layout(folder, split_map={"*": "readout"})


def test_option_errors_get_no_skip_bad_hint(stimuli, tmp_path, caplog):
    with caplog.at_level(logging.ERROR):
        assert cli_main(["import-physion", str(stimuli), "--out", str(tmp_path / "s"), "--no-progress"]) == 2
    assert "cannot tell the split of" in caplog.text and "--skip-bad" not in caplog.text
