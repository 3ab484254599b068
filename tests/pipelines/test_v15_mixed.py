"""Mixed runs: pretrain on generated stimuli, read out on another store (as imported real Physion would be),
in one config; the report says which data every stage used."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.cli import describe_error
from pipelines.commands import run as run_command
from pipelines.config.loading import ConfigError, validate_config
from pipelines.config.physion_run import PhysionRunConfig

sys.path.insert(0, str(Path(__file__).parent))
from test_physion_run import tiny_config  # noqa: E402

SCENARIOS = ["Collide", "Roll"]


def _run(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    run_command.add_arguments(parser)
    try:
        return run_command.run(parser.parse_args(argv)), ""
    except Exception as err:
        described = describe_error(err)
        if described is None:
            raise
        return described[1], described[0]


def mixed_config(store: Path) -> dict:
    raw = tiny_config()
    raw["data"] = {"source": "store", "store": str(store), "scenarios": SCENARIOS}
    raw["pretrain_data"] = {
        "scenarios": SCENARIOS,
        "counts": {"training": 4, "readout": 1, "test": 1},
        "render_resolution": 32,
        "num_frames": 60,
        "workers": 1,
        "seed": 7,
    }
    return raw


@pytest.fixture(scope="module")
def readout_store(tmp_path_factory):
    """A store with readout and test trials only, standing in for an imported real one."""
    from physion.generation.generate_store import generate

    store = tmp_path_factory.mktemp("real") / "store"
    generate(
        store,
        scenarios=SCENARIOS,
        counts={"training": 0, "readout": 10, "test": 6},
        resolution=32,
        num_frames=60,
        workers=1,
        seed=11,
        progress=False,
        frame_stride=3,
    )
    return store


@pytest.fixture(scope="module")
def mixed_run(readout_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    config = root / "mixed.yaml"
    config.write_text(yaml.safe_dump(mixed_config(readout_store)))
    code, message = _run([str(config), "--out", str(root / "run"), "--no-progress"])
    assert code == 0, message
    return root / "run", config, readout_store


def test_mixed_run_pretrains_on_generated_and_reads_out_on_the_store(mixed_run):
    run, _, store = mixed_run
    (pre,) = sorted(run.glob("pretraining-*"))
    assert (pre / "pretrain" / "all" / "model.pt").is_file()
    assert (pre / "extract" / "slots-all.pt").is_file()
    assert sorted(p.name for p in (pre / "generate" / "store").iterdir() if p.is_dir()) == ["training"]
    assert not (run / "pretrain").exists()  # the main run borrows the models
    assert not (store / "training").exists()
    results = json.loads((run / "report" / "results.json").read_text())
    stages = results["data_by_stage"]
    assert stages["pretrain"]["source"] == "generate" and stages["pretrain"]["run"] == str(pre)
    assert stages["pretrain"]["store"] == str(pre / "generate" / "store")
    assert stages["pretrain"]["training_trials"] == {"all": 8}
    assert stages["slots"]["store"] == stages["pretrain"]["store"]
    for stage in ("generate", "rollout", "extract", "readout"):
        assert stages[stage]["store"] == str(store) and stages[stage]["source"] == "store"
    assert (stages["readout"]["fit"], stages["readout"]["score"]) == ("readout", "test")
    report = (run / "report" / "report.md").read_text()
    assert "A **mixed run**" in report
    assert f"| pretrain | `{pre / 'generate' / 'store'}` (generated here with pybullet)" in report
    assert f"| readout | `{store}` (an existing store) | fit readout, score test |" in report
    assert results["readout"]["scenarios"]["Collide"]["test_trials"] == 6


def test_rerun_skips_and_a_changed_pretraining_is_not_mixed_in(mixed_run, caplog):
    run, config, _ = mixed_run
    before = (run / "report" / "report.md").stat().st_mtime
    assert _run([str(config), "--out", str(run), "--no-progress"])[0] == 0
    assert (run / "report" / "report.md").stat().st_mtime == before
    code, message = _run([str(config), "--out", str(run), "--no-progress", "--set", "pretrain_data.seed=8"])
    assert code == 2 and "holds work from a different config" in message
    assert len(list(run.glob("pretraining-*"))) == 2  # the new pretraining has its own folder


def test_mixed_config_errors(readout_store):
    raw = mixed_config(readout_store)
    raw["protocol"] = "only"
    raw["pretrain_data"]["scenarios"] = ["Collide"]
    with pytest.raises(ConfigError, match=r"readout scenarios \['Roll'\] are not in pretrain_data.scenarios"):
        validate_config(raw, PhysionRunConfig, source="mixed.yaml")
    reverse = tiny_config()
    reverse["pretrain_data"] = {"source": "store", "store": str(readout_store), "scenarios": SCENARIOS}
    with pytest.raises(ConfigError, match="set data.counts.training to 0"):
        validate_config(reverse, PhysionRunConfig, source="mixed.yaml")
    reverse["data"]["counts"] = {"training": 0, "readout": 10, "test": 6}
    reverse["pretrain_data"]["counts"] = {"training": 0, "readout": 1, "test": 1}
    with pytest.raises(ConfigError, match="pretrain_data.counts.training must be >= 1"):
        validate_config(reverse, PhysionRunConfig, source="mixed.yaml")
    reverse["pretrain_data"]["counts"]["training"] = 10
    c = validate_config(reverse, PhysionRunConfig, source="mixed.yaml")
    sub = c.pretraining_config()
    assert sub.data.source == "store" and sub.pretrain_data is None and sub.name == "tiny-pretraining"
    assert "pretrain_data.store" in c.required_paths()
