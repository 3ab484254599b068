"""Harness feature files: round trip, the harness's own layout, both readouts, bad files; configs/physion_v15.yaml."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from physion.errors import PhysionDataError
from pipelines.config.loading import load_config
from pipelines.config.physion_run import PhysionRunConfig, ReadoutConfig, V15Config
from pipelines.physion_v15.interchange import (
    HarnessSplit,
    group_rows,
    harness_files,
    read_harness_folder,
    read_harness_split,
    write_harness_split,
)
from pipelines.physion_v15.readout import all_scenario_readout, per_scenario_readout
from pipelines.physion_v15.run import read_out

ROOT = Path(__file__).resolve().parents[2]


def _split(
    seed: int, n_per: int = 30, scenarios=("Collide", "Dominoes", "Roll"), t: int = 3, d: int = 4
) -> HarnessSplit:
    rng = np.random.default_rng(seed)
    names, scen, labels, feats = [], [], [], []
    for k, s in enumerate(scenarios):
        y = np.tile([0, 1], n_per // 2)
        x = rng.normal(size=(n_per, t, d))
        x[:, :, k % d] += 1.5 * (2 * y[:, None] - 1)  # each scenario's label lives in its own feature
        names += [f"{s.lower()}_{i:04d}" for i in range(n_per)]
        scen += [s] * n_per
        labels.append(y)
        feats.append(x)
    return HarnessSplit(
        np.concatenate(feats).astype(np.float32),
        np.concatenate(labels),
        names,
        np.arange(len(names)) % 120,
        group_rows(scen),
    )


def test_round_trip(tmp_path):
    train, test = _split(0), _split(1)
    for phase, s in (("train", train), ("test", test)):
        write_harness_split(tmp_path / "ocp", phase, s)
    back = read_harness_folder(tmp_path / "ocp")
    for phase, s in (("train", train), ("test", test)):
        r = back[phase]
        assert np.array_equal(r.features, s.features) and r.features.dtype == np.float32
        assert r.labels.tolist() == s.labels.tolist() and r.filenames == s.filenames
        assert r.frame_labels.tolist() == s.frame_labels.tolist()
        assert (
            r.scenarios
            == s.scenarios
            == {
                "collision": list(range(30)),
                "dominoes": list(range(30, 60)),
                "roll": list(range(60, 90)),
            }
        )
    # on disk as the harness writes them
    paths = harness_files(tmp_path / "ocp", "train")
    with h5py.File(paths["features"], "r") as f:
        assert set(f) == {"features", "label", "filenames", "frame_labels"}
        assert f["label"].dtype == np.float64 and f["features"].shape == (90, 3, 4)
        assert f["filenames"][0].decode() == "collide_0000"
    assert json.loads(paths["scenario_map"].read_text())["roll_0005"] == 65
    assert json.loads(paths["json"].read_text())["dominoes"][0] == 30


def _harness_readout(train: HarnessSplit, test: HarnessSplit, c_grid) -> dict:
    """physion_evaluator's train_readout recipe, written out here independently of our module."""
    x = train.features.reshape(len(train.features), -1).astype(np.float16)
    search = GridSearchCV(
        Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=20000))]),
        {"clf__C": np.array(c_grid)},
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=42),
    )
    search.fit(x, train.labels.astype(float))
    xt = test.features.reshape(len(test.features), -1).astype(np.float16)
    per = {k: search.score(xt[sorted(v)], test.labels[sorted(v)].astype(float)) for k, v in test.scenarios.items()}
    return {"per": per, "mean": float(np.mean(list(per.values()))), "C": search.best_params_["clf__C"]}


def test_all_scenario_readout_matches_the_harness_recipe():
    train, test = _split(2), _split(3)
    cfg = V15Config()
    ours = all_scenario_readout(train, test, cfg, n_boot=100)
    ref = _harness_readout(train, test, cfg.c_grid)
    assert ours["best_c"] == pytest.approx(ref["C"])
    assert ours["mean_scenario_accuracy"] == pytest.approx(ref["mean"], abs=1e-9)
    for key, acc in ref["per"].items():
        assert ours["scenarios"][key]["accuracy"] == pytest.approx(acc, abs=1e-9)
    assert ours["mean_scenario_accuracy"] > 0.8  # the signal is there to find
    per = per_scenario_readout(train, test, ReadoutConfig(bootstrap=100, pca_dims=[]))
    assert set(per["scenarios"]) == {"collision", "dominoes", "roll"}
    means = [v["accuracy"] for v in per["scenarios"].values()]
    assert per["mean_scenario_accuracy"] == pytest.approx(np.mean(means))
    assert min(means) > 0.8


