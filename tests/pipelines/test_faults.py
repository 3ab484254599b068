"""Faults and bad input through the real CLI: each case ends in one line ``vdt-physion: <file>: <problem>`` with
exit code 2 (bad input) or 1 (failure), and a run folder is held by one process at a time (issue 13)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from physion.storage.store import write_trial
from physion.trial import Trial
from pipelines.cli import main
from vdt.checkpoint import save_model
from vdt.model import vdt_from_name

CLI = [sys.executable, "-m", "pipelines.cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
T, SIZE = 60, 32


def make_store(root: Path, scenario: str = "Collide") -> Path:
    """Two trials per split of one scenario, 32 px, written as the generator writes them."""
    rng = np.random.default_rng(0)
    for split in ("training", "readout", "test"):
        for i in range(2):
            contacts = np.zeros(T, dtype=bool)
            contacts[50:] = i == 0
            trial = Trial(
                name=f"{scenario}_{split}_{i:05d}",
                scenario=scenario,
                split=split,
                seed=i,
                frames=rng.integers(0, 256, (T, SIZE, SIZE, 3), dtype=np.uint8),
                label=i == 0,
                contacts=contacts,
                first_contact_frame=50 if i == 0 else None,
                object_ids=[1, 2],
                object_names=["agent", "patient"],
                agent_index=0,
                patient_index=1,
            )
            write_trial(root / split / scenario / f"{trial.name}.hdf5", trial)
    return root


def write_config(path: Path, store: Path | None = None, **sections) -> Path:
    raw = {
        "name": "faults",
        "protocol": "all",
        "data": (
            {"source": "store", "store": str(store), "scenarios": ["Collide"]}
            if store
            else {
                "source": "generate",
                "scenarios": ["Collide"],
                "counts": {"training": 1, "readout": 1, "test": 1},
                "num_frames": 60,
            }
        ),
        "model": {"size": "VDT-Ti/4", "resolution": 32, "num_frames": 4, "n_given": 2, "frame_offset": 1},
        "pretrain": {"steps": 2, "batch_size": 2},
    }
    for key, value in sections.items():
        raw.setdefault(key, {}).update(value)
    path.write_text(yaml.safe_dump(raw))
    return path


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=timeout)


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.strip().splitlines()[-1]


def damage(path: Path, offset: int = 20000, size: int = 2000) -> None:
    """Random bytes written into the middle of a file, as ``dd seek=... conv=notrunc`` does."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes())


@pytest.fixture
def store(tmp_path) -> Path:
    return make_store(tmp_path / "store")


# ------------------------------------------------------------------------------------------------ the run lock


