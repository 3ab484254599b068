"""The gen config schema: typos and inconsistent settings fail at load time, naming the key."""

import pytest

from pipelines.config.loading import ConfigError, load_config
from pipelines.genbench.config import GenBenchConfig

BASE = "name: t\nmodel: {resolution: 32, num_frames: 16, n_given: 8}\n"
DATA = "data: {path: d}\n"


@pytest.mark.parametrize(
    "extra, message",
    [
        ("bench: {tasks: [predict, fly]}\n", "bench.tasks: tasks must be a non-empty list"),
        ("bench: {ssim_window: 8}\n", "bench.ssim_window: ssim_window must be odd"),
        ("bench: {features: {path: i3d.pt, frames: 8}}\n", "bench.features.frames \\(8\\) must equal model.num_frames"),
        ("bench: {n_fakes: 10}\n", "bench.n_fakes: unknown key"),
        ("data: {path: d, group_pattern: 'no_group'}\n", "needs a capturing group"),
        ("data: {path: d, clips: some}\n", "data.clips"),
        ("sampler: {steps: 999}\n", "sampler: cannot keep exactly 999 of 1000 steps"),
        ("pretrain: {residual_prior: blend}\n", "residual_prior: blend is the reference .* prediction is eps"),
        (
            "sampler: {start_from: nearest_given, start_step: 300}\n",
            "nearest_given starts from a given frame, but bench.tasks \\['unconditional'\\] give none",
        ),
    ],
)
def test_bad_configs_name_the_key(tmp_path, extra, message):
    path = tmp_path / "c.yaml"
    path.write_text(BASE + ("" if extra.startswith("data") else DATA) + extra)
    with pytest.raises(ConfigError, match=message):
        load_config(path, GenBenchConfig)


def test_defaults_and_paths(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        BASE + "data: {path: d, train_split: tr, eval_split: ev}\ncheckpoint: m.pt\n"
        "bench: {features: {network: my_net, path: n.pt}}\n"
    )
    cfg = load_config(path, GenBenchConfig, ["bench.n_fake=4"])
    assert cfg.bench.n_fake == 4 and str(cfg.run_dir) == "runs/gen/t" and cfg.bench.features.label == "FD[my_net]"
    assert {k: str(v) for k, v in cfg.required_paths("bench").items()} == {
        "data.eval_split": "d/ev",
        "checkpoint": "m.pt",
        "bench.features.path": "n.pt",
    }
    assert {k: str(v) for k, v in cfg.required_paths("train").items()} == {"data.train_split": "d/tr"}
