"""The generation orchestrator: seeds, balance, determinism across workers, resume, shards + merge, manifest,
plugins, previews and the ``generate`` command. Small (32 px, 60-frame) Collide trials keep it fast on CPU."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from physion.errors import PhysionDataError, RejectedTrial
from physion.generation import worker
from physion.generation.generate_store import generate, merge_shards
from physion.generation.plan import TrialJob, parse_shard, plan_trials, trial_name
from physion.generation.resume import store_lock
from physion.generation.seeds import trial_seed, wanted_label
from physion.storage.preview import CAPTION_HEIGHT, GAP, contact_sheet, write_preview_mp4s
from physion.storage.store import TrialStore, read_header, read_trial
from physion.trial import OBSERVED_FRAMES, SCENARIOS, SPLITS
from physion.video_io import read_video
from pipelines.cli import main as cli_main

RES, FRAMES = 32, 60
COUNTS = {"training": 4, "readout": 2, "test": 2}
SMALL = dict(resolution=RES, num_frames=FRAMES, seed=3, progress=False)
PINNED_SEED = 899636774888460108  # trial_seed(0, "training", "Collide", 0, 0) as first released
PLUGIN = str(Path(__file__).resolve().parents[2] / "examples" / "my_scenario.py") + ":Pendulum"


def trial_files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.glob("*/*/*.hdf5"))}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One unsharded Collide store, generated in this process (1 worker)."""
    root = tmp_path_factory.mktemp("store")
    generate(root, ["Collide"], COUNTS, workers=1, **SMALL)
    return root


# ---------------------------------------------------------------------------------------------------- seeds and plan


def test_seeds_are_pinned_distinct_across_splits_and_deterministic():
    # Pinned values: the mapping must never change silently between versions or machines.
    assert trial_seed(0, "training", "Collide", 0, 0) == PINNED_SEED
    assert trial_seed(0, "training", "Collide", 0, 0) != trial_seed(1, "training", "Collide", 0, 0)
    per_split = {
        split: {trial_seed(0, split, s, i, a) for s in SCENARIOS for i in range(2000) for a in range(3)}
        for split in SPLITS
    }
    assert all(len(seeds) == len(SCENARIOS) * 2000 * 3 for seeds in per_split.values())  # no collision inside a split
    assert not per_split["training"] & per_split["readout"]
    assert not per_split["training"] & per_split["test"]
    assert not per_split["readout"] & per_split["test"]
    assert all(0 <= s < 2**63 for s in per_split["test"])
    with pytest.raises(ValueError, match="unknown split"):
        trial_seed(0, "validation", "Collide", 0, 0)


def test_plan_order_names_and_shards_partition():
    specs = {"Collide": "Collide", "Roll": "Roll"}
    jobs = plan_trials(specs, {"training": 3, "test": 2})
    assert [j.name for j in jobs[:4]] == [
        "Collide_training_00000",
        "Collide_training_00001",
        "Collide_training_00002",
        "Roll_training_00000",
    ]
    assert jobs[-1] == TrialJob("test", "Roll", "Roll", 1)
    shards = [plan_trials(specs, {"training": 3, "test": 2}, (i, 3)) for i in range(3)]
    assert sorted(j.name for s in shards for j in s) == sorted(j.name for j in jobs)
    assert [len(s) for s in shards] == [4, 3, 3]
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "1-4", "-1/2"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    assert [wanted_label(i) for i in range(4)] == [True, False, True, False]


def test_trial_that_never_gets_its_label_names_scenario_split_index_and_reasons(monkeypatch):
    class AlwaysHidden:
        def simulate(self, seed, **kwargs):
            raise RejectedTrial("agent hidden in frame 0")

    monkeypatch.setitem(worker._CLASSES, "always-hidden", AlwaysHidden)
    settings = worker.SimulationSettings(RES, FRAMES, 30, 0, max_tries=3)
    with pytest.raises(worker.TrialGenerationError) as err:
        worker.simulate_wanted(TrialJob("readout", "Hidden", "always-hidden", 7), settings)
    message = str(err.value)
    assert "'Hidden'" in message and "'readout'" in message and "index 7" in message
    assert "rejected: agent hidden in frame 0 (x3)" in message and "3 tries" in message


# ---------------------------------------------------------------------------------------------------- the store


