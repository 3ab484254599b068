"""v15-eval, v15-export and v15-readout on a tiny finished run (the staged pipeline's own test config)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

from physion.datasets import TrialDataset
from physion.storage.hdf5_header import read_header
from pipelines.cli import describe_error
from pipelines.commands import v15_eval, v15_export, v15_readout
from pipelines.physion_v15.adapter import VDTFeatureExtractor
from pipelines.physion_v15.interchange import read_harness_folder
from pipelines.physion_v15.run import WindowDataset, contact_frame_label
from pipelines.physion_v15.windows import ocd_indices
from pipelines.stages.runner import run_pipeline

sys.path.insert(0, str(Path(__file__).parent))
from test_physion_run import context, tiny_config  # noqa: E402

COMMANDS = {"v15-eval": v15_eval, "v15-export": v15_export, "v15-readout": v15_readout}


def main(argv: list[str]) -> int:
    """The CLI's handling of one command (parsing only that command, so unrelated command modules stay out)."""
    import argparse

    module = COMMANDS[argv[0]]
    parser = argparse.ArgumentParser(prog=argv[0])
    module.add_arguments(parser)
    try:
        return module.run(parser.parse_args(argv[1:]))
    except Exception as err:
        described = describe_error(err)
        if described is None:
            raise
        print(f"vdt-physion: {described[0]}", file=sys.stderr)
        return described[1]


@pytest.fixture(scope="module")
def v15_run(tmp_path_factory):
    raw = tiny_config(v15={"cv_folds": 2, "batch_size": 4})
    root = tmp_path_factory.mktemp("v15")
    ctx = context(raw, root / "run")
    run_pipeline(ctx)
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    return ctx, config


def test_v15_eval_writes_the_harness_files_with_adapter_features(v15_run, capsys):
    ctx, config = v15_run
    assert main(["v15-eval", str(config), "--out", str(ctx.root), "--task", "ocp", "--no-progress"]) == 0
    assert "v1.5 all-scenario logistic regression: mean over scenarios" in capsys.readouterr().out
    splits = read_harness_folder(ctx.root / "v15" / "ocp")
    train = splits["train"]
    assert set(train.scenarios) == {"collision", "roll"} and len(train.filenames) == 20
    # frame gap 30 (frame offset 3), at least max(6, 450 // 30 + 1) = 16 frames; VDT-Nano/2 at 16 px: 4 cells x 64
    assert train.features.shape == (20, 16, 256)
    # row 0: the first Collide readout trial; recompute its features from the frames the harness would show
    data = TrialDataset(ctx.store, split="readout", scenarios=["Collide"], num_frames=1, frame_offset=3, resolution=16)
    entry = data.entries[0]
    assert train.filenames[0] == entry.name and train.labels[0] == int(entry.label)
    ex = VDTFeatureExtractor(ctx.model_path("Collide"), ctx.config)
    frames = data._load(entry, np.array([0] * 10 + [0, 3, 6, 9, 12, 15]))  # collision: up to 15, padded in front
    expect = ex.frame_features(frames[None])[0].numpy()
    assert np.allclose(train.features[0], expect, atol=1e-5)
    # a second eval with other v15 settings refuses the folder instead of mixing features
    other = config.parent / "other.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["v15"]["pool_grid"] = 1
    other.write_text(yaml.safe_dump(raw))
    assert main(["v15-eval", str(other), "--out", str(ctx.root), "--task", "ocp", "--no-progress"]) == 2
    assert "holds v1.5 ocp features of another model or config" in capsys.readouterr().err
    results = json.loads((ctx.root / "v15" / "ocp" / "vdt_physion_readout.json").read_text())
    assert results["sources"]["train_split"] == "readout" and results["sources"]["store"] == str(ctx.store)
    per = results["all_scenarios"]["scenarios"]
    assert results["all_scenarios"]["mean_scenario_accuracy"] == pytest.approx(
        np.mean([v["accuracy"] for v in per.values()])
    )


def test_ocd_windows_follow_the_contact_frame(v15_run):
    ctx, _ = v15_run
    data = WindowDataset(ctx.store, "test", "Roll", "ocd", 16, 30, 6, frame_offset=3)
    item = data[0]
    header = read_header(data.entries[0].path)
    label = contact_frame_label(header)
    assert item["frame_label"] == label
    if header.label:
        assert label == header.first_contact_frame
    else:
        assert label == header.num_frames // 2  # the harness's stand-in for a trial without contact
    # the store keeps every 3rd frame: the harness's frames rounded down to stored ones
    harness = ocd_indices(label, header.num_frames, 30, 6)
    assert item["frame_indices"].tolist() == np.minimum(harness // 3 * 3, (header.num_frames - 1) // 3 * 3).tolist()
    assert item["frames"].shape == (len(harness), 3, 16, 16)


def test_v15_export_and_readout_of_extracted_features(v15_run, capsys):
    ctx, config = v15_run
    assert main(["v15-export", str(config), "--out", str(ctx.root), "--array", "vdt_observed"]) == 0
    folder = ctx.root / "v15" / "export" / "vdt_observed"
    splits = read_harness_folder(folder)
    with np.load(ctx.root / "extract" / "test" / "Roll.npz") as f:
        roll, names, labels = f["vdt_observed"], [str(n) for n in f["names"]], f["labels"]
    test = splits["test"]
    rows = test.scenarios["roll"]
    assert [test.filenames[i] for i in rows] == names
    assert np.array_equal(test.features[rows, 0], roll.astype(np.float32))
    assert test.labels[rows].tolist() == labels.tolist()
    with h5py.File(folder / "test_features.hdf5", "r") as f:
        assert f["features"].shape == (12, 1, roll.shape[1])
    assert main(["v15-readout", str(folder), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "physopt per-scenario logistic regression" in out and "v1.5 all-scenario" in out
    results = json.loads((folder / "vdt_physion_readout.json").read_text())
    assert set(results["per_scenario"]["scenarios"]) == {"collision", "roll"}
    assert len(results["all_scenarios"]["predictions"]["pred"]) == 12


def test_export_errors_name_the_file(v15_run, capsys):
    ctx, config = v15_run
    assert main(["v15-export", str(config), "--out", str(ctx.root), "--array", "nope_observed"]) == 2
    err = capsys.readouterr().err
    assert "Collide.npz" in err and "no array 'nope_observed'" in err


def test_eval_needs_a_pretrained_model(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config()))
    assert main(["v15-eval", str(config), "--out", str(tmp_path / "empty")]) == 2
    assert "pretrain stage is not done" in capsys.readouterr().err
    torch.manual_seed(0)


def test_report_states_the_data_of_every_stage(v15_run):
    ctx, _ = v15_run
    report = (ctx.root / "report" / "report.md").read_text()
    assert "One store for every stage." in report
    store = ctx.root / "generate" / "store"
    assert f"| generate | `{store}` (generated here with pybullet) | training, readout, test |" in report
    assert f"| pretrain | `{store}` (generated here with pybullet) (all: 8 trials) | training |" in report
    stages = json.loads((ctx.root / "report" / "results.json").read_text())["data_by_stage"]
    assert {d["store"] for d in stages.values()} == {str(store)}
