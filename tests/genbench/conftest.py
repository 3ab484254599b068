"""Fixtures of the generation-benchmark tests: one CPU thread (the machine is shared), a tiny VDT checkpoint."""
import pytest
import torch

from genbench_helpers import tiny_vdt
from vdt.checkpoint import save_model


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def tiny_checkpoint(tmp_path):
    return save_model(tmp_path / "tiny.pt", tiny_vdt())
