"""Learning is real: on a small generated Collide set, a readout of the VDT's features of the *full* variant
(observed + true future) answers "do they touch?" with a 95% interval above chance."""

from __future__ import annotations

import json

from pipelines.config.loading import validate_config
from pipelines.config.physion_run import PhysionRunConfig
from pipelines.stages.context import RunContext
from pipelines.stages.runner import run_pipeline

CONFIG = {
    "name": "learning",
    "data": {
        "scenarios": ["Collide"],
        "counts": {"training": 4, "readout": 60, "test": 60},
        "render_resolution": 32,
        "num_frames": 90,
        "workers": 2,
    },
    "model": {
        "size": "VDT-Ti/4",
        "overrides": {"depth": 2},
        "resolution": 32,
        "num_frames": 6,
        "n_given": 3,
        "frame_offset": 3,
    },
    "pretrain": {"steps": 10, "batch_size": 4, "checkpoint_every": 10, "preview_every": 10},
    "rollout": {"sampler": {"steps": 2}},
    "extract": {"pool_grid": 4, "pixel_resolution": 8, "slots": {"steps": 5, "train_clips": 4, "slot_dim": 8}},
    "readout": {"bootstrap": 1000, "relational": {"epochs": 2, "hidden": 8}},
    "report": {"strips": 0},
}


def test_full_variant_readout_beats_chance(tmp_path):
    ctx = RunContext(validate_config(CONFIG, PhysionRunConfig), tmp_path / "run", progress=False)
    run_pipeline(ctx, last="readout")
    result = json.loads((tmp_path / "run" / "readout" / "results.json").read_text())["scenarios"]["Collide"]
    assert result["test_trials"] == 60 and result["test_positive"] == 30
    full = result["readouts"]["vdt/linear/full"]
    assert full["low"] > 0.5, full
