"""gen-train + gen-bench end to end on the built-in dataset, with a small TorchScript network standing in for I3D
(the FVD code path), and the checks that stop a benchmark before it generates anything."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import physion.generation.generate_store
from pipelines.cli import main
from pipelines.config.loading import load_config
from pipelines.genbench.builtin import MARKER, ensure_physion_demo
from pipelines.genbench.config import FeatureNetConfig, GenBenchConfig
from pipelines.genbench.feature_net import FeatureNet, to_network_input
from pipelines.genbench.report import markdown

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "gen"
# TorchScript is deprecated in torch, yet it is the format of the published I3D weights that FVD uses
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


class FirstFrameNet(torch.nn.Module):
    """(B, 3, T, S, S) -> (B, 12): channel means of the four quadrants of frame 0. Conditional tasks give frame 0,
    so their generated clips have exactly the real clips' features: their distance must be 0."""

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        if not return_features:
            return x.mean()  # the wrong shape: the config must pass return_features
        return F.adaptive_avg_pool2d(x[:, :, 0], 2).flatten(1)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    return ensure_physion_demo(tmp_path_factory.mktemp("demo") / "data", progress=False)[0].parents[2]


@pytest.fixture
def feature_net(tmp_path):
    path = tmp_path / "i3d_standin.pt"
    torch.jit.script(FirstFrameNet()).save(str(path))
    return path


def overrides(demo_root: Path, run: Path, net: Path) -> list[str]:
    """The demo config at test size: 8-frame clips of 16 px, 2 training steps, 6 clips per task."""
    return [
        f"data.path={demo_root}",
        f"out={run}",
        "model.overrides={patch_size: 4}",
        "model.num_frames=8",
        "model.n_given=4",
        "pretrain.steps=2",
        "pretrain.batch_size=2",
        "pretrain.checkpoint_every=1",
        "pretrain.preview_every=1",
        "sampler.steps=3",
        "sampler.batch_size=4",
        "bench.n_fake=6",
        "bench.n_real=6",
        "bench.grid_clips=2",
        f"bench.features={{network: i3d, path: {net}, resize: 32, frames: 8, call_kwargs: {{return_features: true}}}}",
    ]


def with_sets(values: list[str]) -> list[str]:
    return [arg for v in values for arg in ("--set", v)]


def test_builtin_dataset_is_made_once(demo_root, monkeypatch):
    marker = json.loads((demo_root / MARKER).read_text())
    assert len(marker["files"]) == 2 * (96 + 4) and not (demo_root / ".store").exists()
    assert sorted(p.name for p in (demo_root / "test").iterdir()) == ["Collide", "Roll"]

    def no_generation(*args, **kwargs):
        raise AssertionError("the built-in dataset was generated again")

    monkeypatch.setattr(physion.generation.generate_store, "generate", no_generation)
    assert len(ensure_physion_demo(demo_root, progress=False)) == 200
    with pytest.raises(ValueError, match="other settings"):
        ensure_physion_demo(demo_root, {"num_frames": 50}, progress=False)


