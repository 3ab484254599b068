"""The GPU check is ready to run on a GPU machine and refuses loudly on one without."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the check would run for minutes")
def test_gpu_check_fails_loudly_without_a_gpu():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True, text=True)
    assert out.returncode == 1
    assert "no GPU is visible" in out.stderr and "nothing was measured" in out.stderr
