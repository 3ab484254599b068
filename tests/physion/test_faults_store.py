"""Damage and faults in stores: named with the file and the key, found before work starts (issue 13)."""

from __future__ import annotations

import errno
import logging
import os
import re
from pathlib import Path

import numpy as np
import pytest
from test_real_layouts import train_tree  # noqa: F401 - a fixture
from test_store import make_trial

import physion.generation.space
import physion.generation.worker
from physion.errors import CorruptTrialError, FolderLockedError
from physion.generation.resume import store_lock
from physion.scenarios import ScenarioLoadError, load_scenario
from physion.storage.store import read_trial, write_trial
from pipelines.cli import main as cli_main

DAMAGED = r"(damaged HDF5 content at [\w/]+: .*|frames/\d{4}/images/_img is not a decodable image: .*)"


def damaged_store(root: Path) -> Path:
    bad = write_trial(root / "readout" / "Collide" / "collide_0001.hdf5", make_trial("collide_0001"))
    write_trial(root / "readout" / "Collide" / "collide_0000.hdf5", make_trial())
    with open(bad, "r+b") as f:  # random bytes into the middle, as `dd seek=... conv=notrunc` does
        f.seek(20000)
        f.write(np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    return bad


def last(caplog) -> str:
    return "vdt-physion: " + caplog.records[-1].getMessage()


def test_readers_name_the_file_and_the_key(tmp_path):
    bad = damaged_store(tmp_path / "s")
    with pytest.raises(CorruptTrialError) as caught:
        read_trial(bad)
    assert re.fullmatch(rf"{re.escape(str(bad))}: {DAMAGED}", str(caught.value)), caught.value


def test_inspect_deep_reads_every_dataset(tmp_path, caplog, capsys):
    bad = damaged_store(tmp_path / "s")
    assert cli_main(["inspect", str(tmp_path / "s")]) == 0  # the headers alone are fine
    with caplog.at_level(logging.ERROR):
        assert cli_main(["inspect", "--deep", str(tmp_path / "s")]) == 2
    assert re.fullmatch(rf"vdt-physion: {re.escape(str(bad))}: {DAMAGED}", last(caplog)), last(caplog)


def generate_training(out: Path, trials: int, resolution: int) -> list[str]:
    """``vdt-physion generate`` of ``trials`` Collide training trials of 60 frames, one worker."""
    counts = ["--training", str(trials), "--readout", "0", "--test", "0"]
    size = ["--resolution", str(resolution), "--frames", "60"]
    return ["generate", "--out", str(out), "--scenario", "Collide", *counts, *size, "--workers", "1", "--no-progress"]


def test_generate_refuses_a_plan_the_disk_cannot_hold(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(physion.generation.space, "free_bytes", lambda root: 5_000_000)  # a 5 MB disk
    args = generate_training(tmp_path / "g", 40, resolution=64)
    with caplog.at_level(logging.ERROR):
        assert cli_main(args) == 1
    assert re.fullmatch(
        rf"vdt-physion: {re.escape(str(tmp_path / 'g'))}: needs about [\d.]+ MB for 40 more "
        r"trial\(s\) \([\d.]+ kB each\), the disk has 4.8 MB free \(free some space or generate "
        r"elsewhere; trials already written are kept and a rerun resumes\)",
        last(caplog),
    )
    assert not list((tmp_path / "g").glob("*/*/*.hdf5"))


def test_a_full_disk_during_a_write_is_one_line(tmp_path, caplog, monkeypatch):
    def full(path, trial):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(physion.generation.worker, "write_trial", full)
    args = generate_training(tmp_path / "g", 1, resolution=32)
    with caplog.at_level(logging.ERROR):
        assert cli_main(args) == 1
    assert last(caplog) == (
        f"vdt-physion: {tmp_path / 'g' / 'training' / 'Collide'}: disk full while writing "
        "Collide_training_00000.hdf5 (free some space; trials already written are kept and a "
        "rerun resumes)"
    )


def test_store_lock_names_its_holder(tmp_path):
    with store_lock(tmp_path):
        with pytest.raises(FolderLockedError) as caught:
            with store_lock(tmp_path):
                pass
    assert re.fullmatch(
        rf"{re.escape(str(tmp_path))}: another generate or merge run holds this store's lock "
        rf"\(pid {os.getpid()} on .+, since .+\)",
        str(caught.value),
    ), caught.value
    assert caught.value.exit_code == 1


def test_import_physion_into_a_read_only_folder(train_tree, tmp_path, caplog):  # noqa: F811
    if os.geteuid() == 0:  # root writes anywhere a mode forbids: use a filesystem that refuses everyone
        out, where, problem = (
            Path("/sys/vdt-physion-faults/store"),
            "/sys/vdt-physion-faults",
            "Operation not permitted",
        )
    else:
        (tmp_path / "ro").mkdir(mode=0o555)
        out = tmp_path / "ro" / "store"
        where, problem = str(out), "Permission denied"
    with caplog.at_level(logging.ERROR):
        assert cli_main(["import-physion", str(train_tree), "--out", str(out), "--no-progress"]) == 1
    assert last(caplog) == f"vdt-physion: {where}: {problem}"


def test_a_plugin_without_the_class_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    plugin = tmp_path / "plugin.py"
    plugin.write_text(f"open({str(marker)!r}, 'w').close()\nclass Other:\n    pass\n")
    with pytest.raises(ScenarioLoadError, match=r"defines no 'Seesaw' \(checked without importing it\)"):
        load_scenario(f"{plugin}:Seesaw")
    assert not marker.exists()
    with pytest.raises(ScenarioLoadError, match="is not a subclass"):
        load_scenario(f"{plugin}:Other")  # a name it binds: imported, then checked
    assert marker.exists()