def test_gen_train_then_gen_bench(demo_root, tmp_path, feature_net):
    config = str(CONFIGS / "builtin_demo.yaml")
    sets = overrides(demo_root, tmp_path / "run", feature_net)
    assert main(["gen-train", config, "--no-progress"] + with_sets(sets)) == 0
    trained = json.loads((tmp_path / "run" / "train" / "trained.json").read_text())
    assert Path(trained["checkpoint"]).is_file() and trained["split"] == "training"

    assert main(["gen-bench", config, "--no-progress", "--device", "cpu"] + with_sets(sets)) == 0
    out = tmp_path / "run" / "bench"
    results = json.loads((out / "results.json").read_text())
    assert results["checkpoint"] == trained["checkpoint"]
    assert results["data"]["path"] == str(demo_root) and results["data"]["split"] == "test"
    rows = {row["task"]: row for row in results["tasks"]}
    assert list(rows) == ["unconditional", "predict", "interpolation"]
    for row in rows.values():
        assert row["fd_label"] == "FVD" and (row["n_real"], row["n_fake"]) == (6, 6)
        assert (row["frames"], row["stride"], row["resolution"], row["split"]) == (8, 2, 16, "test")
    # frame 0 is given in both conditional tasks, and the stand-in network sees frame 0 only
    assert rows["predict"]["fd"] == pytest.approx(0.0, abs=1e-9)
    assert rows["interpolation"]["fd"] == pytest.approx(0.0, abs=1e-9)
    assert rows["unconditional"]["fd"] > 1e-3 and rows["unconditional"]["frame_metrics"] is None
    # PSNR / SSIM over generated frames only: 4 of 8 per clip for predict, 6 of 8 (given 0 and 4) for interpolation
    assert rows["predict"]["frame_metrics"]["frames_scored"] == 6 * 4
    assert rows["interpolation"]["frame_metrics"]["frames_scored"] == 6 * 6
    assert rows["predict"]["frame_metrics"]["per_position"]["psnr"][:4] == [None] * 4
    assert 0 < rows["predict"]["frame_metrics"]["psnr"] < 100 and -1 <= rows["predict"]["frame_metrics"]["ssim"] < 1
    table = (out / "results.md").read_text()
    assert "| task | FVD | PSNR (dB) | SSIM | MSE | n_real | n_fake | frames | stride | resolution | split |" in table
    assert table.count("| 6 | 6 | 8 | 2 | 16 | test |") == 3  # every row carries its data settings
    assert {"grid_unconditional.png", "grid_predict.png", "grid_interpolation.png"} <= {p.name for p in out.iterdir()}
    # the copy-nearest-given-frame baseline is scored on the same frames and shown beside the model
    assert rows["predict"]["baseline_metrics"]["frames_scored"] == 6 * 4
    assert rows["unconditional"]["baseline_metrics"] is None
    assert "| predict: copy nearest given frame | – |" in table
    # interpolation also gets the blend of its given neighbours (given 0 and 4: frames 1-3 are blends, 5-7 copies)
    assert rows["predict"]["blend_baseline_metrics"] is None
    copy, blend = rows["interpolation"]["baseline_metrics"], rows["interpolation"]["blend_baseline_metrics"]
    assert blend["frames_scored"] == copy["frames_scored"] == 6 * 6
    assert blend["per_position"]["mse"][5:] == copy["per_position"]["mse"][5:]
    assert blend["per_position"]["mse"][1:4] != copy["per_position"]["mse"][1:4]
    assert "| interpolation: blend of the given frames on either side | – |" in table
    # model minus each baseline on the same frames, the interval resampling the test videos the clips come from
    videos = len({Path(p).stem for p in (demo_root / "test").rglob("*.mp4")})
    for task, key in (("predict", "baseline_metrics"), ("interpolation", "blend_baseline_metrics")):
        diff = rows[task]["paired"][key]
        assert diff["videos"] == min(videos, 6)
        for metric in ("psnr", "ssim", "mse"):
            expected = rows[task]["frame_metrics"][metric] - rows[task][key][metric]
            assert diff[metric]["difference"] == pytest.approx(expected, abs=1e-9)
            assert diff[metric]["low"] <= diff[metric]["difference"] <= diff[metric]["high"]
    assert rows["unconditional"]["paired"] is None and set(rows["predict"]["paired"]) == {"baseline_metrics"}
    assert "Model minus baseline on the same frames" in table
    assert re.search(r"\| interpolation \| blend of the given frames on either side \| [+-]\d+\.\d\d \[", table)
    assert (out / "psnr_per_position.png").stat().st_size > 1000


