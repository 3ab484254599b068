"""Run configs: the shipped YAML files validate, mistakes are errors that name the key, missing local weights
fail before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.config.loading import ConfigError, load_config, preflight, validate_config
from pipelines.config.physion_run import PhysionRunConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize(
    "name",
    [
        "quickstart.yaml",
        "physion_collide_paper.yaml",
        "physion_all.yaml",
        "physion_v15.yaml",
        "cpu_all.yaml",
        "release/vdt_ti4_physion32.yaml",
        "release/vdt_ti4_physion32_continued.yaml",
    ],
)
def test_shipped_configs_validate(name):
    config = load_config(CONFIGS / name, PhysionRunConfig)
    assert config.pretraining_groups(["Collide", "Drop"])  # every protocol yields at least one model


def test_paper_config_is_the_papers_setting():
    c = load_config(CONFIGS / "physion_collide_paper.yaml", PhysionRunConfig)
    assert (c.model.size, c.model.resolution, c.model.num_frames, c.model.n_given, c.model.frame_offset) == (
        "VDT-L/2",
        128,
        12,
        8,
        3,
    )
    assert c.latent.kind == "sd_vae" and c.protocol == "only" and c.data.scenarios == ["Collide"]
    # the paper's recipe, not ours (physion_all.yaml takes ours): eps, 500 ancestral steps
    assert c.pretrain.prediction == "eps" and (c.rollout.sampler.method, c.rollout.sampler.steps) == ("ddpm", 500)


@pytest.mark.parametrize("name", ["physion_all.yaml", "physion_v15.yaml", "quickstart.yaml", "cpu_all.yaml"])
def test_our_configs_take_the_released_recipe(name):
    # docs/design.md §2: the target and mask mixture benchmarks/rollout_quality.py chose, as the shipped model has
    ours = load_config(CONFIGS / name, PhysionRunConfig).pretrain
    release = load_config(CONFIGS / "release/vdt_ti4_physion32.yaml", PhysionRunConfig).pretrain
    assert (ours.prediction, ours.mask_weights, ours.schedule) == (
        release.prediction,
        release.mask_weights,
        release.schedule,
    )


@pytest.mark.parametrize("name", ["physion_all.yaml", "physion_v15.yaml", "quickstart.yaml", "cpu_all.yaml"])
def test_inference_precision_follows_the_device(name):
    # vdt.precision: bf16 only where native; emulated bf16 made the quickstart's rollout 4.5x slower (design.md §6)
    c = load_config(CONFIGS / name, PhysionRunConfig)
    assert (c.rollout.sampler.mixed_precision, c.extract.mixed_precision) == ("auto", "auto")


@pytest.mark.parametrize(
    "raw, key, words",
    [
        ({"pretrain": {"stepz": 3}}, "pretrain.stepz", "unknown key"),
        ({"pretrain": {"lr": "fast"}}, "pretrain.lr", "valid number"),
        ({"model": {"size": "VDT-XXL/2"}}, "model.size", "unknown VDT size"),
        ({"model": {"n_given": 8, "num_frames": 8}}, "model", "must be smaller"),
        ({"protocol": "some"}, "protocol", "only"),
        ({"data": {"counts": {"training": 3}}}, "data.counts", "exactly the splits"),
        ({"latent": {"kind": "sd_vae"}}, "latent", "latent.path is required"),
        ({"model": {"resolution": 34}}, "(top level)", "not divisible by patch size"),
        ({"pretrain": {"mask_weights": {"predict": 1, "teleport": 1}}}, "pretrain.mask_weights", "teleport"),
        ({"rollout": {"sampler": {"steps": 333}}}, "(top level)", "rollout.sampler"),
        ({"rollout": {"context": 0}}, "rollout.context", "greater than or equal to 1"),
        ({"rollout": {"context": 8}, "model": {"num_frames": 8}}, "(top level)", "below model.num_frames (8)"),
        ({"rollout": {"context": 7}, "model": {"num_frames": 16, "frame_offset": 8}}, "(top level)", "the 6 observed"),
        (
            {"readout": {"readouts": ["objects/linear", "slots/linear"]}},
            "readout.readouts",
            "unknown: ['slots/linear']",
        ),
        ({"readout": {"readouts": []}}, "readout.readouts", "distinct readouts"),
        ({"pretrain": {"image_steps": -1}}, "pretrain.image_steps", "greater than or equal to 0"),
        (
            {"pretrain": {"image_steps": 10}, "model": {"init_checkpoint": "m.pt"}},
            "(top level)",
            "does not go with model.init_checkpoint",
        ),
    ],
)
def test_invalid_configs_name_the_key(raw, key, words):
    with pytest.raises(ConfigError) as err:
        validate_config(raw, PhysionRunConfig, source="my.yaml")
    text = str(err.value)
    assert text.startswith("my.yaml: invalid config")
    assert f"  {key}:" in text and words in text


def test_overrides_are_typed_and_validated(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\npretrain: {steps: 10}\n")
    c = load_config(path, PhysionRunConfig, ["pretrain.steps=25", "model.overrides={depth: 2}"])
    assert c.pretrain.steps == 25 and c.model.architecture()["depth"] == 2
    with pytest.raises(ConfigError, match="pretrain.steps"):
        load_config(path, PhysionRunConfig, ["pretrain.steps=-1"])


def test_missing_weights_fail_before_any_work(tmp_path, caplog):
    config = load_config(CONFIGS / "physion_collide_paper.yaml", PhysionRunConfig)
    with pytest.raises(ConfigError, match="latent.path: .* does not exist"):
        preflight(config)
    path = tmp_path / "c.yaml"
    path.write_text(f"name: x\nmodel: {{init_checkpoint: {tmp_path / 'nope.pt'}}}\n")
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "model.init_checkpoint" in caplog.text and "nope.pt does not exist" in caplog.text
    assert not out.exists()  # nothing was started


def test_protocol_groups():
    names = ["Collide", "Drop", "Roll"]
    only = validate_config({"protocol": "only"}, PhysionRunConfig)
    assert only.pretraining_groups(names) == {"Collide": ["Collide"], "Drop": ["Drop"], "Roll": ["Roll"]}
    abo = validate_config({"protocol": "all-but-one"}, PhysionRunConfig)
    assert abo.pretraining_groups(names)["all-but-Drop"] == ["Collide", "Roll"]
    assert abo.group_of("Drop") == "all-but-Drop"
    assert validate_config({}, PhysionRunConfig).group_of("Roll") == "all"


def test_default_readouts_leave_the_slots_out():
    """The slots bind no object (docs/design.md §4): a run fits and extracts them only when its readouts ask."""
    default = validate_config({}, PhysionRunConfig).readout
    assert ("slots", "relational") not in default.pairs and ("objects", "linear") in default.pairs
    assert len(default.pairs) == 7
    chosen = validate_config({"readout": {"readouts": ["slots/relational", "objects/linear"]}}, PhysionRunConfig)
    assert chosen.readout.pairs == [("objects", "linear"), ("slots", "relational")]  # READOUTS' order


def test_the_shipped_model_was_made_by_the_release_configs():
    # make release-model's last step writes models/vdt_ti4_physion32.pt: its provenance is that config, validated
    # and dumped; a config changed without remaking the file (or the reverse) fails here
    import torch

    from pipelines.config.loading import dump_config

    shipped = torch.load(CONFIGS.parent / "models" / "vdt_ti4_physion32.pt", map_location="cpu", weights_only=True)
    last = "configs/release/vdt_ti4_physion32_continued.yaml"
    assert shipped["provenance"]["command"] == f"vdt-physion release-model {last}"
    assert shipped["provenance"]["config"] == dump_config(load_config(CONFIGS.parent / last, PhysionRunConfig))