def test_a_second_run_on_a_held_folder_is_refused_and_a_dead_holders_lock_is_taken_over(store, tmp_path):
    config, out = write_config(tmp_path / "c.yaml", store), tmp_path / "R"
    holder = subprocess.Popen(  # a real process holding the run folder as `run` does, until it is killed
        [
            sys.executable,
            "-c",
            f"""
import sys, time
from pipelines.commands._physion_run import context_from_args
from pipelines.stages.runner import run_folder_lock
import argparse
args = argparse.Namespace(config={str(config)!r}, out=__import__('pathlib').Path({str(out)!r}), overrides=[],
                          no_progress=True)
with run_folder_lock(context_from_args(args)):
    print('held', flush=True)
    time.sleep(600)
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.time()
        refused = cli("run", config, "--out", out, "--until", "generate", "--no-progress")
        assert refused.returncode == 1, refused.stderr
        pattern = (
            rf"vdt-physion: {re.escape(str(out))}: another vdt-physion process is working in this run "
            rf"folder \(pid {holder.pid} on {re.escape(socket.gethostname())}, since \d{{4}}-\d\d-\d\dT[^ ]+ "
            r"\(.*\)\) \(wait for it to finish \(a rerun then resumes\), or use another --out\)"
        )
        assert re.fullmatch(pattern, last_line(refused)), last_line(refused)
        assert not (out / "generate").exists() and time.time() - started < 60  # refused at once, nothing done
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    taken = cli("run", config, "--out", out, "--until", "generate", "--no-progress")
    assert taken.returncode == 0, taken.stderr
    assert f"taking over the lock of a process that is gone (pid {holder.pid}" in taken.stderr
    assert (out / "generate" / "manifest.json").is_file()
    assert (out / ".run.lock").read_text() == ""  # released: the next run finds no holder's name


def test_two_runs_started_together_one_works_the_other_is_refused(store, tmp_path):
    config, out = write_config(tmp_path / "c.yaml", store), tmp_path / "R"
    runs = [
        subprocess.Popen(
            [*CLI, "run", str(config), "--out", str(out), "--until", "generate", "--no-progress"],
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in runs]
    codes = sorted(code for code, _ in results)
    if codes == [0, 0]:  # the first finished before the second started: then it found the stage done
        assert any("done (manifest" in err for _, err in results)
    else:
        assert codes == [0, 1], results
        refused = next(err for code, err in results if code == 1)
        # the holder is named by pid, or, when the refused one looked between the holder's flock and its write,
        # as one that has not yet written its name: both are the right refusal
        assert "another vdt-physion process is working in this run folder (" in refused
        assert "(pid " in refused or "has not yet written its name" in refused


# ------------------------------------------------------------------------------------------------ one-line errors


def test_corrupt_trial_in_a_store_is_named_and_the_stage_never_finishes(store, tmp_path):
    bad = store / "training" / "Collide" / "Collide_training_00001.hdf5"
    damage(bad)
    config, out = write_config(tmp_path / "c.yaml", store), tmp_path / "R"
    result = cli("run", config, "--out", out, "--until", "generate", "--no-progress")
    assert result.returncode == 2, result.stderr
    # The bytes land in HDF5 metadata (a checksum fails) or in a frame's PNG (it does not decode): named either way.
    assert re.fullmatch(
        rf"vdt-physion: {re.escape(str(bad))}: (damaged HDF5 content at frames/\d{{4}}/[\w/]+: "
        r"Unable to .*|frames/\d{4}/images/_img is not a decodable image: .*)",
        last_line(result),
    ), last_line(result)
    assert "Traceback" not in result.stderr
    assert not (out / "generate" / "manifest.json").exists()
    debug = cli("--debug", "run", config, "--out", out, "--until", "generate", "--no-progress")
    assert debug.returncode == 2 and "Traceback" in debug.stderr and last_line(debug) == last_line(result)


def test_stage_conflict(store, tmp_path):
    out = tmp_path / "R"
    assert (
        cli(
            "run", write_config(tmp_path / "a.yaml", store), "--out", out, "--until", "generate", "--no-progress"
        ).returncode
        == 0
    )
    result = cli(
        "run",
        write_config(tmp_path / "b.yaml", store, data={"seed": 3}),
        "--out",
        out,
        "--until",
        "generate",
        "--no-progress",
    )
    assert result.returncode == 2, result.stderr
    assert re.fullmatch(
        rf"vdt-physion: {re.escape(str(out / 'generate'))}: holds work from a different config "
        r"\(key \w+, now \w+\) \(use another --out, or `--from generate` to discard this stage and "
        r"the ones after it\)",
        last_line(result),
    ), last_line(result)


def test_unknown_scenario_and_plugin_specs_fail_check_and_run(tmp_path, caplog):
    config = write_config(tmp_path / "c.yaml")
    for spec, problem in [
        ("Nope", "unknown scenario 'Nope'; built-ins are Dominoes"),
        (
            "json:Seesaw",
            "scenario spec 'json:Seesaw': .*json.* defines no 'Seesaw' "
            r"\(checked without importing it\)",
        ),
        ("no_such_module_13:Seesaw", "scenario spec 'no_such_module_13:Seesaw': cannot import"),
    ]:
        for extra in (["--check"], ["--out", str(tmp_path / "R"), "--until", "generate"]):
            caplog.clear()
            assert main(["run", str(config), "--set", f"data.scenarios=[{spec}]", *extra]) == 2
            line = "vdt-physion: " + caplog.records[-1].getMessage()  # the CLI's formatter adds the prefix
            assert re.match(rf"vdt-physion: {re.escape(str(config))}: data.scenarios: {problem}", line), line
    assert not (tmp_path / "R" / "generate").exists()


def test_out_that_is_a_file_or_read_only(store, tmp_path):
    config = write_config(tmp_path / "c.yaml", store)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = cli("run", config, "--out", a_file, "--no-progress")
    assert result.returncode == 2
    assert last_line(result) == f"vdt-physion: {a_file}: the run folder (--out) is a file, not a folder"
    if os.geteuid() == 0:  # root writes anywhere a mode forbids: use a filesystem that refuses everyone
        out, problem = Path("/sys/vdt-physion-faults/R"), "Operation not permitted"
    else:
        locked = tmp_path / "ro"
        locked.mkdir(mode=0o555)
        out, problem = locked / "R", "Permission denied"
    result = cli("run", config, "--out", out, "--no-progress")
    assert result.returncode == 1, result.stderr
    assert re.fullmatch(
        rf"vdt-physion: {re.escape(str(out.parent if os.geteuid() == 0 else out))}: {problem}", last_line(result)
    ), last_line(result)


def _checkpoint(path: Path, **config) -> Path:
    return save_model(
        path, vdt_from_name("VDT-Ti/4", input_size=8, in_channels=3, num_frames=4, num_classes=1, **config)
    )


def test_checkpoint_mismatch_in_check_and_sample(store, tmp_path):
    other = _checkpoint(tmp_path / "other.pt", depth=2, hidden_size=96)
    config = write_config(tmp_path / "c.yaml", store, model={"init_checkpoint": str(other)})
    result = cli("run", config, "--check")
    assert result.returncode == 2
    assert re.fullmatch(
        rf"vdt-physion: {re.escape(str(config))}: model.init_checkpoint: {re.escape(str(other))}: "
        r"checkpoint does not fit this VDT: .*shape mismatch .*",
        last_line(result),
    ), last_line(result)

    text = tmp_path / "latent.pt"
    text.write_text("not weights\n")
    result = cli(
        "run", write_config(tmp_path / "l.yaml", store, latent={"kind": "conv_vae", "path": str(text)}), "--check"
    )
    assert result.returncode == 2
    assert re.fullmatch(
        rf"vdt-physion: {re.escape(str(tmp_path / 'l.yaml'))}: latent.path: {re.escape(str(text))} "
        r"cannot be loaded as conv_vae weights \(.*\)",
        last_line(result),
    ), last_line(result)

    tensor = tmp_path / "tensor.pt"
    torch.save(torch.randn(3, 4), tensor)
    result = cli("sample", tensor, "--out", tmp_path / "s", "--num-samples", "1", "--steps", "2")
    assert result.returncode == 2
    assert last_line(result) == (
        f"vdt-physion: {tensor}: holds a Tensor, not a checkpoint (a dict of weights, "
        "or one with 'ema'/'model' weights)"
    )

    # A checkpoint whose recorded config is of another size than its weights.
    bad = torch.load(_checkpoint(tmp_path / "resized.pt"), weights_only=True)
    bad["config"]["hidden_size"] = 96
    torch.save(bad, tmp_path / "resized.pt")
    result = cli("sample", tmp_path / "resized.pt", "--out", tmp_path / "s", "--num-samples", "1", "--steps", "2")
    assert result.returncode == 2
    assert re.fullmatch(
        rf"vdt-physion: {re.escape(str(tmp_path / 'resized.pt'))}: checkpoint does not fit this "
        r"VDT: shape mismatch \(\d+\): .*",
        last_line(result),
    ), last_line(result)


# ------------------------------------------------------------------------------------------------ artifacts


def test_saved_models_keep_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = _checkpoint(tmp_path / "m.pt")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_loss_log_resumes_its_clock_and_purges_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from pipelines.training.loss_log import LossLog, truncate_csv

    first = LossLog(tmp_path, tensorboard=True)
    for step in (1, 2, 3, 4):
        first.add(1.0 / step, {})
        first.row(step, 0.1, 10.0 * step)
    first.close()
    truncate_csv(tmp_path / "loss.csv", 2)  # the checkpoint was at step 2: steps 3 and 4 are redone
    second = LossLog(tmp_path, tensorboard=True, resume_step=2)
    for step in (3, 4):
        second.add(0.5, {})
        second.row(step, 0.1, 1.0 * (step - 2))
    second.close()
    rows = (tmp_path / "loss.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["1", "2", "3", "4"]
    assert [float(r.split(",")[3]) for r in rows] == [10.0, 20.0, 21.0, 22.0]
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    total = events.Scalars("loss/total")
    assert [e.step for e in total] == [1, 2, 3, 4] and [e.value for e in total][2:] == [0.5, 0.5]
