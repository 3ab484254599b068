"""The GPU check is ready to run on a GPU machine and refuses loudly on one without."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks.gpu_check import RELEASE_CONFIG, stage_config
from pipelines.config.loading import load_config
from pipelines.config.physion_run import PhysionRunConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the check would run for minutes")
def test_gpu_check_fails_loudly_without_a_gpu():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True, text=True)
    assert out.returncode == 1
    assert "no GPU is visible" in out.stderr and "nothing was measured" in out.stderr


def test_gpu_check_stages_use_the_released_recipe():
    check, release = stage_config(300), load_config(RELEASE_CONFIG, PhysionRunConfig)
    assert check.pretrain.steps == 300 and check.model.resolution == 64 and check.data.scenarios == ["Collide"]
    for key in ("prediction", "n_given_range", "mask_weights", "ema_decay"):
        assert getattr(check.pretrain, key) == getattr(release.pretrain, key)
    assert check.rollout.given_frames(check.model) == 3