def test_reads_a_folder_the_harness_wrote(tmp_path):
    """The harness's own files: mp4 paths as filenames, float labels, an index map only for matched names."""
    folder = tmp_path / "features" / "ocp"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(4)
    for phase in ("train", "test"):
        names = [f"/data/physion_mp4s/{phase}/pilot_it2_collision_box_{i:04d}.mp4" for i in range(20)]
        names += [f"/data/physion_mp4s/{phase}/pilot_towers_nb4_{i:04d}.mp4" for i in range(20)]
        y = np.tile([0.0, 1.0], 20)
        x = rng.normal(size=(40, 4, 6)) + y[:, None, None]
        with h5py.File(folder / f"{phase}_features.hdf5", "w") as f:
            f.create_dataset("features", data=x.astype(np.float32))
            f.create_dataset("label", data=y)
            f.create_dataset("filenames", data=names, dtype=h5py.special_dtype(vlen=str))
            f.create_dataset("frame_labels", data=np.full(40, 75))
        scen = {k: [] for k in ("collision", "drop", "towers", "link", "roll", "contain", "dominoes")}
        scen["collision"], scen["towers"] = list(range(20)), list(range(20, 40))
        (folder / f"{phase}_json.json").write_text(json.dumps(scen))
        (folder / f"{phase}_scenario_map.json").write_text(json.dumps({n: i for i, n in enumerate(names)}))
    results = read_out(folder, PhysionRunConfig(readout=ReadoutConfig(bootstrap=100, pca_dims=[])))
    assert set(results["all_scenarios"]["scenarios"]) == {"collision", "towers"}  # empty scenario lists skipped
    assert set(results["per_scenario"]["scenarios"]) == {"collision", "towers"}
    assert results["all_scenarios"]["mean_scenario_accuracy"] > 0.8
    assert json.loads((folder / "vdt_physion_readout.json").read_text())["feature_width"] == 24


def test_bad_files_name_the_file(tmp_path):
    write_harness_split(tmp_path, "train", _split(5))
    path = harness_files(tmp_path, "train")["features"]
    with pytest.raises(PhysionDataError, match="no test features"):
        read_harness_folder(tmp_path)
    with h5py.File(path, "a") as f:
        del f["frame_labels"]
    with pytest.raises(PhysionDataError, match=r"train_features.hdf5: lacks the dataset\(s\) \['frame_labels'\]"):
        read_harness_split(tmp_path, "train")
    write_harness_split(tmp_path, "train", _split(5))
    harness_files(tmp_path, "train")["json"].write_text(json.dumps({"collision": [0, 500]}))
    with pytest.raises(PhysionDataError, match="outside the 90 rows"):
        read_harness_split(tmp_path, "train")
    harness_files(tmp_path, "train")["json"].write_text("{not json")
    with pytest.raises(PhysionDataError, match="train_json.json: not valid JSON"):
        read_harness_split(tmp_path, "train")
    path.write_bytes(b"not hdf5")
    with pytest.raises(PhysionDataError, match="not a readable HDF5 file"):
        read_harness_split(tmp_path, "train")
    bad = _split(6)
    bad.features[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_harness_split(tmp_path / "nan", "train", bad)
    assert not (tmp_path / "nan" / "train_features.hdf5").exists()


def test_physion_v15_config_validates():
    c = load_config(ROOT / "configs" / "physion_v15.yaml", PhysionRunConfig)
    assert c.v15.c_grid == [1e-6, 1e-5, 0.01, 0.1, 1, 5, 10, 20]
    assert (c.v15.cv_folds, c.v15.max_iter, c.v15.random_state, c.v15.tasks) == (5, 20000, 42, ["ocp", "ocd"])
    assert "Drape" not in c.data.scenarios and len(c.data.scenarios) == 7
    assert c.model.frame_offset * 10 == 30  # the harness frame gap the adapter reports


def test_v15_config_errors(tmp_path):
    from pipelines.config.loading import ConfigError

    cfg = tmp_path / "bad.yaml"
    cfg.write_text("v15: {c_grid: [0.1, -1], tasks: [ocp, ocx]}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg, PhysionRunConfig)
    assert "v15.c_grid" in str(err.value) and "v15.tasks" in str(err.value) and str(cfg) in str(err.value)
    cfg.write_text("v15: {frame_gap: 470}\n")
    with pytest.raises(ConfigError, match="no OCD frame"):
        load_config(cfg, PhysionRunConfig)


def test_files_we_write_give_the_harness_readout_our_numbers(tmp_path):
    """Our files read the way physion_train_readout reads them (h5py datasets, float16 features, the JSON
    indices) give the same per-scenario accuracies as v15-readout's all-scenario readout on them."""
    folder = tmp_path / "ocp"
    write_harness_split(folder, "train", _split(7))
    write_harness_split(folder, "test", _split(8))
    loaded = {}
    for phase in ("train", "test"):
        with h5py.File(folder / f"{phase}_features.hdf5", "r") as f:
            x, y = f["features"][...].astype(np.float16), f["label"][...]
        scen = json.loads((folder / f"{phase}_json.json").read_text())
        loaded[phase] = HarnessSplit(x.astype(np.float32), y.astype(np.int64), [""] * len(y), np.zeros(len(y)), scen)
    ref = _harness_readout(loaded["train"], loaded["test"], V15Config().c_grid)
    ours = read_out(folder, PhysionRunConfig(readout=ReadoutConfig(bootstrap=100, pca_dims=[])))["all_scenarios"]
    assert ours["mean_scenario_accuracy"] == pytest.approx(ref["mean"], abs=1e-9)
    assert {k: v["accuracy"] for k, v in ours["scenarios"].items()} == pytest.approx(ref["per"], abs=1e-9)
