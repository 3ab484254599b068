"""The staged pipeline end to end on a tiny generated set: every artifact, skipping, per-stage reruns, resuming
a killed pretraining, and readouts that cannot see test labels."""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pipelines.config.loading import validate_config
from pipelines.config.physion_run import READOUTS, STAGES, PhysionRunConfig
from pipelines.stages.context import RunContext, StageConflictError
from pipelines.stages.runner import run_pipeline, run_stage

ROOT = Path(__file__).resolve().parents[2]


def tiny_config(**updates) -> dict:
    raw = {
        "name": "tiny",
        "data": {
            "scenarios": ["Collide", "Roll"],
            "counts": {"training": 4, "readout": 10, "test": 6},
            "render_resolution": 32,
            "num_frames": 60,
            "workers": 1,
        },
        "model": {"size": "VDT-Nano/2", "resolution": 16, "num_frames": 6, "n_given": 3, "frame_offset": 3},
        "pretrain": {"steps": 6, "batch_size": 4, "checkpoint_every": 3, "preview_every": 3, "log_every": 1},
        "rollout": {"sampler": {"steps": 4}, "chunk_size": 4},
        "extract": {"pixel_resolution": 8, "slots": {"steps": 5, "train_clips": 4, "slot_dim": 8}},
        "readout": {
            "cv_folds": 2,
            "bootstrap": 200,
            "relational": {"epochs": 3, "hidden": 8, "min_steps": 10},
            "readouts": [f"{family}/{kind}" for family, kind in READOUTS],  # the slots too (not in the default)
        },
        "report": {"strips": 1},
    }
    for key, value in updates.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