def test_labels_exactly_balanced_and_follow_index_parity(store):
    manifest = json.loads((store / "manifest.json").read_text())
    for split, n in COUNTS.items():
        summary = manifest["summary"][split]["Collide"]
        assert (summary["trials"], summary["positives"], summary["positive_fraction"]) == (n, n // 2, 0.5)
        assert summary["balanced_45_55"]
        for index in range(n):
            trial = read_header(TrialStore(store).trial_path(split, "Collide", trial_name("Collide", split, index)))
            assert trial.label == (index % 2 == 0)
            if trial.label:
                assert trial.first_contact_frame >= OBSERVED_FRAMES


def test_manifest_records_settings_seeds_tries_and_first_contacts(store):
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["shard"] is None
    assert {k: manifest["settings"][k] for k in ("resolution", "num_frames", "fps", "seed")} == {
        "resolution": RES,
        "num_frames": FRAMES,
        "fps": 30,
        "seed": 3,
    }
    assert manifest["scenarios"] == [{"name": "Collide", "spec": "Collide", "class": manifest["scenarios"][0]["class"]}]
    assert manifest["counts"] == COUNTS
    assert len(manifest["trials"]) == sum(COUNTS.values())
    for name, record in manifest["trials"].items():
        header = read_header(TrialStore(store).trial_path(record["split"], "Collide", name))
        expected_seed = trial_seed(3, record["split"], "Collide", record["index"], record["attempt"])
        assert record["seed"] == header.seed == expected_seed
        assert record["tries"] == record["attempt"] + 1 >= 1
        assert header.params["generation"]["tries"] == record["tries"]
        assert (record["label"], record["first_contact_frame"]) == (header.label, header.first_contact_frame)
    contact = manifest["summary"]["training"]["Collide"]["first_contact"]
    assert contact["count"] == 2 and OBSERVED_FRAMES <= contact["min"] <= contact["max"] < FRAMES
    assert sum(contact["histogram"]["counts"]) == 2
    metadata = TrialStore(store).read_metadata("test", "Collide")
    assert [m["stimulus_name"] for m in metadata] == ["Collide_test_00000", "Collide_test_00001"]
    assert [m["does_target_contact_zone"] for m in metadata] == [True, False]


def test_same_seed_gives_same_bytes_with_a_worker_pool(store, tmp_path):
    generate(tmp_path, ["Collide"], COUNTS, workers=2, **SMALL)
    ours, theirs = trial_files(store), trial_files(tmp_path)
    assert list(ours) == list(theirs) and len(ours) == sum(COUNTS.values())
    assert all(filecmp.cmp(ours[k], theirs[k], shallow=False) for k in ours)


def test_resume_regenerates_only_the_missing_trial_and_removes_temporaries(store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(store, root)
    files = trial_files(root)
    victim = files["readout/Collide/Collide_readout_00001.hdf5"]
    victim.unlink()
    leftover = victim.with_name(f".{victim.name}.4242-deadbeef.tmp")  # what a crash mid-write leaves
    leftover.write_bytes(b"half a file")
    before = {k: p.stat().st_mtime_ns for k, p in files.items() if p != victim}
    generate(root, ["Collide"], COUNTS, workers=1, **SMALL)
    assert not leftover.exists()
    assert filecmp.cmp(victim, store / "readout/Collide/Collide_readout_00001.hdf5", shallow=False)
    assert {k: p.stat().st_mtime_ns for k, p in trial_files(root).items() if p != victim} == before
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["trials"] == json.loads((store / "manifest.json").read_text())["trials"]


def test_resume_with_other_settings_is_refused(store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(store, root)
    with pytest.raises(PhysionDataError, match=r"resolution: 32 \(store\) vs 48 \(this run\)"):
        generate(root, ["Collide"], COUNTS, workers=1, **{**SMALL, "resolution": 48})


def test_shards_are_disjoint_and_merge_to_the_unsharded_store(store, tmp_path):
    shards = [tmp_path / "shard0", tmp_path / "shard1"]
    for i, folder in enumerate(shards):
        generate(folder, ["Collide"], COUNTS, workers=1, shard=(i, 2), **SMALL)
    names = [set(trial_files(folder)) for folder in shards]
    assert not names[0] & names[1] and len(names[0]) == len(names[1]) == 4
    assert names[0] | names[1] == set(trial_files(store))

    merged = tmp_path / "merged"
    assert cli_main(["generate", "--out", str(merged), "--merge", str(shards[0]), "--no-progress"]) == 0
    assert json.loads((merged / "manifest.json").read_text())["status"] == "partial"
    manifest = merge_shards(merged, [shards[1]], progress=False)
    assert manifest["status"] == "complete" and manifest["merged_shards"]["missing"] == []
    ours, theirs = trial_files(store), trial_files(merged)
    assert list(ours) == list(theirs)
    assert all(filecmp.cmp(ours[k], theirs[k], shallow=False) for k in ours)
    assert manifest["trials"] == json.loads((store / "manifest.json").read_text())["trials"]
    for split in SPLITS:
        assert TrialStore(merged).read_metadata(split, "Collide") == TrialStore(store).read_metadata(split, "Collide")

    tampered = trial_files(shards[1])["test/Collide/Collide_test_00001.hdf5"]
    with open(tampered, "r+b") as f:  # flip a byte near the end of the file
        f.seek(-10, os.SEEK_END)
        byte = f.read(1)
        f.seek(-10, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0xFF]))
    conflict = "conflicts with .*Collide_test_00001.hdf5: same trial name, different content"
    with pytest.raises(PhysionDataError, match=conflict):
        merge_shards(merged, [shards[1]], progress=False)


def test_a_second_run_on_a_locked_store_is_refused(store):
    with store_lock(store):
        with pytest.raises(PhysionDataError, match="another generate or merge run holds this store's lock"):
            generate(store, ["Collide"], COUNTS, workers=1, **SMALL)


def test_merge_refuses_shards_of_another_generation(tmp_path):
    generate(tmp_path / "a", ["Collide"], {"test": 2}, workers=1, shard=(0, 2), **SMALL)
    generate(tmp_path / "b", ["Collide"], {"test": 2}, workers=1, shard=(1, 2), **{**SMALL, "seed": 4})
    with pytest.raises(PhysionDataError, match=r"b/manifest.json: belongs to another generation: seed: 3"):
        merge_shards(tmp_path / "merged", [tmp_path / "a", tmp_path / "b"], progress=False)


# ---------------------------------------------------------------------------------------- plugin, previews, CLI


def test_plugin_example_loads_and_generates(tmp_path):
    manifest = generate(tmp_path, [PLUGIN], {"test": 2}, workers=1, **SMALL)
    assert manifest["scenarios"][0]["name"] == "Pendulum"
    assert manifest["summary"]["test"]["Pendulum"]["positives"] == 1
    trial = read_trial(TrialStore(tmp_path).trial_path("test", "Pendulum", "Pendulum_test_00000"))
    assert trial.frames.shape == (FRAMES, RES, RES, 3) and trial.label and trial.first_contact_frame >= OBSERVED_FRAMES


def test_contact_sheet_size_and_pixels(store, tmp_path):
    frames, tile = (0, 20, 40), 64
    out = contact_sheet(store, tmp_path / "sheet.png", trials_per_scenario=2, frames=frames, tile=tile, split="test")
    image = np.asarray(Image.open(out).convert("RGB"))
    rows = 2
    assert image.shape == (GAP + rows * (CAPTION_HEIGHT + tile + GAP), len(frames) * tile + (len(frames) + 1) * GAP, 3)
    first = read_trial(TrialStore(store).trial_path("test", "Collide", "Collide_test_00000"))
    # Second tile of the first row = frame 20 enlarged 2x (nearest); its lower half is clear of the "t=20" mark.
    top, left = GAP + CAPTION_HEIGHT, GAP + tile + GAP
    expected = first.frames[20].repeat(2, axis=0).repeat(2, axis=1)
    np.testing.assert_array_equal(image[top + 32 : top + 64, left : left + 64], expected[32:])
    with pytest.raises(ValueError, match="Collide_test_00000 has 60 frames; cannot show frame 90"):
        contact_sheet(store, tmp_path / "bad.png", frames=(0, 90), split="test")


def test_preview_mp4s_are_enlarged_and_decodable(store, tmp_path):
    paths = write_preview_mp4s(store, tmp_path, trials_per_scenario=2, split="test")
    assert [p.name for p in paths] == ["Collide_test_00000.mp4", "Collide_test_00001.mp4"]
    frames, fps = read_video(paths[0])
    assert frames.shape == (FRAMES, 128, 128, 3) and fps == 30


def generate_argv(out: Path, readout: int, test: int, *extra: str) -> list[str]:
    """``vdt-physion generate`` of 2 training Collide trials (and ``readout``, ``test``) at RES px, FRAMES frames."""
    counts = ["--training", "2", "--readout", str(readout), "--test", str(test)]
    size = ["--resolution", str(RES), "--frames", str(FRAMES)]
    run = ["--workers", "1", "--seed", "3", "--no-progress"]
    return ["generate", "--out", str(out), "--scenario", "collide", *counts, *size, *run, *extra]


def test_cli_generates_with_previews_and_rejects_bad_shards(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = generate_argv(out, 0, 0, "--preview")
    assert cli_main(argv) == 0
    assert sorted(trial_files(out)) == [
        "training/Collide/Collide_training_00000.hdf5",
        "training/Collide/Collide_training_00001.hdf5",
    ]
    sheet = Image.open(out / "preview" / "contact_sheet.png")
    assert sheet.size == (5 * 128 + 6 * GAP, GAP + 2 * (CAPTION_HEIGHT + 128 + GAP))  # 60 frames -> t = 0, 12, .., 48
    assert sorted(p.name for p in (out / "preview").glob("*.mp4")) == [
        "Collide_training_00000.mp4",
        "Collide_training_00001.mp4",
    ]
    with pytest.raises(SystemExit):
        cli_main(["generate", "--out", str(out), "--shard", "2/2"])
    assert "shard 2/2 is invalid" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- strided stores


@pytest.fixture(scope="module")
def strided_store(tmp_path_factory) -> Path:
    """The ``store`` fixture's generation (same seed and settings) storing every 4th frame."""
    root = tmp_path_factory.mktemp("strided")
    generate(root, ["Collide"], COUNTS, workers=1, frame_stride=4, **SMALL)
    return root


def test_strided_store_is_the_unstrided_one_with_every_4th_frame(store, strided_store):
    assert sorted(trial_files(strided_store)) == sorted(trial_files(store))
    for key, path in trial_files(store).items():
        full, kept = read_trial(path), read_trial(strided_store / key)
        assert (kept.frame_stride, kept.num_frames, kept.stored_frames) == (4, FRAMES, FRAMES // 4)
        # labels, every frame's contacts and the first contact come from every simulated frame
        assert (kept.label, kept.first_contact_frame, kept.seed) == (full.label, full.first_contact_frame, full.seed)
        assert np.array_equal(kept.contacts, full.contacts)
        assert np.array_equal(kept.frames, full.frames[::4]) and np.array_equal(
            kept.segmentation, full.segmentation[::4]
        )
        assert np.array_equal(kept.positions, full.positions[::4])
        assert kept.params == full.params
    firsts = [read_header(p).first_contact_frame for p in trial_files(strided_store).values()]
    assert any(f is not None and f % 4 for f in firsts)  # a first contact between two stored frames stays exact
    ours, theirs = (json.loads((root / "manifest.json").read_text()) for root in (store, strided_store))
    assert ours["trials"] == theirs["trials"] and ours["summary"] == theirs["summary"]
    assert (ours["settings"]["frame_stride"], theirs["settings"]["frame_stride"]) == (1, 4)
    metadata = TrialStore(strided_store).read_metadata("test", "Collide")
    assert [(m["num_frames"], m["frame_stride"], m["resolution"]) for m in metadata] == [(FRAMES, 4, [RES, RES])] * 2


def test_strided_generation_is_byte_identical_and_resumes(strided_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(strided_store, root)
    victim = root / "training/Collide/Collide_training_00002.hdf5"
    victim.unlink()
    generate(root, ["Collide"], COUNTS, workers=1, frame_stride=4, **SMALL)
    assert filecmp.cmp(victim, strided_store / "training/Collide/Collide_training_00002.hdf5", shallow=False)
    with pytest.raises(PhysionDataError, match=r"frame_stride: 4 \(store\) vs 2 \(this run\)"):
        generate(root, ["Collide"], COUNTS, workers=1, frame_stride=2, **SMALL)
    with pytest.raises(ValueError, match="frame_stride must be an int in"):
        generate(tmp_path / "other", ["Collide"], COUNTS, workers=1, frame_stride=0, **SMALL)


def test_a_manifest_from_before_strides_resumes_as_stride_1(store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(store, root)
    manifest = json.loads((root / "manifest.json").read_text())
    del manifest["settings"]["frame_stride"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    generate(root, ["Collide"], COUNTS, workers=1, **SMALL)  # nothing to do, and no settings conflict
    with pytest.raises(PhysionDataError, match=r"frame_stride: 1 \(store\) vs 3 \(this run\)"):
        generate(root, ["Collide"], COUNTS, workers=1, frame_stride=3, **SMALL)


def test_cli_frame_stride(strided_store, tmp_path):
    out = tmp_path / "cli"
    argv = generate_argv(out, 2, 2, "--frame-stride", "4")
    assert cli_main(argv) == 0
    assert all(filecmp.cmp(path, strided_store / key, shallow=False) for key, path in trial_files(out).items())
    with pytest.raises(SystemExit, match="--preview needs every frame stored"):
        cli_main([*argv, "--preview"])


def test_a_run_generates_what_its_model_reads():
    from pipelines.config.physion_run import DataConfig
    from pipelines.config.sections import ModelConfig

    model = ModelConfig(resolution=32, frame_offset=4)
    assert DataConfig().generation(model) == (32, 4)  # default: follow the model
    assert DataConfig(render_resolution=64, frame_stride=2).generation(model) == (64, 2)
    with pytest.raises(ValueError, match=r"data.render_resolution \(16\) is below model.resolution \(32\)"):
        DataConfig(render_resolution=16).generation(model)
    with pytest.raises(ValueError, match=r"data.frame_stride \(3\) does not divide model.frame_offset \(4\)"):
        DataConfig(frame_stride=3).generation(model)


def test_cli_settings_are_a_validated_data_section(tmp_path, caplog):
    import argparse
    import logging

    from pipelines.commands import generate as command
    from pipelines.config.physion_run import DataConfig

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    # flags left out keep a run's data defaults; the resolution is a run's default model's, not a fixed 128 px
    data = command.data_settings(parser.parse_args(["--out", str(tmp_path / "a")]))
    run = DataConfig()
    assert (data.counts, data.num_frames, data.seed, data.max_tries) == (
        run.counts,
        run.num_frames,
        run.seed,
        run.max_tries,
    )
    assert data.rendering(command.ModelConfig()) == (command.ModelConfig().resolution, 1)
    # a store alone may leave splits empty, which a run may not
    empty = command.data_settings(parser.parse_args(["--out", "x", "--readout", "0", "--test", "0"]))
    assert empty.counts["readout"] == empty.counts["test"] == 0
    # a bad value is an error naming the data key, and nothing is made
    with caplog.at_level(logging.ERROR):
        assert (
            cli_main(["generate", "--out", str(tmp_path / "b"), "--training", "-1", "--no-progress"]) == 2
        )  # a config error
    message = caplog.records[-1].getMessage()
    assert "vdt-physion generate: invalid config" in message and "counts" in message and ">= 0" in message
    assert not (tmp_path / "b").exists()


def test_trials_simulate_on_one_blas_thread(monkeypatch, tmp_path):
    """Simulation runs with one BLAS / OpenMP thread whatever the process has: with numpy's OpenBLAS on two threads,
    a demo trial's physics diverged from frame 17 on, so a trial's bytes depended on the machine's core count."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from physion.generation import worker
    from physion.generation.plan import TrialJob

    seen = []

    def record_threads(job, settings):
        seen.append({pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()})
        raise RuntimeError("recorded")

    monkeypatch.setattr(worker, "simulate_wanted", record_threads)
    job = TrialJob(split="test", scenario="Collide", spec="Collide", index=0)
    settings = worker.SimulationSettings(resolution=32, num_frames=64, fps=30, base_seed=0, max_tries=1)
    with threadpool_limits(limits=2):
        outside = {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}
        with pytest.raises(RuntimeError, match="recorded"):
            worker.generate_trial(job, settings, str(tmp_path / "trial.hdf5"))
        after = {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}
    assert "openblas" in seen[0] or "mkl" in seen[0], seen  # numpy's BLAS is visible to threadpoolctl
    assert all(n == 1 for n in seen[0].values()), seen
    assert after == outside  # only the simulation is limited: the process's own threads come back