def test_refuses_fvd_without_weights_before_generating(demo_root, tmp_path, caplog):
    missing = tmp_path / "weights" / "i3d_torchscript.pt"
    sets = overrides(demo_root, tmp_path / "run", missing) + [f"checkpoint={tmp_path / 'none.pt'}"]
    assert main(["gen-bench", str(CONFIGS / "builtin_demo.yaml"), "--no-progress"] + with_sets(sets)) == 2
    assert re.search(r"bench.features.path: .*i3d_torchscript.pt does not exist", caplog.text)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "name, key, path",
    [
        ("sky_timelapse", "data.eval_split", "data/sky_timelapse/sky_test"),
        ("ucf101", "data.path", "data/UCF-101"),
        ("taichi", "data.eval_split", "data/taichi/test"),
        ("cityscapes", "data.eval_split", "data/cityscapes/leftImg8bit_sequence/val"),
    ],
)
def test_dataset_configs_validate_then_fail_early_naming_the_data(name, key, path, tmp_path, monkeypatch, caplog):
    config = CONFIGS / f"{name}.yaml"
    cfg = load_config(config, GenBenchConfig)
    assert cfg.bench.features.label == "FVD" and cfg.model.num_frames == cfg.bench.features.frames == 16
    monkeypatch.chdir(tmp_path)  # relative data paths resolve here, where nothing exists
    # the CLI ends with the ConfigError's message and exit code 2
    assert main(["gen-bench", str(config), "--no-progress"]) == 2
    assert f"{key}: {path} does not exist" in caplog.text
    caplog.clear()
    assert main(["gen-train", str(config), "--no-progress"]) == 2
    assert re.search(r"data\.(train_split|path): data/", caplog.text)
    assert list(tmp_path.iterdir()) == []


def test_other_networks_are_never_called_fvd(tmp_path):
    cfg = FeatureNetConfig(network="my_net", path=tmp_path / "net.pt")
    assert cfg.label == "FD[my_net]"
    results = {
        "name": "x",
        "checkpoint": "c.pt",
        "seed": 0,
        "feature_net": {**cfg.model_dump(mode="json"), "label": cfg.label},
        "data": {
            "root": "d",
            "split": "test",
            "videos": 3,
            "clip_mode": "random",
            "clip_length": 16,
            "frame_stride": 1,
            "resolution": [64, 64],
        },
        "sampler": {"method": "ddim", "steps": 25, "eta": 0.0},
        "tasks": [
            {
                "task": "unconditional",
                "fd": 12.345,
                "n_real": 10,
                "n_fake": 10,
                "frames": 16,
                "stride": 1,
                "resolution": 64,
                "split": "test",
                "frame_metrics": None,
            }
        ],
    }
    table = markdown(results)
    assert "| task | FD[my_net] |" in table and "FVD" not in table
    assert "| unconditional | 12.35 | – | – | – | 10 | 10 | 16 | 1 | 64 | test |" in table


def test_feature_net_input_convention_and_errors(tmp_path, feature_net):
    clips = torch.rand(2, 4, 3, 8, 8) * 2 - 1
    x = to_network_input(clips, "0,255", None)
    assert x.shape == (2, 3, 4, 8, 8) and torch.allclose(x, (clips.permute(0, 2, 1, 3, 4) + 1) * 127.5)
    assert torch.allclose(to_network_input(clips, "0,1", None), (clips.permute(0, 2, 1, 3, 4) + 1) / 2)
    assert to_network_input(clips, "-1,1", 16).shape == (2, 3, 4, 16, 16)
    net = FeatureNet(
        FeatureNetConfig(
            path=feature_net, frames=4, resize=None, input_range="0,1", call_kwargs={"return_features": True}
        )
    )
    expected = F.adaptive_avg_pool2d((clips[:, 0] + 1) / 2, 2).flatten(1).double().numpy()
    assert np.allclose(net.features(clips), expected)
    wrong = FeatureNet(FeatureNetConfig(path=feature_net, frames=4, resize=None))  # no return_features
    with pytest.raises(ValueError, match=r"i3d_standin.pt: the network returned \(\)"):
        wrong.features(clips)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not torchscript")
    with pytest.raises(ValueError, match="junk.pt: not a loadable TorchScript file"):
        FeatureNet(FeatureNetConfig(path=junk))