def context(raw: dict, root: Path) -> RunContext:
    return RunContext(validate_config(raw, PhysionRunConfig), root, progress=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    ctx = context(tiny_config(), tmp_path_factory.mktemp("run") / "tiny")
    ran = run_pipeline(ctx)
    assert all(ran.values()) and list(ran) == list(STAGES)
    return ctx


def test_every_artifact(finished_run):
    ctx, root = finished_run, finished_run.root
    assert (root / "config.yaml").is_file()
    for stage in STAGES:
        manifest = json.loads((root / stage / "manifest.json").read_text())
        assert manifest["key"] == ctx.key(stage) and manifest["finished_at"]
    pre = root / "pretrain" / "all"
    assert (pre / "model.pt").is_file() and list((pre / "tensorboard").glob("events.out.tfevents.*"))
    rows = list(csv.DictReader(open(pre / "loss.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert {"loss_predict", "loss_spatial_temporal"} <= set(rows[0]) and np.isfinite(float(rows[-1]["loss"]))
    assert sorted(p.name for p in (pre / "previews").glob("*.png")) == ["step-0000003.png", "step-0000006.png"]

    # rollout: 45 frames observed every 3rd frame (15), the rest of the 60 predicted (5), pixels (3, 16, 16)
    chunk = torch.load(root / "rollout" / "test" / "Roll" / "chunk-0001.pt", weights_only=True)
    assert chunk["predicted"].shape == (2, 5, 3, 16, 16) and chunk["observed_frames"] == 15
    assert chunk["mse_model"].shape == (2,) and bool((chunk["mse_copy_last"] >= 0).all())
    errors = json.loads((root / "rollout" / "manifest.json").read_text())["pixel_mse"]
    assert set(errors) == {"Collide", "Roll"} and errors["Roll"]["trials"] == 16 and errors["Roll"]["model"] > 0
    # per split (choices read the readout split's): the trial-weighted mean of the splits is the pooled figure
    by_split = json.loads((root / "rollout" / "manifest.json").read_text())["pixel_mse_by_split"]
    assert set(by_split) == {"readout", "test"} and by_split["test"]["Roll"]["trials"] == 6
    for key in ("model", "copy_last"):
        weighted = sum(by_split[s]["Roll"][key] * by_split[s]["Roll"]["trials"] for s in by_split) / 16
        assert weighted == pytest.approx(errors["Roll"][key], rel=1e-5)
    assert by_split["readout"]["Roll"]["model"] != pytest.approx(by_split["test"]["Roll"]["model"], rel=1e-6)
    assert chunk["frame_change_std_model"].shape == (2,) and bool((chunk["frame_change_std_true"] > 0).all())
    changes = json.loads((root / "rollout" / "manifest.json").read_text())["frame_change_std"]
    assert set(changes) == {"Collide", "Roll"}
    assert changes["Roll"]["ratio"] == pytest.approx(changes["Roll"]["model"] / changes["Roll"]["true"])
    with np.load(root / "extract" / "test" / "Collide.npz") as f:
        assert len(f["names"]) == 6 and sorted(f["labels"].tolist()) == [0, 0, 0, 1, 1, 1]
        for variant in ("observed", "simulated", "copy-last", "full"):
            assert f[f"vdt_{variant}"].shape == (6, 4 * 2 * 2 * 64)  # time bins x 2x2 grid x width
            assert f[f"pixels_{variant}"].shape == (6, 4 * 3 * 8 * 8)
            assert f[f"objects_{variant}"].shape == (6, 4 * 18 + 6 + 4 + 8)  # bins x 18, pair summaries, motion
            assert f[f"vdt-objects_{variant}"].shape == (6, (4 * 3 + 2) * 65)  # bins x 3 entities + 2 peaks, x 65
        assert f["slots_observed"].shape == (6, 15, 6, 10) and f["slots_full"].shape == (6, 20, 6, 10)
        assert f["pixcells_simulated"].shape == (6, 20, 16, 14)
        assert f["objects_entities_copy-last"].shape == (6, 20, 2, 10)
        assert f["vdt-objects_entities_full"].shape == (6, 20, 3, 68)
        assert not np.allclose(f["vdt_simulated"], f["vdt_full"])  # the rollout is not the truth
        # copy-last: the observed frames then the 15th repeated, so its object features stop moving after frame 15
        frozen = f["objects_entities_copy-last"][:, 15:]
        assert (frozen == f["objects_entities_copy-last"][:, 14:15]).all()
        np.testing.assert_array_equal(f["objects_entities_copy-last"][:, :15], f["objects_entities_full"][:, :15])

    results = json.loads((root / "readout" / "results.json").read_text())["scenarios"]
    assert set(results) == {"Collide", "Roll"}
    readouts = results["Collide"]["readouts"]
    assert len(readouts) == 32  # 4 linear + 4 relational families x (observed, simulated, copy-last, full)
    for r in readouts.values():
        assert 0 <= r["low"] <= r["accuracy"] <= r["high"] <= 1 and r["n"] == 6
    assert readouts["vdt/linear/full"]["fit"]["n_train"] == 10
    assert readouts["objects/relational/full"]["fit"]["n_val"] == 4  # >= 30% of the 10 readout trials
    predictions = json.loads((root / "readout" / "predictions" / "Collide.json").read_text())
    for key in (
        "objects/linear/full",
        "vdt-objects/linear/copy-last",
        "vdt-objects/relational/copy-last",
        "objects/relational/simulated",
        "vdt/linear/observed",
    ):
        assert len(predictions[key]["pred"]) == len(predictions[key]["proba"]) == 6
    comparison = results["Collide"]["comparisons"]["objects/linear"]["simulated-copy-last"]
    assert comparison["n"] == 6 and comparison["low"] <= comparison["difference"] <= comparison["high"]

    report = root / "report"
    text = (report / "report.md").read_text()
    assert "| Collide |" in text and "Published reference figures" in text and "74.7%" in text
    assert "## Rollout error" in text and "copy last frame" in text and "ratio, readout split" in text
    assert text.splitlines()[2].startswith(
        "On the 12 pooled test trials, with the vdt-objects/linear readout, the rollout adds"
    )
    assert "over copying the last observed frame" in text.splitlines()[2] and "## Does the rollout help?" in text
    report_results = json.loads((report / "results.json").read_text())
    assert set(report_results["rollout"]["pixel_mse"]) == {"Collide", "Roll"}
    rollout_manifest = json.loads((root / "rollout" / "manifest.json").read_text())
    assert report_results["rollout"]["pixel_mse_by_split"] == rollout_manifest["pixel_mse_by_split"]
    pooled = report_results["comparisons"]["pooled"]["vdt-objects/linear"]["simulated-observed"]
    assert pooled["n"] == 12 and pooled["low"] <= pooled["difference"] <= pooled["high"]
    for png in [report / "accuracy.png", report / "strips" / "Collide.png", report / "strips" / "Roll.png"]:
        assert Image.open(png).size[0] > 100
    assert json.loads((report / "results.json").read_text())["readout"]["scenarios"]["Roll"]["test_trials"] == 6


def _mtimes(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and p.name != "config.yaml"}


def test_rerun_skips_every_stage(finished_run):
    before = _mtimes(finished_run.root)
    ran = run_pipeline(context(tiny_config(), finished_run.root))
    assert not any(ran.values())
    assert _mtimes(finished_run.root) == before


def test_deleting_one_stage_reruns_only_that_stage(finished_run, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(finished_run.root, root)
    old = torch.load(root / "rollout" / "readout" / "Collide" / "chunk-0000.pt", weights_only=True)
    shutil.rmtree(root / "rollout")
    before = _mtimes(root)
    ran = run_pipeline(context(tiny_config(), root))
    assert ran == {s: s == "rollout" for s in STAGES}
    assert _mtimes(root).items() >= before.items()  # nothing else was rewritten
    new = torch.load(root / "rollout" / "readout" / "Collide" / "chunk-0000.pt", weights_only=True)
    assert new["names"] == old["names"] and torch.equal(new["predicted"], old["predicted"])  # seeded


def test_a_changed_config_never_mixes_with_old_work(finished_run, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(finished_run.root, root)
    changed = context(tiny_config(readout={"cv_folds": 3}), root)
    ran = run_pipeline(changed, "readout", restart=True)  # --from readout: discard and redo readout, report
    assert ran == {"readout": True, "report": True}
    shutil.rmtree(root / "readout" / "predictions")
    (root / "readout" / "manifest.json").unlink()
    with pytest.raises(StageConflictError, match="different config"):
        run_stage(context(tiny_config(readout={"cv_folds": 4}), root), "readout")


def test_readout_never_sees_test_labels(finished_run, tmp_path):
    """Flip every test label: every prediction (and every choice made) stays identical, only the scores change."""
    root = tmp_path / "copy"
    shutil.copytree(finished_run.root, root)
    for npz in (root / "extract" / "test").glob("*.npz"):
        with np.load(npz) as f:
            arrays = dict(f)
        arrays["labels"] = 1 - arrays["labels"]
        np.savez(npz, **arrays)
    shutil.rmtree(root / "readout")
    run_stage(context(tiny_config(), root), "readout")
    for scenario in ("Collide", "Roll"):
        original = json.loads((finished_run.root / "readout" / "predictions" / f"{scenario}.json").read_text())
        flipped = json.loads((root / "readout" / "predictions" / f"{scenario}.json").read_text())
        assert original == flipped
    a = json.loads((finished_run.root / "readout" / "results.json").read_text())["scenarios"]["Roll"]["readouts"]
    b = json.loads((root / "readout" / "results.json").read_text())["scenarios"]["Roll"]["readouts"]
    for key in a:
        assert a[key]["fit"] == b[key]["fit"]
        assert a[key]["accuracy"] == pytest.approx(1 - b[key]["accuracy"])


def test_killed_pretraining_resumes_from_its_last_checkpoint(finished_run, tmp_path, caplog):
    """Kill a pretraining process mid-way (SIGKILL), rerun: it continues from the newest checkpoint, and the
    loss log holds every step exactly once."""
    raw = tiny_config(
        data={"source": "store", "store": str(finished_run.store)},
        pretrain={"steps": 80, "checkpoint_every": 5, "preview_every": 1000},
    )
    root = tmp_path / "killed"
    ctx = context(raw, root)
    run_pipeline(ctx, last="generate")
    config_path = tmp_path / "killed.yaml"
    config_path.write_text(json.dumps(raw))  # JSON is YAML
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "pretrain", str(config_path), "--out", str(root), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpt_dir = root / "pretrain" / "all" / "checkpoints"
    deadline = time.time() + 120
    while not list(ckpt_dir.glob("step-0000010.pt")):
        assert proc.poll() is None, "pretraining ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (root / "pretrain" / "all" / "model.pt").exists()
    kept = max(int(p.stem.split("-")[1]) for p in ckpt_dir.glob("step-*.pt"))
    assert 10 <= kept < 80

    with caplog.at_level(logging.INFO):
        assert run_stage(ctx, "pretrain")
    assert f"at step {kept} of 80" in caplog.text
    steps = [int(r["step"]) for r in csv.DictReader(open(root / "pretrain" / "all" / "loss.csv"))]
    assert steps == list(range(1, 81))
    assert torch.load(root / "pretrain" / "all" / "model.pt", weights_only=True)["step"] == 80


def test_evaluate_a_new_scenario_without_retraining(finished_run, tmp_path):
    from pipelines.cli import main

    root = tmp_path / "copy"
    shutil.copytree(finished_run.root, root)
    pretrained = _mtimes(root / "pretrain")
    slots = (root / "extract" / "slots-all.pt").stat().st_mtime_ns
    code = main(
        [
            "evaluate",
            "--run",
            str(root),
            "--scenario",
            str(ROOT / "examples" / "my_scenario.py") + ":Pendulum",
            "--readout",
            "10",
            "--test",
            "6",
            "--no-progress",
        ]
    )
    assert code == 0
    out = root / "evaluate" / "Pendulum"
    from pipelines.config.loading import load_config
    from pipelines.config.physion_run import PhysionRunConfig

    # the config evaluate wrote went through validation: it loads as any other (training: 0 is allowed)
    assert load_config(out / "config.yaml", PhysionRunConfig).data.counts["training"] == 0
    results = json.loads((out / "readout" / "results.json").read_text())["scenarios"]
    assert list(results) == ["Pendulum"] and results["Pendulum"]["test_trials"] == 6
    assert "Pendulum" in (out / "report" / "report.md").read_text()
    assert not (out / "pretrain").exists() and not list(out.glob("extract/slots-*.pt"))
    assert _mtimes(root / "pretrain") == pretrained  # the run's VDT was used, not retrained
    assert (root / "extract" / "slots-all.pt").stat().st_mtime_ns == slots
    assert not list((out / "generate" / "store").glob("training/*/*.hdf5"))  # no training trials were made


def two_processes(stage: str, config_path: Path, root: Path) -> subprocess.CompletedProcess:
    """``vdt-physion STAGE CONFIG --out ROOT`` under torchrun with 2 processes (one CPU thread each)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [
        str(torchrun),
        "--nproc_per_node",
        "2",
        "-m",
        "pipelines.cli",
        stage,
        str(config_path),
        "--out",
        str(root),
    ]
    return subprocess.run([*command, "--no-progress"], env=env, capture_output=True, text=True, timeout=300)


def test_two_processes_split_the_rollout_and_match_one_process(finished_run, tmp_path):
    """Under a 2-process launcher (torchrun; `accelerate launch` sets the same variables) the rollout chunks are
    shared between the processes, and every chunk equals the one-process result (seeds are per chunk)."""
    root = tmp_path / "copy"
    shutil.copytree(finished_run.root, root)
    shutil.rmtree(root / "rollout")
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(json.dumps(tiny_config()))
    done = two_processes("rollout", config_path, root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("for this process") == 2 and "10 chunks in all, 5 for this process" in done.stderr
    for chunk in (finished_run.root / "rollout").rglob("chunk-*.pt"):
        one = torch.load(chunk, weights_only=True)
        two = torch.load(root / chunk.relative_to(finished_run.root), weights_only=True)
        assert one["names"] == two["names"] and torch.equal(one["predicted"], two["predicted"])
    assert context(tiny_config(), root).is_done("rollout")


def test_rollout_context_sets_the_given_frames_of_every_window(finished_run, tmp_path, monkeypatch):
    import pipelines.stages.rollout as rollout_stage

    given = []

    def recording_rollout(*args, n_given, **kwargs):
        given.append(n_given)
        return real_rollout(*args, n_given=n_given, **kwargs)

    real_rollout = rollout_stage.vdt_rollout
    monkeypatch.setattr(rollout_stage, "vdt_rollout", recording_rollout)
    root = tmp_path / "copy"
    shutil.copytree(finished_run.root, root)
    run_pipeline(context(tiny_config(rollout={"context": 2}), root), "rollout", "rollout", restart=True)
    assert given == [2] * 10  # every chunk (the model's n_given is 3)
    old = torch.load(finished_run.root / "rollout" / "readout" / "Collide" / "chunk-0000.pt", weights_only=True)
    new = torch.load(root / "rollout" / "readout" / "Collide" / "chunk-0000.pt", weights_only=True)
    assert new["predicted"].shape == old["predicted"].shape and not torch.equal(new["predicted"], old["predicted"])


def test_two_process_pretraining_logs_once_and_finishes(finished_run, tmp_path):
    raw = tiny_config(data={"source": "store", "store": str(finished_run.store)})
    root = tmp_path / "ddp"
    run_pipeline(context(raw, root), last="generate")
    config_path = tmp_path / "ddp.yaml"
    config_path.write_text(json.dumps(raw))
    done = two_processes("pretrain", config_path, root)
    assert done.returncode == 0, done.stderr[-2000:]
    out = root / "pretrain" / "all"
    assert [int(r["step"]) for r in csv.DictReader(open(out / "loss.csv"))] == [1, 2, 3, 4, 5, 6]  # main process only
    assert torch.load(out / "model.pt", weights_only=True)["step"] == 6
    assert context(raw, root).is_done("pretrain")


def test_frame_change_std_tells_speckle_from_a_still_scene():
    from pipelines.stages.rollout import frame_change_std

    still = torch.full((2, 5, 3, 8, 8), 0.3)
    torch.testing.assert_close(frame_change_std(still), torch.zeros(2))
    # fresh noise of std s in every frame: differences of two independent draws have std s * sqrt(2)
    speckle = 0.1 * torch.randn(2, 200, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(frame_change_std(speckle), torch.full((2,), 0.1 * 2**0.5), rtol=0.02, atol=0)
