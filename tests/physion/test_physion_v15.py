"""Physion v1.5 (physion_mp4s/{train,test} + all_video_labels.json): import, scenarios, splits, buggy stimuli, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from layout_fixtures import grey_levels, video

from physion.errors import CorruptTrialError, MissingLabelError, PhysionDataError
from physion.real_data.import_store import import_layout
from physion.real_data.label_files import read_v15_labels
from physion.real_data.layouts import detect_layout, scan_layout
from physion.real_data.physion_v15_buggy import BUGGY_TEST_STIMULI
from physion.real_data.scenario_names import v15_scenarios_in_name
from physion.storage.store import TrialStore, read_trial
from pipelines.cli import main as cli_main

FRAMES = 6
TRAIN = {  # stem: (label, contact_frame_label); negatives carry the harness's middle-frame stand-in
    "pilot_it2_collision_simple_box_0003": (True, 2),
    "pilot_it2_rollingSliding_simple_collision_box_0001": (False, 3),
    "pilot_dominoes_0mid_d3chairs_o1plants_tdwroom_0004": (True, 4),
}
TEST = {
    "pilot-containment-bowl_0012": (1, 3),
    "pilot_linking_nl6_aNone_bCone_occ1_dis1_boxroom_0003": (0, 3),
    "pilot_towers_nb4_fr015_SJ000_gr000sph_mono1_dis0_occ0_tdwroom_stable_0000": (1, 1),  # on the buggy list
    "pilot_it2_drop_simple_box_0001": (1, 5),
}


def write_split(folder: Path, rows: dict, grey: int) -> None:
    for i, stem in enumerate(rows):
        video(folder / f"{stem}.mp4", grey + 20 * i, frames=FRAMES)
    (folder / "all_video_labels.json").write_text(
        json.dumps({stem: {"label": label, "contact_frame_label": frame} for stem, (label, frame) in rows.items()})
    )


@pytest.fixture
def v15(tmp_path) -> Path:
    root = tmp_path / "physion_v15"
    write_split(root / "physion_mp4s" / "train", TRAIN, grey=40)
    write_split(root / "physion_mp4s" / "test", TEST, grey=140)
    return root


def test_v15_substring_scenarios():
    assert v15_scenarios_in_name("pilot_it2_collision_simple_box_0003") == ["Collide"]
    assert v15_scenarios_in_name("pilot_it2_rollingSliding_simple_collision_box_0001") == ["Roll"]
    assert v15_scenarios_in_name("pilot-containment-bowl_0012") == ["Contain"]
    assert v15_scenarios_in_name("pilot_linking_nl6_boxroom_0003") == ["Link"]
    assert v15_scenarios_in_name("pilot_towers_nb4_tdwroom_0000") == ["Support"]
    assert v15_scenarios_in_name("test14_0000") == []  # no Drape in v1.5
    assert len(BUGGY_TEST_STIMULI) == 41 and "pilot_it2_drop_simple_box_0042" in BUGGY_TEST_STIMULI


def test_v15_imports_train_as_readout_and_test_without_buggy_stimuli(v15, tmp_path, capsys):
    assert detect_layout(v15) == "physion-v1.5" and detect_layout(v15 / "physion_mp4s") == "physion-v1.5"
    out = tmp_path / "store"
    assert cli_main(["import-physion", str(v15), "--out", str(out), "--no-progress"]) == 0
    store = TrialStore(out)
    readout = {read_trial(p).name: read_trial(p) for p in store.trials("readout")}
    assert {n: (t.scenario, t.label, t.first_contact_frame) for n, t in readout.items()} == {
        "pilot_it2_collision_simple_box_0003": ("Collide", True, 2),
        "pilot_it2_rollingSliding_simple_collision_box_0001": ("Roll", False, None),  # a stand-in frame is no contact
        "pilot_dominoes_0mid_d3chairs_o1plants_tdwroom_0004": ("Dominoes", True, 4),
    }
    assert readout["pilot_it2_rollingSliding_simple_collision_box_0001"].params["v15_contact_frame_label"] == 3
    assert grey_levels([readout["pilot_it2_collision_simple_box_0003"]]) == [40]
    assert store.trials("training") == []
    test = [read_trial(p) for p in store.trials("test")]
    assert [(t.name, t.scenario, t.label, t.first_contact_frame) for t in test] == [
        ("pilot-containment-bowl_0012", "Contain", True, 3),
        ("pilot_it2_drop_simple_box_0001", "Drop", True, 5),
        ("pilot_linking_nl6_aNone_bCone_occ1_dis1_boxroom_0003", "Link", False, None),
    ]
    assert grey_levels(test) == [140, 200, 160] and test[0].num_frames == FRAMES
    log = json.loads((out / "import_log.json").read_text())
    assert log["layout"] == "physion-v1.5" and log["imported"] == 6
    assert log["excluded"] == ["pilot_towers_nb4_fr015_SJ000_gr000sph_mono1_dis0_occ0_tdwroom_stable_0000"]
    assert any("left out 1 of physion_evaluator's 41 buggy test stimuli" in n for n in log["notes"])
    capsys.readouterr()
    assert cli_main(["inspect", str(out)]) == 0
    table = capsys.readouterr().out
    assert "6 trials" in table and "1 excluded" in table
    rows = {
        (line.split()[0], line.split()[1]): line.split()
        for line in table.splitlines()
        if line.split()[:1] in (["readout"], ["test"])
    }
    assert rows[("test", "Drop")][2:4] == ["1", "1"] and rows[("test", "Drop")][9] == "5/5/5"


def test_v15_train_can_go_to_training_instead(v15, tmp_path):
    import_layout(v15, tmp_path / "s", split_map={"train": "training"}, progress=False)
    store = TrialStore(tmp_path / "s")
    assert len(store.trials("training")) == 3 and store.trials("readout") == [] and len(store.trials("test")) == 3
    # The buggy list is v1.5's test list only: a train video of that name stays.
    video(v15 / "physion_mp4s" / "train" / "pilot_it2_drop_simple_box_0042.mp4", 90, frames=FRAMES)
    labels = json.loads((v15 / "physion_mp4s" / "train" / "all_video_labels.json").read_text())
    labels["pilot_it2_drop_simple_box_0042"] = {"label": False, "contact_frame_label": 3}
    (v15 / "physion_mp4s" / "train" / "all_video_labels.json").write_text(json.dumps(labels))
    assert "pilot_it2_drop_simple_box_0042" in {s.name for s in scan_layout(v15).sources}


def test_v15_bad_input(v15, tmp_path, caplog):
    test_dir = v15 / "physion_mp4s" / "test"
    extra = video(test_dir / "pilot_it2_drop_simple_box_0009.mp4", 30, frames=FRAMES)  # no label row
    with pytest.raises(MissingLabelError) as info:
        scan_layout(v15)
    assert (
        info.value.path == extra
        and f"no label for 'pilot_it2_drop_simple_box_0009' in {test_dir / 'all_video_labels.json'}" in str(info.value)
    )
    extra.unlink()
    (test_dir / "pilot_it2_drop_simple_box_0001.mp4").unlink()  # a label row without its video
    with pytest.raises(
        PhysionDataError,
        match=r"all_video_labels.json: row 'pilot_it2_drop_simple_box_0001' names no "
        r"video \(looked for pilot_it2_drop_simple_box_0001.mp4 in .*test\)",
    ):
        scan_layout(v15)
    out = tmp_path / "store"
    with caplog.at_level(logging.ERROR):
        assert cli_main(["import-physion", str(v15), "--out", str(out), "--no-progress"]) == 2
    assert "(--skip-bad skips such input and records it)" in caplog.text
    assert cli_main(["import-physion", str(v15), "--out", str(out), "--skip-bad", "--no-progress"]) == 0
    log = json.loads((out / "import_log.json").read_text())
    assert [s["path"] for s in log["skipped"]] == [str(test_dir / "all_video_labels.json")]
    assert len(TrialStore(out).trials("test")) == 2

    video(test_dir / "pilot_it2_drop_simple_box_0001.mp4", 200, frames=FRAMES)
    broken = test_dir / "pilot-containment-bowl_0012.mp4"
    broken.write_bytes(b"\x00" * 300)
    with pytest.raises(CorruptTrialError, match=str(broken)):
        import_layout(v15, tmp_path / "a", progress=False)
    report = import_layout(v15, tmp_path / "b", skip_bad=True, progress=False)
    assert [s["path"] for s in report["skipped"]] == [str(broken)] and report["imported"] == 5

    unnamed = video(test_dir / "clip_0000.mp4", 30, frames=FRAMES)
    with pytest.raises(PhysionDataError, match=r"clip_0000.mp4: cannot tell the Physion v1.5 scenario of 'clip_0000'"):
        scan_layout(v15, skip_bad=False)
    unnamed.unlink()

    labels = test_dir / "all_video_labels.json"
    labels.write_text(json.dumps({"pilot-containment-bowl_0012": {"label": "yes", "contact_frame_label": 3}}))
    with pytest.raises(PhysionDataError, match=r"all_video_labels.json: 'pilot-containment-bowl_0012': label 'yes'"):
        read_v15_labels(labels)
    labels.unlink()
    with pytest.raises(MissingLabelError, match=r"test/all_video_labels.json: the test videos need this label file"):
        scan_layout(v15)
